// The per-element loops of the optimizer kernels, compiled once per instruction set: optim.cpp (generic),
// optim_avx2.cpp and optim_avx512.cpp each include this header and export the loops as an OptimKernels
// table. They sit in an anonymous namespace so that every file keeps its own copy (an AVX-512 copy can
// never be merged into the generic one by the linker). Include nothing here that defines inline code
// outside an anonymous namespace.
#pragma once

#include <cmath>
#include <cstdint>

#include "cpu/optim_kernels.h"

namespace pyllm::cpu {
namespace {

// Folds two partial results of a norm (sums add; maxima keep the larger, and NaN sticks).
inline double norm_combine(NormKind kind, double a, double b) {
  if (kind != NormKind::Inf) return a + b;
  return (b > a || b != b) ? b : a;
}

// The update of torch.optim.AdamW's single-tensor path with its roundings: each of its ops rounds its result
// (so no multiply-add is fused across them), and its vectorized lerp and addcmul use fused multiply-adds.
//   p *= decay; m = lerp(m, g, 1 - beta1); v = fma((1 - beta2) g, g, v * beta2);
//   p += neg_step_size * m / (sqrt(v) / bias_correction2_sqrt + eps)
// Matching the roundings keeps float32 results within about an ulp of PyTorch's over many steps (bitwise
// equality is out of reach: PyTorch's vectorized sqrt is not always correctly rounded).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
template <typename T>
inline T fused_mul_add(T a, T b, T c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;  // no FMA unit on this path: one rounding more than PyTorch's vectorized kernels
#endif
}

template <typename T>
void adamw_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t n,
                const AdamwCoeffs<T>& c) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  const T decay = c.decay, w = c.lerp_weight, beta2 = c.beta2, w2 = c.one_minus_beta2;
  const T bc2 = c.bias_correction2_sqrt, eps = c.eps, step = c.neg_step_size;
  const bool from_avg = c.lerp_from_avg;
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i], mi = m[i];
    const T m_new = fused_mul_add(w, gi - mi, from_avg ? mi : gi);
    const T v_new = fused_mul_add(w2 * gi, gi, v[i] * beta2);
    const T denom = std::sqrt(v_new) / bc2 + eps;
    p[i] = p[i] * decay + step * m_new / denom;
    m[i] = m_new;
    v[i] = v_new;
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

// Sixteen independent accumulators: the compiler may not reorder a floating-point sum, but it does
// vectorize sixteen separate ones.
template <typename T, NormKind kind>
double norm_loop(const T* __restrict x, int64_t n) {
  constexpr int kLanes = 16;
  double acc[kLanes] = {};
  auto add = [](double a, double xi) {
    if constexpr (kind == NormKind::L2) return a + xi * xi;
    else if constexpr (kind == NormKind::L1) return a + std::fabs(xi);
    else {
      const double ax = std::fabs(xi);
      return (ax > a || ax != ax) ? ax : a;
    }
  };
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] = add(acc[j], static_cast<double>(x[i + j]));
  for (; i < n; ++i) acc[0] = add(acc[0], static_cast<double>(x[i]));
  double total = acc[0];
  for (int j = 1; j < kLanes; ++j) total = norm_combine(kind, total, acc[j]);
  return total;
}

template <typename T>
double norm_any(const T* x, int64_t n, NormKind kind) {
  switch (kind) {
    case NormKind::L1: return norm_loop<T, NormKind::L1>(x, n);
    case NormKind::L2: return norm_loop<T, NormKind::L2>(x, n);
    case NormKind::Inf: return norm_loop<T, NormKind::Inf>(x, n);
  }
  return 0.0;
}

inline OptimKernels this_isa_kernels() {
  return {&adamw_loop<float>, &adamw_loop<double>, &norm_any<float>, &norm_any<double>};
}

}  // namespace
}  // namespace pyllm::cpu
