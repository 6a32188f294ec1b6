// LayerNorm and RMSNorm share one row kernel: RMSNorm is LayerNorm without centering (kCenter = false)
// and without a bias. Templated on the instruction set (see isa_dispatch.h).
//
// Forward per row: mean (LayerNorm only), then rstd = 1 / sqrt(var + eps) with var the mean squared
// deviation (two passes over a row that is still in cache: no cancellation as in E[x^2] - E[x]^2);
// y = xhat * w + b with xhat = (x - mean) * rstd. Both mean (in double) and rstd are saved per row.
// Backward per row: with dxhat = g * w, gx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
// (the mean(dxhat) term only when centering); dw = sum over rows of g * xhat, db = sum of g. Rows are
// split into P parts, each accumulating dw/db into its own slice of a workspace, then the slices are
// summed: no two threads write the same element.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cpu/isa_dispatch.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

template <Isa isa, typename T, bool kCenter>
struct NormKernels {
  // x, y: (N, D) contiguous; w, b: (D) or null; mean: (N), in double (unused without centering);
  // rstd: (N).
  static void forward(const T* x, const T* w, const T* b, T* y, double* mean, T* rstd, int64_t N, int64_t D, T eps);
  // g: (N, D) contiguous; gx: (N, D), gw: (D), gb: (D), each null when not wanted; w: (D) or null.
  // work: (P, 2 * D) scratch for the per-part sums of dw and db.
  static void backward(const T* x, const T* g, const T* w, const double* mean, const T* rstd, T* gx, T* gw, T* gb,
                       int64_t N, int64_t D, T* work, int64_t P);

 private:
  // x - mean, with the mean as a float pair hi + lo: x - hi is exact for x near the mean (Sterbenz), so
  // rows with a large offset keep their small deviations (a single rounded mean would shift them all).
  struct Center {
    T hi, lo;
    explicit Center(double mu) : hi(static_cast<T>(mu)), lo(static_cast<T>(mu - static_cast<double>(hi))) {}
    T operator()(T v) const {
      if constexpr (kCenter) return (v - hi) - lo;
      else return v;
    }
  };

  static void forward_row(const T* x, const T* w, const T* b, T* y, double* mean, T* rstd, int64_t D, T eps) {
    // Statistics accumulate in double (cheap next to the memory traffic, and exact enough for any D).
    double sum = 0;
    if constexpr (kCenter) {
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < D; ++j) sum += static_cast<double>(x[j]);
      *mean = sum / static_cast<double>(D);
    }
    const Center c(kCenter ? *mean : 0.0);
    double ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t j = 0; j < D; ++j) ss += static_cast<double>(c(x[j]) * c(x[j]));
    const T r = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(D) + static_cast<double>(eps)));
    *rstd = r;
    if (w != nullptr && b != nullptr) {
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) y[j] = c(x[j]) * r * w[j] + b[j];
    } else if (w != nullptr) {
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) y[j] = c(x[j]) * r * w[j];
    } else if (b != nullptr) {
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) y[j] = c(x[j]) * r + b[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) y[j] = c(x[j]) * r;
    }
  }

  // One row's contribution: gx (if wanted), and dw/db added into pw/pb (if not null).
  static void backward_row(const T* x, const T* g, const T* w, double mu, T r, T* gx, T* pw, T* pb, int64_t D) {
    const Center c(mu);
    if (pw != nullptr) {
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) pw[j] += g[j] * c(x[j]) * r;
    }
    if (pb != nullptr) {
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) pb[j] += g[j];
    }
    if (gx == nullptr) return;
    double s1 = 0, s2 = 0;  // sum(dxhat), sum(dxhat * xhat)
    if (w != nullptr) {
#pragma omp simd reduction(+ : s1, s2)
      for (int64_t j = 0; j < D; ++j) {
        const T d = g[j] * w[j];
        s1 += static_cast<double>(d);
        s2 += static_cast<double>(d * c(x[j]) * r);
      }
    } else {
#pragma omp simd reduction(+ : s1, s2)
      for (int64_t j = 0; j < D; ++j) {
        s1 += static_cast<double>(g[j]);
        s2 += static_cast<double>(g[j] * c(x[j]) * r);
      }
    }
    const T a = kCenter ? static_cast<T>(s1 / static_cast<double>(D)) : T(0);
    const T k = static_cast<T>(s2 / static_cast<double>(D));
    if (w != nullptr) {
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) gx[j] = r * (g[j] * w[j] - a - c(x[j]) * r * k);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) gx[j] = r * (g[j] - a - c(x[j]) * r * k);
    }
  }
};

// Out of the class (not inline) so that `extern template` below keeps other files from compiling them.
template <Isa isa, typename T, bool kCenter>
void NormKernels<isa, T, kCenter>::forward(const T* x, const T* w, const T* b, T* y, double* mean, T* rstd, int64_t N,
                                           int64_t D, T eps) {
  parallel_for(0, N, D >= 16384 ? 1 : 16384 / (D > 0 ? D : 1), [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n)
      forward_row(x + n * D, w, b, y + n * D, kCenter ? mean + n : nullptr, rstd + n, D, eps);
  });
}

template <Isa isa, typename T, bool kCenter>
void NormKernels<isa, T, kCenter>::backward(const T* x, const T* g, const T* w, const double* mean, const T* rstd, T* gx,
                                            T* gw, T* gb, int64_t N, int64_t D, T* work, int64_t P) {
  const bool partials = gw != nullptr || gb != nullptr;
  const int64_t rows_per_part = (N + P - 1) / P;
  parallel_for(0, P, 0, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      T* pw = gw != nullptr ? work + p * 2 * D : nullptr;
      T* pb = gb != nullptr ? work + p * 2 * D + D : nullptr;
      if (partials)
        for (int64_t j = 0; j < 2 * D; ++j) work[p * 2 * D + j] = T(0);
      const int64_t end = std::min(N, (p + 1) * rows_per_part);
      for (int64_t n = p * rows_per_part; n < end; ++n)
        backward_row(x + n * D, g + n * D, w, kCenter ? mean[n] : 0.0, rstd[n], gx != nullptr ? gx + n * D : nullptr,
                     pw, pb, D);
    }
  });
  if (!partials) return;
  // Sum the parts column by column, in double so that the order of P parts does not matter much.
  parallel_for(0, D, 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      double sw = 0, sb = 0;
      for (int64_t p = 0; p < P; ++p) {
        sw += static_cast<double>(work[p * 2 * D + j]);
        sb += static_cast<double>(work[p * 2 * D + D + j]);
      }
      if (gw != nullptr) gw[j] = static_cast<T>(sw);
      if (gb != nullptr) gb[j] = static_cast<T>(sb);
    }
  });
}

extern template struct NormKernels<Isa::Avx2, float, true>;
extern template struct NormKernels<Isa::Avx2, float, false>;
extern template struct NormKernels<Isa::Avx512, float, true>;
extern template struct NormKernels<Isa::Avx512, float, false>;

}  // namespace pyllm::cpu
