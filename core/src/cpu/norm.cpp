#include "cpu/norm.h"

#include <vector>

#include "cpu/norm_kernels.h"

namespace pyllm::cpu {

namespace {

template <typename T>
T* ptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

// The kernels always take a weight and a bias: ones and zeros stand in for missing ones.
template <typename T>
const T* or_constant(const Tensor& t, std::vector<T>& fallback, int64_t D, T value) {
  if (t.defined()) return t.data<T>();
  fallback.assign(D, value);
  return fallback.data();
}

template <typename T, bool kCenter>
void forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const Tensor& mean,
             const Tensor& rstd, double eps) {
  const int64_t D = x.shape().back(), N = x.numel() / D;
  std::vector<T> ones, zeros;
  const T* wp = or_constant(w, ones, D, T(1));
  const T* bp = or_constant(b, zeros, D, T(0));
  with_best_isa<T>([&](auto isa) {
    NormKernels<decltype(isa)::value, T, kCenter>::forward(ptr<T>(x), wp, bp, ptr<T>(y), ptr<double>(mean),
                                                           ptr<T>(rstd), N, D, static_cast<T>(eps));
  });
}

template <typename T, bool kCenter>
void backward(const Tensor& x, const Tensor& g, const Tensor& w, const Tensor& mean, const Tensor& rstd,
              const Tensor& gx, const Tensor& gw, const Tensor& gb) {
  const int64_t D = x.shape().back(), N = x.numel() / D;
  const int64_t P = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), N));
  std::vector<T> work(P * 2 * D), ones;
  const T* wp = or_constant(w, ones, D, T(1));
  with_best_isa<T>([&](auto isa) {
    NormKernels<decltype(isa)::value, T, kCenter>::backward(ptr<T>(x), ptr<T>(g), wp, ptr<double>(mean),
                                                            ptr<T>(rstd), ptr<T>(gx), ptr<T>(gw), ptr<T>(gb), N, D,
                                                            work.data(), P);
  });
}

}  // namespace

void norm_forward(bool center, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                  const Tensor& mean, const Tensor& rstd, double eps) {
  if (x.dtype() == DType::Float32) {
    center ? forward<float, true>(x, weight, bias, y, mean, rstd, eps)
           : forward<float, false>(x, weight, bias, y, mean, rstd, eps);
  } else {
    center ? forward<double, true>(x, weight, bias, y, mean, rstd, eps)
           : forward<double, false>(x, weight, bias, y, mean, rstd, eps);
  }
}

void norm_backward(bool center, const Tensor& x, const Tensor& g, const Tensor& weight, const Tensor& mean,
                   const Tensor& rstd, const Tensor& gx, const Tensor& gweight, const Tensor& gbias) {
  if (x.dtype() == DType::Float32) {
    center ? backward<float, true>(x, g, weight, mean, rstd, gx, gweight, gbias)
           : backward<float, false>(x, g, weight, mean, rstd, gx, gweight, gbias);
  } else {
    center ? backward<double, true>(x, g, weight, mean, rstd, gx, gweight, gbias)
           : backward<double, false>(x, g, weight, mean, rstd, gx, gweight, gbias);
  }
}

}  // namespace pyllm::cpu
