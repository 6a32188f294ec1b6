// where(cond, a, b) and masked_fill, with broadcasting.
#include "cpu/where.h"
#include "ops/common.h"

namespace pyllm::ops {

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined(cond, "where", "condition");
  check_defined(a, "where", "input");
  check_defined(b, "where", "other");
  PYLLM_CHECK(cond.dtype() == DType::Bool, TypeError,
              "where: the condition must be a bool tensor, got " << dtype_name(cond.dtype()));
  check_same_dtype(a, b, "where");
  check_same_device(cond, a, "where");
  check_same_device(a, b, "where");
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, a.dtype(), a.device());
  if (a.device().type != DeviceType::CPU) unsupported_device("where", a.device());
  cpu::where(expand(cond.detach(), shape), expand(a.detach(), shape), expand(b.detach(), shape), out);
  if (autograd::needs_grad({a, b})) {
    SavedTensor sc(cond);
    autograd::record("WhereBackward", {a, b}, {out}, [sc, a_shape = a.shape(), b_shape = b.shape(),
                                                       ra = a.requires_grad(), rb = b.requires_grad()](std::vector<Tensor>& g) {
      Tensor c = sc.unpack("where");
      Tensor zero = scalar_tensor(0.0, g[0].dtype(), g[0].device());
      Tensor ga = ra ? sum_to(where(c, g[0], zero), a_shape) : Tensor();
      Tensor gb = rb ? sum_to(where(c, zero, g[0]), b_shape) : Tensor();
      return std::vector<Tensor>{ga, gb};
    });
  }
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_defined(x, "masked_fill");
  check_defined(mask, "masked_fill", "mask");
  PYLLM_CHECK(mask.dtype() == DType::Bool, TypeError,
              "masked_fill: the mask must be a bool tensor, got " << dtype_name(mask.dtype()));
  PYLLM_CHECK(broadcast_shapes(mask.shape(), x.shape(), "masked_fill") == x.shape(), ValueError,
              "masked_fill: mask of shape " << shape_str(mask.shape()) << " does not broadcast to the input's "
                                            << shape_str(x.shape()));
  return where(mask, scalar_tensor(value, x.dtype(), x.device()), x);
}

}  // namespace pyllm::ops
