// softmax and log_softmax over any dim, with fused backward kernels. Both save only their output: the
// backward of either is a function of the output and the incoming gradient.
#include "cpu/softmax.h"
#include "ops/common.h"
#include "ops/dim_split.h"

namespace pyllm::ops {

namespace {

Tensor softmax_op(const Tensor& x, int64_t dim, bool log, const char* name, const char* node) {
  check_float(x, name);
  const DimSplit s = split_at(x.shape(), wrap_dim(dim, x.dim(), name));
  if (x.device().type != DeviceType::CPU) unsupported_device(name, x.device());
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  if (x.numel() > 0) cpu::softmax(contiguous(x.detach()), out, s.outer, s.size, s.inner, log);
  if (autograd::needs_grad({x})) {
    SavedTensor saved(out);
    autograd::record(node, {x}, {out}, [saved, s, log, name](std::vector<Tensor>& g) {
      Tensor y = saved.unpack(name);
      Tensor gx = empty(y.shape(), y.dtype(), y.device());
      if (y.numel() > 0) cpu::softmax_backward(y, contiguous(g[0]), gx, s.outer, s.size, s.inner, log);
      return std::vector<Tensor>{gx};
    });
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op(x, dim, false, "softmax", "SoftmaxBackward"); }

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_op(x, dim, true, "log_softmax", "LogSoftmaxBackward");
}

}  // namespace pyllm::ops
