// Softmax kernels, templated on the instruction set (see isa_dispatch.h), and the row primitives that
// cross-entropy shares with them. Tensors are viewed as (O, C, I): the softmax runs over C. I == 1 (the
// last dim) walks each row in order; I > 1 works on blocks of up to kBlock columns at once, so a softmax
// over an inner dim reads memory in order without transposing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cpu/isa_dispatch.h"
#include "cpu/vec_math.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

// Loops over a contiguous run; `omp simd` lets GCC reassociate the reductions and vectorize them. Sums
// accumulate in double: in float, the many tiny terms of a long row (exps of logits far below the max)
// would be rounded away against a running total near 1. (No std:: algorithms in kernels compiled per
// ISA: their shared out-of-line instantiations could leak AVX code into the generic path.)
template <Isa isa, typename T>
struct Rows {
  // Rows per parallel chunk, for rows of `len` elements: about 16K elements of work each.
  static int64_t grain(int64_t len) { return len >= 16384 ? 1 : 16384 / (len > 0 ? len : 1); }
  static void fill(T* p, int64_t n, T v) {
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  }
  // x: (n) -> max(x). A NaN may or may not win here; callers rely on it reaching the exp-sum instead.
  static T max(const T* x, int64_t n) {
    T m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
  }
  // x: (n) -> sum(x).
  static double sum(const T* x, int64_t n) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]);
    return s;
  }
  // x: (n) -> sum(x * y).
  static double dot(const T* x, const T* y, int64_t n) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i] * y[i]);
    return s;
  }
  // x: (n) -> sum(exp(x - m)); also stores each exp in y when y is not null.
  static double exp_sum(const T* x, T m, T* y, int64_t n) {
    double s = 0;
    if (y != nullptr) {
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) {
        T e = exp_fast(x[i] - m);
        y[i] = e;
        s += static_cast<double>(e);
      }
    } else {
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) s += static_cast<double>(exp_fast(x[i] - m));
    }
    return s;
  }
};

// Columns processed together when the softmax dim is not the last one.
constexpr int64_t kSoftmaxBlock = 64;

template <Isa isa, typename T>
struct SoftmaxKernels {
  using R = Rows<isa, T>;

  // x, y: (O, C, I) contiguous. y = softmax(x) over C, or log_softmax when `log`.
  static void forward(const T* x, T* y, int64_t O, int64_t C, int64_t I, bool log);
  // y: the forward output, g: its gradient, gx: the input's gradient; all (O, C, I) contiguous.
  // softmax: gx = y * (g - sum(g * y)); log_softmax: gx = g - exp(y) * sum(g).
  static void backward(const T* y, const T* g, T* gx, int64_t O, int64_t C, int64_t I, bool log);

