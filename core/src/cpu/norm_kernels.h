// LayerNorm and RMSNorm share one row kernel: RMSNorm is LayerNorm without centering (kCenter = false)
// and without a bias. Templated on the instruction set (see isa_dispatch.h).
//
// Forward per row: mean (LayerNorm only), then rstd = 1 / sqrt(var + eps) with var the mean squared
// deviation (two passes over a row that is still in cache: no cancellation as in E[x^2] - E[x]^2;
// sums as in cpu/rows.h);
// y = xhat * w + b with xhat = (x - mean) * rstd. Both mean (in double) and rstd are saved per row.
// Backward per row: with dxhat = g * w, gx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
// (the mean(dxhat) term only when centering); dw = sum over rows of g * xhat, db = sum of g. Rows are
// split into P parts, each accumulating dw/db into its own slice of a workspace, then the slices are
// summed: no two threads write the same element.
#pragma once

#include <cmath>
#include <cstdint>

#include "cpu/rows.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

template <Isa isa, typename T, bool kCenter>
struct NormKernels {
  using R = Rows<isa, T>;

  // x, y: (N, D) contiguous; w, b: (D) (the caller passes ones and zeros when the op has none); mean: (N),
  // in double (unused without centering); rstd: (N).
  static void forward(const T* x, const T* w, const T* b, T* y, double* mean, T* rstd, int64_t N, int64_t D, T eps);
  // g: (N, D) contiguous; w: (D); gx: (N, D) or null when not wanted; gw, gb: (D), each null when not
  // wanted. work: (P, 2 * D) scratch for the per-part sums of dw and db.
  static void backward(const T* x, const T* g, const T* w, const double* mean, const T* rstd, T* gx, T* gw, T* gb,
                       int64_t N, int64_t D, T* work, int64_t P);

 private:
  // x - mean when centering (with the mean split in two, see Split), x itself otherwise.
  struct Center {
    Split<T> mean;
    explicit Center(double mu) : mean(mu) {}
    T operator()(T v) const {
      if constexpr (kCenter) return mean.subtract_from(v);
      else return v;
    }
  };

  static void forward_row(const T* x, const T* w, const T* b, T* y, double* mean, T* rstd, int64_t D, T eps) {
    // The sum of x - x[0], not of x: lane sums of values with a large common offset would lose their digits.
    if constexpr (kCenter) *mean = x[0] + R::sum_of(D, [&](int64_t j) { return x[j] - x[0]; }) / static_cast<double>(D);
    const Center c(kCenter ? *mean : 0.0);
    const double ss = R::sum_of(D, [&](int64_t j) { return c(x[j]) * c(x[j]); });
    const T r = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(D) + static_cast<double>(eps)));
    *rstd = r;
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) y[j] = c(x[j]) * r * w[j] + b[j];
  }

  // One row: its dw and db terms added into pw and pb, and gx when wanted (two passes).
  static void backward_row(const T* x, const T* g, const T* w, double mu, T r, T* gx, T* pw, T* pb, int64_t D) {
    const Center c(mu);
    double s1 = 0, s2 = 0;  // sum(dxhat), sum(dxhat * xhat), blocked as in Rows::sum_of
    for (int64_t b = 0; b < D; b += R::kSumBlock) {
      const int64_t e = b + R::kSumBlock < D ? b + R::kSumBlock : D;
      T b1 = 0, b2 = 0;
#pragma omp simd reduction(+ : b1, b2)
      for (int64_t j = b; j < e; ++j) {
        const T xhat = c(x[j]) * r, dxhat = g[j] * w[j];
        b1 += dxhat;
        b2 += dxhat * xhat;
        pw[j] += g[j] * xhat;
        pb[j] += g[j];
      }
      s1 += static_cast<double>(b1);
      s2 += static_cast<double>(b2);
    }
    if (gx == nullptr) return;
    const T a = kCenter ? static_cast<T>(s1 / static_cast<double>(D)) : T(0);
    const T k = static_cast<T>(s2 / static_cast<double>(D));
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) gx[j] = r * (g[j] * w[j] - a - c(x[j]) * r * k);
  }
};

// Out of the class (not inline), so that the extern declarations below keep other files from compiling
// them.
template <Isa isa, typename T, bool kCenter>
void NormKernels<isa, T, kCenter>::forward(const T* x, const T* w, const T* b, T* y, double* mean, T* rstd, int64_t N,
                                           int64_t D, T eps) {
  parallel_for(0, N, D >= 16384 ? 1 : 16384 / (D > 0 ? D : 1), [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n)
      forward_row(x + n * D, w, b, y + n * D, kCenter ? mean + n : nullptr, rstd + n, D, eps);
  });
}

template <Isa isa, typename T, bool kCenter>
void NormKernels<isa, T, kCenter>::backward(const T* x, const T* g, const T* w, const double* mean, const T* rstd,
                                            T* gx, T* gw, T* gb, int64_t N, int64_t D, T* work, int64_t P) {
  const int64_t rows_per_part = (N + P - 1) / P;
  parallel_for(0, P, 0, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      T* pw = work + p * 2 * D;
      T* pb = pw + D;
      for (int64_t j = 0; j < 2 * D; ++j) pw[j] = T(0);
      const int64_t end = N < (p + 1) * rows_per_part ? N : (p + 1) * rows_per_part;
      for (int64_t n = p * rows_per_part; n < end; ++n)
        backward_row(x + n * D, g + n * D, w, kCenter ? mean[n] : 0.0, rstd[n], gx != nullptr ? gx + n * D : nullptr,
                     pw, pb, D);
    }
  });
  if (gw == nullptr && gb == nullptr) return;
  // Sum the parts column by column, in double so that the order of the P parts does not matter much.
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
