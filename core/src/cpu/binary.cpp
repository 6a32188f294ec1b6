#include "cpu/binary.h"

#include <cmath>
#include <type_traits>

#include "cpu/dtype_visit.h"
#include "cpu/loops.h"

namespace pyllm::cpu {

namespace {

// Integer overflow wraps around (two's complement) as in PyTorch: signed overflow is undefined behaviour
// in C++, so integers add, subtract and multiply in their unsigned type.
template <typename T, bool = std::is_integral_v<T> && !std::is_same_v<T, bool>> struct wrapping { using type = T; };
template <typename T> struct wrapping<T, true> { using type = std::make_unsigned_t<T>; };

template <typename T, BinaryOp op>
inline auto apply(T x, T y) {
  using W = typename wrapping<T>::type;
  if constexpr (op == BinaryOp::Add) return static_cast<T>(static_cast<W>(x) + static_cast<W>(y));
  else if constexpr (op == BinaryOp::Sub) return static_cast<T>(static_cast<W>(x) - static_cast<W>(y));
  else if constexpr (op == BinaryOp::Mul) return static_cast<T>(static_cast<W>(x) * static_cast<W>(y));
  else if constexpr (op == BinaryOp::Div) return static_cast<T>(x / y);
  else if constexpr (op == BinaryOp::Pow) return static_cast<T>(std::pow(x, y));
  // NaN propagates through maximum/minimum, as in PyTorch.
  else if constexpr (op == BinaryOp::Maximum) return (x != x || x > y) ? x : y;
  else if constexpr (op == BinaryOp::Minimum) return (x != x || x < y) ? x : y;
  else if constexpr (op == BinaryOp::Eq) return x == y;
  else if constexpr (op == BinaryOp::Ne) return x != y;
  else if constexpr (op == BinaryOp::Lt) return x < y;
  else if constexpr (op == BinaryOp::Le) return x <= y;
  else if constexpr (op == BinaryOp::Gt) return x > y;
  else return x >= y;
}

template <typename T, BinaryOp op>
void run(const Tensor& a, const Tensor& b, const Tensor& out) {
  using R = decltype(apply<T, op>(T(), T()));
  const T* pa = static_cast<const T*>(a.data_ptr());
  const T* pb = static_cast<const T*>(b.data_ptr());
  R* po = static_cast<R*>(out.data_ptr());
  for_each_run<3>(out.shape(), {out.strides(), a.strides(), b.strides()},
                  [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
    R* o = po + off[0];
    const T* x = pa + off[1];
    const T* y = pb + off[2];
    // The common layouts get loops the compiler vectorizes; anything else takes the strided loop.
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = apply<T, op>(x[i], y[i]);
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const T yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = apply<T, op>(x[i], yv);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const T xv = *x;
      for (int64_t i = 0; i < n; ++i) o[i] = apply<T, op>(xv, y[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = apply<T, op>(x[i * st[1]], y[i * st[2]]);
    }
  });
}

template <typename T>
void run_op(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  switch (op) {
    case BinaryOp::Add: return run<T, BinaryOp::Add>(a, b, out);
    case BinaryOp::Sub: return run<T, BinaryOp::Sub>(a, b, out);
    case BinaryOp::Mul: return run<T, BinaryOp::Mul>(a, b, out);
    case BinaryOp::Div: return run<T, BinaryOp::Div>(a, b, out);
    case BinaryOp::Pow: return run<T, BinaryOp::Pow>(a, b, out);
    case BinaryOp::Maximum: return run<T, BinaryOp::Maximum>(a, b, out);
    case BinaryOp::Minimum: return run<T, BinaryOp::Minimum>(a, b, out);
    case BinaryOp::Eq: return run<T, BinaryOp::Eq>(a, b, out);
    case BinaryOp::Ne: return run<T, BinaryOp::Ne>(a, b, out);
    case BinaryOp::Lt: return run<T, BinaryOp::Lt>(a, b, out);
    case BinaryOp::Le: return run<T, BinaryOp::Le>(a, b, out);
    case BinaryOp::Gt: return run<T, BinaryOp::Gt>(a, b, out);
    case BinaryOp::Ge: return run<T, BinaryOp::Ge>(a, b, out);
  }
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  if (a.dtype() == DType::Bool)  // only equality reaches here for bool (the op layer checks)
    return op == BinaryOp::Eq ? run<bool, BinaryOp::Eq>(a, b, out) : run<bool, BinaryOp::Ne>(a, b, out);
  visit_numeric(a.dtype(), [&](auto tag) { run_op<typename decltype(tag)::type>(op, a, b, out); });
}

}  // namespace pyllm::cpu
