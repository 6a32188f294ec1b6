#include "cpu/unary.h"

#include <cmath>
#include <type_traits>

#include "cpu/dtype_visit.h"
#include "cpu/vec_math.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kGeluCoef = 0.044715;

template <typename T>
inline T sign_of(T v) { return static_cast<T>((v > T(0)) - (v < T(0))); }

// -v in the unsigned type for integers: the most negative value wraps to itself (as in PyTorch) instead
// of overflowing, which is undefined behaviour in C++.
template <typename T>
inline T negate(T v) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(std::make_unsigned_t<T>(0) - static_cast<std::make_unsigned_t<T>>(v));
  else return -v;
}

template <typename T, UnaryOp op>
inline T forward_one(T v) {
  if constexpr (op == UnaryOp::Neg) return negate(v);
  else if constexpr (op == UnaryOp::Exp) return exp_fast(v);
  else if constexpr (op == UnaryOp::Log) return std::log(v);
  else if constexpr (op == UnaryOp::Sqrt) return std::sqrt(v);
  else if constexpr (op == UnaryOp::Rsqrt) return T(1) / std::sqrt(v);
  else if constexpr (op == UnaryOp::Abs) return v < T(0) ? negate(v) : v;
  else if constexpr (op == UnaryOp::Sin) return std::sin(v);
  else if constexpr (op == UnaryOp::Cos) return std::cos(v);
  else if constexpr (op == UnaryOp::Tanh) return tanh_fast(v);
  else if constexpr (op == UnaryOp::Sigmoid) return sigmoid_fast(v);
  else if constexpr (op == UnaryOp::Relu) return v < T(0) ? T(0) : v;  // NaN passes through, as in PyTorch
  else if constexpr (op == UnaryOp::Gelu) return T(0.5) * v * (T(1) + erf_fast(v * T(kSqrt1_2)));
  else if constexpr (op == UnaryOp::GeluTanh)
    return T(0.5) * v * (T(1) + tanh_fast(T(kSqrt2OverPi) * (v + T(kGeluCoef) * v * v * v)));
  else return v * sigmoid_fast(v);  // Silu
}

// d f / d x at x, given y = f(x).
template <typename T, UnaryOp op>
inline T derivative(T x, T y) {
  if constexpr (op == UnaryOp::Neg) return T(-1);
  else if constexpr (op == UnaryOp::Exp) return y;
  else if constexpr (op == UnaryOp::Log) return T(1) / x;
  else if constexpr (op == UnaryOp::Sqrt) return T(0.5) / y;
  else if constexpr (op == UnaryOp::Rsqrt) return T(-0.5) * y * y * y;
  else if constexpr (op == UnaryOp::Abs) return sign_of(x);
  else if constexpr (op == UnaryOp::Sin) return std::cos(x);
  else if constexpr (op == UnaryOp::Cos) return -std::sin(x);
  else if constexpr (op == UnaryOp::Tanh) return T(1) - y * y;
  else if constexpr (op == UnaryOp::Sigmoid) return y * (T(1) - y);
  else if constexpr (op == UnaryOp::Relu) return x <= T(0) ? T(0) : T(1);  // NaN gets the gradient, as in PyTorch
  else if constexpr (op == UnaryOp::Gelu)
    return T(0.5) * (T(1) + erf_fast(x * T(kSqrt1_2))) + x * T(kInvSqrt2Pi) * exp_fast(T(-0.5) * x * x);
  else if constexpr (op == UnaryOp::GeluTanh) {
    T t = tanh_fast(T(kSqrt2OverPi) * (x + T(kGeluCoef) * x * x * x));
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCoef) * x * x);
  } else {  // Silu
    T s = sigmoid_fast(x);
    return s * (T(1) + x * (T(1) - s));
  }
}

template <typename T, UnaryOp op>
void forward_kernel(const T* x, T* y, int64_t n) {
  parallel_for(0, n, 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = forward_one<T, op>(x[i]);
  });
}

template <typename T, UnaryOp op>
void backward_kernel(const T* x, const T* y, const T* g, T* gi, int64_t n) {
  parallel_for(0, n, 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) gi[i] = g[i] * derivative<T, op>(x[i], y[i]);
  });
}

template <typename T, typename Visitor>
void with_op(UnaryOp op, Visitor&& v) {
  switch (op) {
    case UnaryOp::Neg: return v.template run<T, UnaryOp::Neg>();
    case UnaryOp::Exp: return v.template run<T, UnaryOp::Exp>();
    case UnaryOp::Log: return v.template run<T, UnaryOp::Log>();
    case UnaryOp::Sqrt: return v.template run<T, UnaryOp::Sqrt>();
    case UnaryOp::Rsqrt: return v.template run<T, UnaryOp::Rsqrt>();
    case UnaryOp::Abs: return v.template run<T, UnaryOp::Abs>();
    case UnaryOp::Sin: return v.template run<T, UnaryOp::Sin>();
    case UnaryOp::Cos: return v.template run<T, UnaryOp::Cos>();
    case UnaryOp::Tanh: return v.template run<T, UnaryOp::Tanh>();
    case UnaryOp::Sigmoid: return v.template run<T, UnaryOp::Sigmoid>();
    case UnaryOp::Relu: return v.template run<T, UnaryOp::Relu>();
    case UnaryOp::Gelu: return v.template run<T, UnaryOp::Gelu>();
    case UnaryOp::GeluTanh: return v.template run<T, UnaryOp::GeluTanh>();
    case UnaryOp::Silu: return v.template run<T, UnaryOp::Silu>();
  }
}

struct Forward {
  const Tensor& x;
  const Tensor& out;
  template <typename T, UnaryOp op> void run() {
    if constexpr (std::is_integral_v<T> && op != UnaryOp::Neg && op != UnaryOp::Abs) return;  // op layer rejects
    else forward_kernel<T, op>(static_cast<const T*>(x.data_ptr()), static_cast<T*>(out.data_ptr()), x.numel());
  }
};

struct Backward {
  const Tensor& x;
  const Tensor& out;
  const Tensor& grad;
  const Tensor& grad_in;
  template <typename T, UnaryOp op> void run() {
    backward_kernel<T, op>(static_cast<const T*>(x.data_ptr()), static_cast<const T*>(out.data_ptr()),
                           static_cast<const T*>(grad.data_ptr()), static_cast<T*>(grad_in.data_ptr()), x.numel());
  }
};

}  // namespace

void unary(UnaryOp op, const Tensor& x, const Tensor& out) {
  Forward f{x, out};
  visit_numeric(x.dtype(), [&](auto tag) { with_op<typename decltype(tag)::type>(op, f); });
}

void unary_backward(UnaryOp op, const Tensor& x, const Tensor& out, const Tensor& grad, const Tensor& grad_in) {
  Backward b{x, out, grad, grad_in};
  if (x.dtype() == DType::Float32) with_op<float>(op, b);
  else with_op<double>(op, b);
}

}  // namespace pyllm::cpu
