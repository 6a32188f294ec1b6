// layer_norm, and the normalization machinery it shares with rms_norm (ops/norm.h): both flatten the
// input to (N, D) rows over the normalized dims and run one fused kernel each way (cpu/norm.h). Forward
// saves the per-row mean and rstd; backward gives the input, weight and bias gradients in one pass.
#include "cpu/norm.h"
#include "ops/common.h"
#include "ops/norm.h"

namespace pyllm::ops {

namespace {

void check_affine(const Tensor& t, const char* what, const Tensor& x, const Shape& normalized_shape, const char* op) {
  if (!t.defined()) return;
  check_float(t, op, what);
  check_same_dtype(x, t, op);
  check_same_device(x, t, op);
  PYLLM_CHECK(t.shape() == normalized_shape, ValueError,
              op << ": " << what << " of shape " << shape_str(t.shape()) << " does not match normalized_shape "
                 << shape_str(normalized_shape));
}

Tensor flat(const Tensor& t, int64_t N, int64_t D) { return t.defined() ? view(t, {N, D}) : Tensor(); }

}  // namespace

Tensor normalize(const char* op, const char* node, bool center, const Tensor& x, const Shape& normalized_shape,
                 const Tensor& weight, const Tensor& bias, double eps) {
  check_float(x, op);
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  bool matches = k >= 1 && k <= x.dim();
  for (int64_t i = 0; matches && i < k; ++i) matches = x.shape()[x.dim() - k + i] == normalized_shape[i];
  PYLLM_CHECK(matches, ValueError,
              op << ": normalized_shape " << shape_str(normalized_shape)
                 << " does not match the last dims of the input " << shape_str(x.shape()));
  check_affine(weight, "weight", x, normalized_shape, op);
  check_affine(bias, "bias", x, normalized_shape, op);
  if (x.device().type != DeviceType::CPU) unsupported_device(op, x.device());

  const int64_t D = numel_of(normalized_shape);
  const int64_t N = numel_of(Shape(x.shape().begin(), x.shape().end() - k));
  Tensor xc = contiguous(x.detach());
  Tensor w = weight.defined() ? contiguous(weight.detach()) : Tensor();
  Tensor b = bias.defined() ? contiguous(bias.detach()) : Tensor();
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor mean = center ? empty({N}, DType::Float64, x.device()) : Tensor();  // double: see cpu/norm_kernels.h
  Tensor rstd = empty({N}, x.dtype(), x.device());
  if (N * D > 0) cpu::norm_forward(center, flat(xc, N, D), w, b, flat(y, N, D), mean, rstd, eps);

  if (autograd::needs_grad({x, weight, bias})) {
    SavedTensor sx(xc), sw(w), smean(mean), srstd(rstd);
    const bool rx = x.requires_grad(), rw = weight.defined() && weight.requires_grad(),
               rb = bias.defined() && bias.requires_grad();
    autograd::record(node, {x, weight, bias}, {y},
                     [=, shape = x.shape()](std::vector<Tensor>& g) {
      Tensor xs = sx.unpack(op), ws = sw.unpack(op);
      Tensor gx = rx ? empty(shape, xs.dtype(), xs.device()) : Tensor();
      Tensor gw = rw ? empty(normalized_shape, xs.dtype(), xs.device()) : Tensor();
      Tensor gb = rb ? empty(normalized_shape, xs.dtype(), xs.device()) : Tensor();
      if (N * D > 0) {
        cpu::norm_backward(center, flat(xs, N, D), flat(contiguous(g[0]), N, D), ws, smean.unpack(op),
                           srstd.unpack(op), flat(gx, N, D), gw, gb);
      } else {  // no rows: the weight and bias gradients are empty sums
        if (rw) fill_(gw, 0.0);
        if (rb) fill_(gb, 0.0);
      }
      return std::vector<Tensor>{gx, gw, gb};
    });
  }
  return y;
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  return normalize("layer_norm", "LayerNormBackward", true, x, normalized_shape, weight, bias, eps);
}

}  // namespace pyllm::ops