 private:
  // x, y: (C). Subtracting the max keeps exp in range; a NaN anywhere makes the sum (so the row) NaN.
  static void forward_row(const T* x, T* y, int64_t C, bool log) {
    const T m = R::max(x, C);
    if (log) {
      const T shift = static_cast<T>(m + std::log(R::exp_sum(x, m, nullptr, C)));
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) y[c] = x[c] - shift;
    } else {
      const T inv = static_cast<T>(1.0 / R::exp_sum(x, m, y, C));
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) y[c] *= inv;
    }
  }

  static void backward_row(const T* y, const T* g, T* gx, int64_t C, bool log) {
    if (log) {
      const T sg = static_cast<T>(R::sum(g, C));
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) gx[c] = g[c] - exp_fast(y[c]) * sg;
    } else {
      const T dot = static_cast<T>(R::dot(g, y, C));
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) gx[c] = y[c] * (g[c] - dot);
    }
  }

  // x, y: (C, n) with row stride I: n columns, each softmaxed over C, vectorized across columns.
  static void forward_block(const T* x, T* y, int64_t C, int64_t I, int64_t n, bool log) {
    T mx[kSoftmaxBlock];
    double acc[kSoftmaxBlock];
    R::fill(mx, n, T(-INFINITY));
    for (int64_t j = 0; j < n; ++j) acc[j] = 0;
    for (int64_t c = 0; c < C; ++c) {
      const T* row = x + c * I;
      for (int64_t j = 0; j < n; ++j) mx[j] = row[j] > mx[j] ? row[j] : mx[j];
    }
    for (int64_t c = 0; c < C; ++c) {
      const T* row = x + c * I;
      T* out = y + c * I;
      if (log) {
        for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<double>(exp_fast(row[j] - mx[j]));
      } else {
        for (int64_t j = 0; j < n; ++j) {
          T e = exp_fast(row[j] - mx[j]);
          out[j] = e;
          acc[j] += static_cast<double>(e);
        }
      }
    }
    T k[kSoftmaxBlock];  // log: the shift m + log(sum); softmax: 1 / sum
    for (int64_t j = 0; j < n; ++j) k[j] = static_cast<T>(log ? mx[j] + std::log(acc[j]) : 1.0 / acc[j]);
    if (log) {
      for (int64_t c = 0; c < C; ++c)
        for (int64_t j = 0; j < n; ++j) y[c * I + j] = x[c * I + j] - k[j];
    } else {
      for (int64_t c = 0; c < C; ++c)
        for (int64_t j = 0; j < n; ++j) y[c * I + j] *= k[j];
    }
  }

  static void backward_block(const T* y, const T* g, T* gx, int64_t C, int64_t I, int64_t n, bool log) {
    double sums[kSoftmaxBlock];
    for (int64_t j = 0; j < n; ++j) sums[j] = 0;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < n; ++j) sums[j] += static_cast<double>(log ? g[c * I + j] : g[c * I + j] * y[c * I + j]);
    T acc[kSoftmaxBlock];
    for (int64_t j = 0; j < n; ++j) acc[j] = static_cast<T>(sums[j]);
    for (int64_t c = 0; c < C; ++c) {
      const int64_t r = c * I;
      if (log) {
        for (int64_t j = 0; j < n; ++j) gx[r + j] = g[r + j] - exp_fast(y[r + j]) * acc[j];
      } else {
        for (int64_t j = 0; j < n; ++j) gx[r + j] = y[r + j] * (g[r + j] - acc[j]);
      }
    }
  }
};

// Defined out of the class so that they are not inline: `extern template` then really keeps the
// generic files from compiling (or inlining) the per-ISA instantiations.
template <Isa isa, typename T>
void SoftmaxKernels<isa, T>::forward(const T* x, T* y, int64_t O, int64_t C, int64_t I, bool log) {
  if (I == 1) {
    parallel_for(0, O, R::grain(C), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) forward_row(x + o * C, y + o * C, C, log);
    });
    return;
  }
  const int64_t blocks = (I + kSoftmaxBlock - 1) / kSoftmaxBlock;
  parallel_for(0, O * blocks, R::grain(C * std::min(I, kSoftmaxBlock)), [&](int64_t b, int64_t e) {
    for (int64_t job = b; job < e; ++job) {
      const int64_t o = job / blocks, i0 = (job % blocks) * kSoftmaxBlock;
      const int64_t off = o * C * I + i0;
      forward_block(x + off, y + off, C, I, std::min(kSoftmaxBlock, I - i0), log);
    }
  });
}

template <Isa isa, typename T>
void SoftmaxKernels<isa, T>::backward(const T* y, const T* g, T* gx, int64_t O, int64_t C, int64_t I, bool log) {
  if (I == 1) {
    parallel_for(0, O, R::grain(C), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) backward_row(y + o * C, g + o * C, gx + o * C, C, log);
    });
    return;
  }
  const int64_t blocks = (I + kSoftmaxBlock - 1) / kSoftmaxBlock;
  parallel_for(0, O * blocks, R::grain(C * std::min(I, kSoftmaxBlock)), [&](int64_t b, int64_t e) {
    for (int64_t job = b; job < e; ++job) {
      const int64_t o = job / blocks, i0 = (job % blocks) * kSoftmaxBlock;
      const int64_t off = o * C * I + i0;
      backward_block(y + off, g + off, gx + off, C, I, std::min(kSoftmaxBlock, I - i0), log);
    }
  });
}

extern template struct SoftmaxKernels<Isa::Avx2, float>;
extern template struct SoftmaxKernels<Isa::Avx512, float>;

}  // namespace pyllm::cpu
