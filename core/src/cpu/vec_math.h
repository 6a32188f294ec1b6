// Branch-free float math that GCC vectorizes (libm's expf does not vectorize without -ffast-math). Used by
// every kernel that exponentiates: softmax, attention, sigmoid, silu, gelu, tanh, cross-entropy.
// The functions are `static`: files compiled for AVX-512 or AVX2 include this header too, and a shared
// (external) inline copy could be picked by the linker for the generic code, which would then fault on
// CPUs without those instructions. Each file keeps its own copy instead.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace pyllm::cpu {

// exp(x) for float, within 2 ulp over the whole range; exp(-inf) = 0, exp(x > 88.72) = inf, NaN -> NaN.
// Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r (Cephes).
static inline float exp_fast(float x) {
  // Clamped with selects: std::fmin/fmax are library calls for GCC (NaN rules), which stop vectorization.
  // A NaN clamps to -104 here and is returned as itself at the end.
  float clamped = x > -104.0f ? x : -104.0f;
  clamped = clamped < 88.7228394f ? clamped : 88.7228394f;
  const float n = std::nearbyint(clamped * 1.44269504088896341f);
  float r = std::fma(n, -0.693359375f, clamped);
  r = std::fma(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  p = std::fma(p, r * r, r) + 1.0f;
  // 2^n in two steps so that n down to -150 (subnormal results) and up to 128 are exact.
  int32_t ni = static_cast<int32_t>(n);
  int32_t half = ni / 2;
  uint32_t b1 = static_cast<uint32_t>(half + 127) << 23, b2 = static_cast<uint32_t>(ni - half + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  float result = p * s1 * s2;
  result = x > 88.7228394f ? INFINITY : result;
  return x != x ? x : result;
}

static inline double exp_fast(double x) { return std::exp(x); }

// tanh(|x|) = 1 - 2 / (exp(2|x|) + 1), which cancels badly near 0, so below 0.3 the Taylor series to
// x^9 is used instead (its truncation error there is under 2e-8).
static inline float tanh_fast(float x) {
  float a = std::fabs(x);
  float t = 1.0f - 2.0f / (exp_fast(2.0f * a) + 1.0f);
  float a2 = a * a;
  float series = a + a * a2 * (-0.333333333f + a2 * (0.133333333f + a2 * (-0.0539682540f + a2 * 0.0218694885f)));
  t = a < 0.3f ? series : t;
  return std::copysign(t, x);
}
static inline double tanh_fast(double x) { return std::tanh(x); }

static inline float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }
static inline double sigmoid_fast(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace pyllm::cpu

namespace pyllm::cpu {

// erfc(|x|) via the Chebyshev fit of Numerical Recipes (erfcc, relative error < 1.2e-7 everywhere).
static inline float erfc_abs_fast(float x) {
  float z = std::fabs(x);
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly = -0.82215223f + t * 0.17087277f;
  poly = 1.48851587f + t * poly;
  poly = -1.13520398f + t * poly;
  poly = 0.27886807f + t * poly;
  poly = -0.18628806f + t * poly;
  poly = 0.09678418f + t * poly;
  poly = 0.37409196f + t * poly;
  poly = 1.00002368f + t * poly;
  poly = -1.26551223f + t * poly;
  return t * exp_fast(-z * z + poly);
}

// erf(x) = sign(x) (1 - erfc(|x|)).
static inline float erf_fast(float x) { return std::copysign(1.0f - erfc_abs_fast(x), x); }
static inline double erf_fast(double x) { return std::erf(x); }

}  // namespace pyllm::cpu
