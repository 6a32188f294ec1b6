// cross_entropy from logits and class ids, fused with log_softmax (cpu/cross_entropy.h). Forward saves
// the logits (an alias when they are contiguous), the targets and one log-sum-exp per sample; backward
// writes softmax - onehot (smoothed), scaled, in one pass. Semantics follow torch.nn.functional:
// ignore_index samples contribute nothing (to the smoothing term either), 'mean' divides by the number of
// samples not ignored (NaN when all are), label smoothing mixes in the uniform distribution.
#include <limits>

#include "cpu/cross_entropy.h"
#include "ops/common.h"

namespace pyllm::ops {

namespace {

constexpr const char* kOp = "cross_entropy";

// The target shape that logits of this shape need: logits without the class dim (dim 1, or dim 0 of 1-D).
Shape expected_target_shape(const Shape& logits) {
  Shape t = logits;
  t.erase(t.begin() + (logits.size() == 1 ? 0 : 1));
  return t;
}

// IndexError naming the first id that is neither a class nor ignore_index; returns how many are classes.
template <typename Idx>
int64_t check_targets(const Idx* ids, int64_t n, int64_t C, int64_t ignore_index) {
  int64_t counted = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = ids[i];
    if (t == ignore_index) continue;
    PYLLM_CHECK(t >= 0 && t < C, IndexError,
                kOp << ": target " << t << " is out of range for " << C << " classes (valid ids are 0.." << C - 1
                    << ", or ignore_index " << ignore_index << ")");
    ++counted;
  }
  return counted;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index, double label_smoothing,
                     Reduction reduction) {
  check_float(logits, kOp, "input");
  check_defined(target, kOp, "target");
  check_same_device(logits, target, kOp);
  PYLLM_CHECK(is_integral(target.dtype()), TypeError,
              kOp << ": target must hold int32 or int64 class ids, got " << dtype_name(target.dtype()));
  PYLLM_CHECK(logits.dim() >= 1, ValueError, kOp << ": input must have a class dim, got a 0-d tensor");
  PYLLM_CHECK(target.shape() == expected_target_shape(logits.shape()), ValueError,
              kOp << ": input " << shape_str(logits.shape()) << " needs a target of shape "
                  << shape_str(expected_target_shape(logits.shape())) << ", got " << shape_str(target.shape()));
  PYLLM_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ValueError,
              kOp << ": label_smoothing must be between 0.0 and 1.0, got " << label_smoothing);
  if (logits.device().type != DeviceType::CPU) unsupported_device(kOp, logits.device());

  const bool one_d = logits.dim() == 1;
  const int64_t O = one_d ? 1 : logits.shape()[0], C = logits.shape()[one_d ? 0 : 1];
  const int64_t I = one_d ? 1 : numel_of(Shape(logits.shape().begin() + 2, logits.shape().end()));
  Tensor ids = contiguous(target.detach());
  const int64_t count = ids.dtype() == DType::Int32 ? check_targets(ids.data<int32_t>(), ids.numel(), C, ignore_index)
                                                    : check_targets(ids.data<int64_t>(), ids.numel(), C, ignore_index);
  Tensor x = contiguous(logits.detach());
  Tensor losses = empty(target.shape(), logits.dtype(), logits.device());
  Tensor lse = empty(target.shape(), DType::Float64, logits.device());  // double: see cpu/rows.h Split
  if (ids.numel() > 0) cpu::cross_entropy(x, ids, losses, lse, O, C, I, ignore_index, label_smoothing);

  Tensor out = losses;
  if (reduction != Reduction::None) {
    out = sum(losses);  // accumulates float32 in double
    if (reduction == Reduction::Mean)
      mul_(out, count > 0 ? 1.0 / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN());
  }
  if (autograd::needs_grad({logits})) {
    SavedTensor sx(x), sids(ids), slse(lse);
    autograd::record("CrossEntropyBackward", {logits}, {out}, [sx, sids, slse, O, C, I, ignore_index, label_smoothing,
                                                                reduction, count](std::vector<Tensor>& g) {
      Tensor xs = sx.unpack(kOp);
      Tensor gx = empty(xs.shape(), xs.dtype(), xs.device());
      Tensor per_sample;  // reduction 'none': each sample's own gradient
      double scale = 0.0;
      if (reduction == Reduction::None) {
        per_sample = contiguous(g[0]);
      } else {
        scale = to_dtype(g[0], DType::Float64).data<double>()[0];
        // All ignored: every sample's gradient is 0 anyway (torch gives zeros, not NaN).
        if (reduction == Reduction::Mean) scale = count > 0 ? scale / static_cast<double>(count) : 0.0;
      }
      if (xs.numel() > 0)
        cpu::cross_entropy_backward(xs, sids.unpack(kOp), slse.unpack(kOp), per_sample, scale, gx, O, C, I,
                                    ignore_index, label_smoothing);
      return std::vector<Tensor>{gx};
    });
  }
  return out;
}

}  // namespace pyllm::ops
