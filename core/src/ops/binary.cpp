// Elementwise binary ops with NumPy/PyTorch broadcasting, and their backward formulas (each gradient is
// summed back down to its operand's shape with sum_to).
#include <cmath>

#include "cpu/binary.h"
#include "ops/common.h"

namespace pyllm::ops {

namespace {

using cpu::BinaryOp;

enum class Kind { FloatOnly, Numeric, Comparison };

Tensor forward(BinaryOp op, const char* name, Kind kind, const Tensor& a, const Tensor& b) {
  check_defined(a, name, "first operand");
  check_defined(b, name, "second operand");
  check_same_device(a, b, name);
  check_same_dtype(a, b, name);
  const DType dt = a.dtype();
  if (kind == Kind::FloatOnly) {
    PYLLM_CHECK(is_compute_float(dt), TypeError,
                name << ": expected float32 or float64 operands, got " << dtype_name(dt));
  } else {
    bool bool_ok = kind == Kind::Comparison && (op == BinaryOp::Eq || op == BinaryOp::Ne);
    PYLLM_CHECK(is_compute_float(dt) || is_integral(dt) || (bool_ok && dt == DType::Bool), TypeError,
                name << ": not supported for " << dtype_name(dt) << " operands");
  }
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(shape, kind == Kind::Comparison ? DType::Bool : dt, a.device());
  if (a.device().type != DeviceType::CPU) unsupported_device(name, a.device());
  cpu::binary(op, expand(a.detach(), shape), expand(b.detach(), shape), out);
  return out;
}

Tensor as_float(const Tensor& mask, DType dtype) { return to_dtype(mask, dtype); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = forward(BinaryOp::Add, "add", Kind::Numeric, a, b);
  if (autograd::needs_grad({a, b})) {
    autograd::record("AddBackward", {a, b}, {out}, [a_shape = a.shape(), b_shape = b.shape()](std::vector<Tensor>& g) {
      return std::vector<Tensor>{sum_to(g[0], a_shape), sum_to(g[0], b_shape)};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = forward(BinaryOp::Sub, "sub", Kind::Numeric, a, b);
  if (autograd::needs_grad({a, b})) {
    autograd::record("SubBackward", {a, b}, {out}, [a_shape = a.shape(), b_shape = b.shape()](std::vector<Tensor>& g) {
      return std::vector<Tensor>{sum_to(g[0], a_shape), sum_to(neg(g[0]), b_shape)};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = forward(BinaryOp::Mul, "mul", Kind::Numeric, a, b);
  if (autograd::needs_grad({a, b})) {
    // Each operand is saved only if the other one needs a gradient.
    SavedTensor sa(b.requires_grad() ? a : Tensor()), sb(a.requires_grad() ? b : Tensor());
    autograd::record("MulBackward", {a, b}, {out}, [sa, sb, a_shape = a.shape(), b_shape = b.shape(),
                                                     ra = a.requires_grad(), rb = b.requires_grad()](std::vector<Tensor>& g) {
      Tensor ga = ra ? sum_to(mul(g[0], sb.unpack("mul")), a_shape) : Tensor();
      Tensor gb = rb ? sum_to(mul(g[0], sa.unpack("mul")), b_shape) : Tensor();
      return std::vector<Tensor>{ga, gb};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  // True division, as in PyTorch: integer operands give a float32 quotient.
  if (a.defined() && b.defined() && is_integral(a.dtype()) && a.dtype() == b.dtype())
    return div(to_dtype(a, DType::Float32), to_dtype(b, DType::Float32));
  Tensor out = forward(BinaryOp::Div, "div", Kind::FloatOnly, a, b);
  if (autograd::needs_grad({a, b})) {
    SavedTensor sb(b), so(b.requires_grad() ? out : Tensor());
    autograd::record("DivBackward", {a, b}, {out}, [sb, so, a_shape = a.shape(), b_shape = b.shape(),
                                                     ra = a.requires_grad(), rb = b.requires_grad()](std::vector<Tensor>& g) {
      Tensor bv = sb.unpack("div");
      Tensor g_over_b = div(g[0], bv);
      Tensor ga = ra ? sum_to(g_over_b, a_shape) : Tensor();
      // d(a/b)/db = -a/b^2 = -out/b
      Tensor gb = rb ? sum_to(neg(mul(g_over_b, so.unpack("div"))), b_shape) : Tensor();
      return std::vector<Tensor>{ga, gb};
    });
  }
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = forward(BinaryOp::Pow, "pow", Kind::FloatOnly, a, b);
  if (autograd::needs_grad({a, b})) {
    SavedTensor sa(a), sb(b), so(out);
    autograd::record("PowBackward", {a, b}, {out}, [sa, sb, so, a_shape = a.shape(), b_shape = b.shape(),
                                                     ra = a.requires_grad(), rb = b.requires_grad()](std::vector<Tensor>& g) {
      Tensor av = sa.unpack("pow"), bv = sb.unpack("pow");
      Tensor ga, gb;
      if (ra) {
        // d/da a^b = b * a^(b-1), taken as 0 where b == 0 (0 * 0^-1 would be NaN), as PyTorch does.
        Tensor one = scalar_tensor(1.0, bv.dtype(), bv.device());
        Tensor zero = scalar_tensor(0.0, bv.dtype(), bv.device());
        Tensor slope = where(eq(bv, zero), zero, mul(bv, pow(av, sub(bv, one))));
        ga = sum_to(mul(g[0], slope), a_shape);
      }
      if (rb) {
        // d/db a^b = a^b * log(a); taken as 0 where a == 0 and b >= 0 (the limit), as PyTorch does.
        Tensor zero = scalar_tensor(0.0, av.dtype(), av.device());
        Tensor term = mul(so.unpack("pow"), log(av));
        Tensor at_zero = as_float(eq(av, zero), av.dtype());
        Tensor b_nonneg = as_float(ge(bv, zero), av.dtype());
        Tensor keep = sub(scalar_tensor(1.0, av.dtype(), av.device()), mul(at_zero, b_nonneg));
        // where() would also do; multiplying by a 0/1 mask would turn 0 * nan into nan, so replace first.
        term = where(gt(keep, zero), term, zero);
        gb = sum_to(mul(g[0], term), b_shape);
      }
      return std::vector<Tensor>{ga, gb};
    });
  }
  return out;
}

Tensor pow(const Tensor& a, double exponent) {
  check_float(a, "pow");
  Tensor out = pow(a.detach(), scalar_tensor(exponent, a.dtype(), a.device()));
  if (autograd::needs_grad({a})) {
    SavedTensor sa(a);
    autograd::record("PowBackward", {a}, {out}, [sa, exponent](std::vector<Tensor>& g) {
      Tensor av = sa.unpack("pow");
      if (exponent == 0.0) return std::vector<Tensor>{zeros(av.shape(), av.dtype(), av.device())};
      Tensor factor = exponent == 1.0 ? ones(av.shape(), av.dtype(), av.device())
                      : exponent == 2.0 ? av
                                        : pow(av, exponent - 1.0);
      Tensor scale = scalar_tensor(exponent, av.dtype(), av.device());
      return std::vector<Tensor>{mul(g[0], mul(factor, scale))};
    });
  }
  return out;
}

namespace {

// maximum/minimum: the gradient goes to the operand that was chosen; on a tie each gets half. As in
// PyTorch, an operand gets it unless it lost, so where either is NaN both get it.
Tensor extremum(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  Tensor out = forward(op, name, Kind::Numeric, a, b);
  if (autograd::needs_grad({a, b})) {
    SavedTensor sa(a), sb(b);
    autograd::record(std::string(name == std::string("maximum") ? "MaximumBackward" : "MinimumBackward"), {a, b}, {out},
                     [sa, sb, op, a_shape = a.shape(), b_shape = b.shape()](std::vector<Tensor>& g) {
      Tensor av = sa.unpack("extremum"), bv = sb.unpack("extremum");
      DType dt = av.dtype();
      Tensor a_loses = as_float(op == BinaryOp::Maximum ? lt(av, bv) : gt(av, bv), dt);
      Tensor b_loses = as_float(op == BinaryOp::Maximum ? gt(av, bv) : lt(av, bv), dt);
      Tensor half_tie = mul(as_float(eq(av, bv), dt), scalar_tensor(0.5, dt, av.device()));
      Tensor one = scalar_tensor(1.0, dt, av.device());
      Tensor wa = sub(sub(one, a_loses), half_tie);
      Tensor wb = sub(sub(one, b_loses), half_tie);
      return std::vector<Tensor>{sum_to(mul(g[0], wa), a_shape), sum_to(mul(g[0], wb), b_shape)};
    });
  }
  return out;
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Maximum, "maximum", a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Minimum, "minimum", a, b); }

Tensor eq(const Tensor& a, const Tensor& b) { return forward(BinaryOp::Eq, "eq", Kind::Comparison, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return forward(BinaryOp::Ne, "ne", Kind::Comparison, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return forward(BinaryOp::Lt, "lt", Kind::Comparison, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return forward(BinaryOp::Le, "le", Kind::Comparison, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return forward(BinaryOp::Gt, "gt", Kind::Comparison, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return forward(BinaryOp::Ge, "ge", Kind::Comparison, a, b); }

Tensor logical_not(const Tensor& x) {
  check_defined(x, "logical_not");
  PYLLM_CHECK(x.dtype() == DType::Bool, TypeError, "logical_not: expected a bool tensor, got " << dtype_name(x.dtype()));
  return eq(x, scalar_tensor(0.0, DType::Bool, x.device()));
}

void add_(const Tensor& dst, const Tensor& src, double alpha) {
  check_inplace(dst, "add_", {src});
  Tensor term = alpha == 1.0 ? src : mul(src, scalar_tensor(alpha, src.dtype(), src.device()));
  PYLLM_CHECK(broadcast_shapes(dst.shape(), term.shape(), "add_") == dst.shape(), ValueError,
              "add_: cannot add a " << shape_str(term.shape()) << " tensor into a " << shape_str(dst.shape())
                                    << " tensor in place");
  check_same_dtype(dst, term, "add_");
  // dst may be read and written in the same element order, so no temporary is needed unless src aliases
  // dst in a shifted way; copy_ handles that case.
  if (dst.storage() == term.storage()) term = clone(term);
  cpu::binary(BinaryOp::Add, dst, expand(term.detach(), dst.shape()), dst);
  dst.bump_version();
}

void mul_(const Tensor& dst, double value) {
  check_inplace(dst, "mul_");
  check_float(dst, "mul_");
  cpu::binary(BinaryOp::Mul, dst, expand(scalar_tensor(value, dst.dtype(), dst.device()), dst.shape()), dst);
  dst.bump_version();
}

}  // namespace pyllm::ops
