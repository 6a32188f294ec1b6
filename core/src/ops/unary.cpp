// Elementwise unary ops. Each saves only what its derivative reads: the output for exp, sqrt, rsqrt, tanh
// and sigmoid; the input for the rest.
#include "cpu/unary.h"
#include "ops/common.h"

namespace pyllm::ops {

namespace {

using cpu::UnaryOp;

bool derivative_uses_output(UnaryOp op) {
  return op == UnaryOp::Exp || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::Tanh ||
         op == UnaryOp::Sigmoid;
}

Tensor unary_op(UnaryOp op, const char* name, const char* node_name, const Tensor& x, bool ints_ok = false) {
  check_defined(x, name);
  PYLLM_CHECK(is_compute_float(x.dtype()) || (ints_ok && is_integral(x.dtype())), TypeError,
              name << ": not supported for " << dtype_name(x.dtype()) << " tensors"
                   << (is_floating(x.dtype()) ? " (a storage type: convert with .float())" : ""));
  if (x.device().type != DeviceType::CPU) unsupported_device(name, x.device());
  Tensor xc = contiguous(x.detach());
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  cpu::unary(op, xc, out);
  if (autograd::needs_grad({x})) {
    SavedTensor saved(derivative_uses_output(op) ? out : xc);
    autograd::record(node_name, {x}, {out}, [op, saved, name](std::vector<Tensor>& g) {
      Tensor s = saved.unpack(name);
      Tensor grad = contiguous(g[0]);
      Tensor grad_in = empty(s.shape(), s.dtype(), s.device());
      cpu::unary_backward(op, s, s, grad, grad_in);  // the derivative reads only the one it needs
      return std::vector<Tensor>{grad_in};
    });
  }
  return out;
}

}  // namespace

Tensor neg(const Tensor& x) {
  check_defined(x, "neg");
  PYLLM_CHECK(is_compute_float(x.dtype()) || is_integral(x.dtype()), TypeError,
              "neg: not supported for " << dtype_name(x.dtype()) << " tensors");
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  cpu::unary(UnaryOp::Neg, contiguous(x.detach()), out);
  if (autograd::needs_grad({x})) {
    autograd::record("NegBackward", {x}, {out}, [](std::vector<Tensor>& g) { return std::vector<Tensor>{neg(g[0])}; });
  }
  return out;
}

Tensor exp(const Tensor& x) { return unary_op(UnaryOp::Exp, "exp", "ExpBackward", x); }
Tensor log(const Tensor& x) { return unary_op(UnaryOp::Log, "log", "LogBackward", x); }
Tensor sqrt(const Tensor& x) { return unary_op(UnaryOp::Sqrt, "sqrt", "SqrtBackward", x); }
Tensor rsqrt(const Tensor& x) { return unary_op(UnaryOp::Rsqrt, "rsqrt", "RsqrtBackward", x); }
Tensor abs(const Tensor& x) { return unary_op(UnaryOp::Abs, "abs", "AbsBackward", x, /*ints_ok=*/true); }
Tensor sin(const Tensor& x) { return unary_op(UnaryOp::Sin, "sin", "SinBackward", x); }
Tensor cos(const Tensor& x) { return unary_op(UnaryOp::Cos, "cos", "CosBackward", x); }
Tensor tanh(const Tensor& x) { return unary_op(UnaryOp::Tanh, "tanh", "TanhBackward", x); }
Tensor sigmoid(const Tensor& x) { return unary_op(UnaryOp::Sigmoid, "sigmoid", "SigmoidBackward", x); }
Tensor relu(const Tensor& x) { return unary_op(UnaryOp::Relu, "relu", "ReluBackward", x); }
Tensor silu(const Tensor& x) { return unary_op(UnaryOp::Silu, "silu", "SiluBackward", x); }
Tensor gelu(const Tensor& x, bool tanh_approximation) {
  return tanh_approximation ? unary_op(UnaryOp::GeluTanh, "gelu", "GeluBackward", x)
                            : unary_op(UnaryOp::Gelu, "gelu", "GeluBackward", x);
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  check_float(x, "clamp");
  PYLLM_CHECK(min || max, ValueError, "clamp: at least one of min and max must be given");
  Tensor out = x.detach();
  if (min) out = maximum(out, scalar_tensor(*min, x.dtype(), x.device()));
  if (max) out = minimum(out, scalar_tensor(*max, x.dtype(), x.device()));
  if (out.storage() == x.storage()) out = clone(out);
  if (autograd::needs_grad({x})) {
    SavedTensor sx(x);
    autograd::record("ClampBackward", {x}, {out}, [sx, min, max](std::vector<Tensor>& g) {
      // The gradient passes where min <= x <= max, as in PyTorch.
      Tensor xv = sx.unpack("clamp");
      Tensor pass = ones(xv.shape(), xv.dtype(), xv.device());
      if (min) pass = mul(pass, to_dtype(ge(xv, scalar_tensor(*min, xv.dtype(), xv.device())), xv.dtype()));
      if (max) pass = mul(pass, to_dtype(le(xv, scalar_tensor(*max, xv.dtype(), xv.device())), xv.dtype()));
      return std::vector<Tensor>{mul(g[0], pass)};
    });
  }
  return out;
}

}  // namespace pyllm::ops
