// Softmax kernels, templated on the instruction set (see isa_dispatch.h). Tensors are viewed as
// (O, C, I): the softmax runs over C, a row at a time when I == 1, else a block of columns at a time
// (Rows::for_each_line).
#pragma once

#include <cmath>
#include <cstdint>

#include "cpu/rows.h"

namespace pyllm::cpu {

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
    if (log) {  // (x - m) - log(sum): x - m is exact near the max, unlike x - (m + log(sum))
      const T ls = static_cast<T>(std::log(R::exp_sum(x, m, nullptr, C)));
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) y[c] = (x[c] - m) - ls;
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
    T mx[R::kColumnBlock];
    double acc[R::kColumnBlock];
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
    T k[R::kColumnBlock];  // log: log(sum); softmax: 1 / sum
    for (int64_t j = 0; j < n; ++j) k[j] = static_cast<T>(log ? std::log(acc[j]) : 1.0 / acc[j]);
    if (log) {
      for (int64_t c = 0; c < C; ++c)
        for (int64_t j = 0; j < n; ++j) y[c * I + j] = (x[c * I + j] - mx[j]) - k[j];
    } else {
      for (int64_t c = 0; c < C; ++c)
        for (int64_t j = 0; j < n; ++j) y[c * I + j] *= k[j];
    }
  }

  static void backward_block(const T* y, const T* g, T* gx, int64_t C, int64_t I, int64_t n, bool log) {
    double sums[R::kColumnBlock];
    for (int64_t j = 0; j < n; ++j) sums[j] = 0;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < n; ++j) sums[j] += static_cast<double>(log ? g[c * I + j] : g[c * I + j] * y[c * I + j]);
    T acc[R::kColumnBlock];
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
  R::for_each_line(
      O, C, I, [&](int64_t o) { forward_row(x + o * C, y + o * C, C, log); },
      [&](int64_t o, int64_t i0, int64_t n) { forward_block(x + o * C * I + i0, y + o * C * I + i0, C, I, n, log); });
}

template <Isa isa, typename T>
void SoftmaxKernels<isa, T>::backward(const T* y, const T* g, T* gx, int64_t O, int64_t C, int64_t I, bool log) {
  R::for_each_line(
      O, C, I, [&](int64_t o) { backward_row(y + o * C, g + o * C, gx + o * C, C, log); },
      [&](int64_t o, int64_t i0, int64_t n) {
        const int64_t off = o * C * I + i0;
        backward_block(y + off, g + off, gx + off, C, I, n, log);
      });
}

extern template struct SoftmaxKernels<Isa::Avx2, float>;
extern template struct SoftmaxKernels<Isa::Avx512, float>;

}  // namespace pyllm::cpu
