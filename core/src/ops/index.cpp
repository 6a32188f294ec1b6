// index_select: slices of x along one dim picked by a 1-D (or 0-d) index; backward scatter-adds into
// that dim with the machinery embedding uses (cpu/index.h).
#include "cpu/index.h"
#include "ops/common.h"
#include "ops/dim_split.h"

namespace pyllm::ops {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_defined(x, "index_select");
  check_defined(index, "index_select", "index");
  check_same_device(x, index, "index_select");
  PYLLM_CHECK(is_integral(index.dtype()), TypeError,
              "index_select: index must be int32 or int64, got " << dtype_name(index.dtype()));
  PYLLM_CHECK(index.dim() <= 1, IndexError,
              "index_select: index must be 1-D (or 0-d), got shape " << shape_str(index.shape()));
  const int64_t d = wrap_dim(dim, x.dim(), "index_select");
  const DimSplit s = split_at(x.shape(), d);
  const int64_t K = index.numel();
  PYLLM_CHECK(x.dim() > 0 || K == 1, IndexError,
              "index_select: indexing a 0-d tensor takes exactly one index, got " << K);
  PYLLM_CHECK(!autograd::needs_grad({x}) || is_compute_float(x.dtype()), TypeError,
              "index_select: gradients need a float32 or float64 input, got " << dtype_name(x.dtype()));
  if (x.device().type != DeviceType::CPU) unsupported_device("index_select", x.device());
  Tensor idx = contiguous(index.detach());
  const cpu::IdScan scan = cpu::scan_ids(idx, s.size);
  PYLLM_CHECK(!scan.first_bad, IndexError,
              "index_select: index " << *scan.first_bad << " is out of range for dim " << d << " of size " << s.size
                                     << " in " << shape_str(x.shape()));

  Shape out_shape = x.shape();
  if (x.dim() > 0) out_shape[d] = K;
  Tensor out = empty(out_shape, x.dtype(), x.device());
  if (out.numel() > 0) cpu::gather_rows(contiguous(x.detach()), idx, out, s.outer, s.size, s.inner);
  if (autograd::needs_grad({x})) {
    SavedTensor sidx(idx);
    autograd::record("IndexSelectBackward", {x}, {out}, [sidx, s, shape = x.shape()](std::vector<Tensor>& g) {
      Tensor gx = empty(shape, g[0].dtype(), g[0].device());
      Tensor i = sidx.unpack("index_select");
      if (gx.numel() > 0) cpu::scatter_add_rows(contiguous(g[0]), i, gx, s.outer, s.size, s.inner);  // zero-fills gx
      return std::vector<Tensor>{gx};
    });
  }
  return out;
}

}  // namespace pyllm::ops
