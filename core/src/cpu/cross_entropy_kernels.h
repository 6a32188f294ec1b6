// Cross-entropy from logits, fused with log_softmax: forward keeps one log-sum-exp per sample (never the
// log-probabilities), backward recomputes softmax from the logits and that log-sum-exp. Logits are viewed
// as (O, C, I) with the classes in the middle: I == 1 for (N, C) input (a row at a time), I > 1 for
// (N, C, d1, ...) (a block of positions at a time, see Rows::for_each_line). Templated on the instruction
// set (see isa_dispatch.h).
//
// With label smoothing e, a sample's loss is (1 - e) * (lse - x_t) + (e / C) * sum_c (lse - x_c)
//   = lse - (1 - e) * x_t - (e / C) * sum_c x_c,
// and its gradient is softmax(x) - (1 - e) * onehot(t) - e / C, scaled by the incoming gradient.
#pragma once

#include "cpu/softmax_kernels.h"

namespace pyllm::cpu {

template <Isa isa, typename T, typename Idx>
struct CrossEntropyKernels {
  using R = Rows<isa, T>;

  // x: (O, C, I) contiguous logits; target: (O, I) ids, each in [0, C) or equal to `ignore`.
  // loss: (O, I) per-sample loss, 0 where ignored; lse: (O, I) log-sum-exp over C in double (split for
  // the backward's x - lse, see Split), saved for backward.
  static void forward(const T* x, const Idx* target, T* loss, double* lse, int64_t O, int64_t C, int64_t I,
                      int64_t ignore, T smoothing);
  // gx: (O, C, I) = scale * (softmax(x) - (1 - smoothing) * onehot(target) - smoothing / C), 0 for ignored
  // samples; each sample's scale is gs[s] when gs is not null (reduction 'none'), else g0.
  static void backward(const T* x, const Idx* target, const double* lse, const T* gs, T g0, T* gx, int64_t O,
                       int64_t C, int64_t I, int64_t ignore, T smoothing);

 private:
  static void forward_row(const T* x, int64_t t, T* loss, double* lse, int64_t C, T smoothing) {
    const T m = R::max(x, C);
    const double l = m + std::log(R::exp_sum(x, m, nullptr, C));
    const double sx = smoothing > T(0) ? R::sum(x, C) : 0.0;
    *lse = l;
    *loss = static_cast<T>(l - (1.0 - smoothing) * x[t] - smoothing / static_cast<double>(C) * sx);
  }

  // x: (C, n) with row stride I; t, loss, lse: (n).
  static void forward_block(const T* x, const Idx* t, T* loss, double* lse, int64_t C, int64_t I, int64_t n,
                            int64_t ignore, T smoothing) {
    T mx[R::kColumnBlock];
    double acc[R::kColumnBlock], sx[R::kColumnBlock];
    R::fill(mx, n, T(-INFINITY));
    for (int64_t j = 0; j < n; ++j) acc[j] = sx[j] = 0;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < n; ++j) {
        const T v = x[c * I + j];
        mx[j] = v > mx[j] ? v : mx[j];
        sx[j] += static_cast<double>(v);
      }
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<double>(exp_fast(x[c * I + j] - mx[j]));
    for (int64_t j = 0; j < n; ++j) {
      const double l = mx[j] + std::log(acc[j]);
      lse[j] = l;
      loss[j] = t[j] == ignore ? T(0)
                               : static_cast<T>(l - (1.0 - smoothing) * x[t[j] * I + j] -
                                                smoothing / static_cast<double>(C) * sx[j]);
    }
  }

  static void backward_row(const T* x, int64_t t, double lse, T scale, T* gx, int64_t C, T smoothing) {
    const T off = scale * smoothing / static_cast<T>(C);
    const Split<T> l(lse);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) gx[c] = scale * exp_fast(l.subtract_from(x[c])) - off;
    gx[t] -= scale * (T(1) - smoothing);
  }

  // x, gx: (C, n) with row stride I; t, lse, scale: (n).
  static void backward_block(const T* x, const Idx* t, const double* lse, const T* scale, T* gx, int64_t C,
                             int64_t I, int64_t n, int64_t ignore, T smoothing) {
    T hi[R::kColumnBlock], lo[R::kColumnBlock], sc[R::kColumnBlock], off[R::kColumnBlock];
    for (int64_t j = 0; j < n; ++j) {
      const bool skip = t[j] == ignore;
      const Split<T> l(skip ? INFINITY : lse[j]);  // exp(x - inf) = 0 and a zero scale: the gradient is 0
      hi[j] = l.hi;
      lo[j] = skip ? T(0) : l.lo;
      sc[j] = skip ? T(0) : scale[j];
      off[j] = sc[j] * smoothing / static_cast<T>(C);
    }
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < n; ++j) gx[c * I + j] = sc[j] * exp_fast((x[c * I + j] - hi[j]) - lo[j]) - off[j];
    for (int64_t j = 0; j < n; ++j)
      if (t[j] != ignore) gx[t[j] * I + j] -= sc[j] * (T(1) - smoothing);
  }
};

// Out of the class (not inline) so that `extern template` below keeps other files from compiling them.
template <Isa isa, typename T, typename Idx>
void CrossEntropyKernels<isa, T, Idx>::forward(const T* x, const Idx* target, T* loss, double* lse, int64_t O,
                                               int64_t C, int64_t I, int64_t ignore, T smoothing) {
  R::for_each_line(
      O, C, I,
      [&](int64_t o) {
        if (target[o] == ignore) {
          loss[o] = T(0);
          lse[o] = 0.0;
        } else {
          forward_row(x + o * C, target[o], loss + o, lse + o, C, smoothing);
        }
      },
      [&](int64_t o, int64_t i0, int64_t n) {
        const int64_t s = o * I + i0;
        forward_block(x + o * C * I + i0, target + s, loss + s, lse + s, C, I, n, ignore, smoothing);
      });
}

template <Isa isa, typename T, typename Idx>
void CrossEntropyKernels<isa, T, Idx>::backward(const T* x, const Idx* target, const double* lse, const T* gs, T g0,
                                                T* gx, int64_t O, int64_t C, int64_t I, int64_t ignore, T smoothing) {
  R::for_each_line(
      O, C, I,
      [&](int64_t o) {
        if (target[o] == ignore) R::fill(gx + o * C, C, T(0));
        else backward_row(x + o * C, target[o], lse[o], gs != nullptr ? gs[o] : g0, gx + o * C, C, smoothing);
      },
      [&](int64_t o, int64_t i0, int64_t n) {
        const int64_t s = o * I + i0;
        T scale[R::kColumnBlock];
        for (int64_t j = 0; j < n; ++j) scale[j] = gs != nullptr ? gs[s + j] : g0;
        backward_block(x + o * C * I + i0, target + s, lse + s, scale, gx + o * C * I + i0, C, I, n, ignore, smoothing);
      });
}

extern template struct CrossEntropyKernels<Isa::Avx2, float, int32_t>;
extern template struct CrossEntropyKernels<Isa::Avx2, float, int64_t>;
extern template struct CrossEntropyKernels<Isa::Avx512, float, int32_t>;
extern template struct CrossEntropyKernels<Isa::Avx512, float, int64_t>;

}  // namespace pyllm::cpu
