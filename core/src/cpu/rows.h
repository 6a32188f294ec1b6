// Row primitives shared by the softmax, cross-entropy and norm kernels (loops over one contiguous run),
// templated on the instruction set like the kernels that use them (see isa_dispatch.h). `omp simd` lets
// GCC reassociate the reductions and vectorize them.
//
// Sums run in T-typed SIMD lanes over blocks of kSumBlock elements (so each lane adds at most
// kSumBlock / lanes terms) and add the block sums in double: a single float running total would round
// away the many tiny terms of a long row (exps of logits far below the max), and a double accumulator
// in the loop costs conversions and a longer dependency chain.
//
// No std:: algorithms here: a kernel compiled per ISA must not emit shared out-of-line instantiations,
// which the linker could hand to the generic path.
#pragma once

#include <cmath>
#include <cstdint>

#include "cpu/isa_dispatch.h"
#include "cpu/vec_math.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

// A double v kept as two T values, v = hi + lo: subtract(x) = (x - hi) - lo is x - v with the rounding of
// one subtraction when x is near v (x - hi is then exact), where x - T(v) would carry v's own rounding
// error, large against x - v when |v| is much larger (rows with a large offset, huge logits).
template <typename T>
struct Split {
  T hi, lo;
  explicit Split(double v) : hi(static_cast<T>(v)), lo(static_cast<T>(v - static_cast<double>(hi))) {}
  T subtract_from(T x) const { return (x - hi) - lo; }
};

template <Isa isa, typename T>
struct Rows {
  static constexpr int64_t kSumBlock = 512;
  // Columns handled together when the reduced dim is not the last one (see for_each_line).
  static constexpr int64_t kColumnBlock = 64;

  // Rows per parallel chunk, for rows of `len` elements: about 16K elements of work each.
  static int64_t grain(int64_t len) { return len >= 16384 ? 1 : 16384 / (len > 0 ? len : 1); }
  // Work over the C dim of an (O, C, I) tensor, across threads: row(o) for each o when I == 1 (each row
  // contiguous), else block(o, i0, n) for each run of n <= kColumnBlock columns i0.. of each o (the
  // kernel walks C with stride I and vectorizes across the n columns: in order, without transposing).
  template <typename Row, typename Block>
  static void for_each_line(int64_t O, int64_t C, int64_t I, const Row& row, const Block& block) {
    if (I == 1) {
      parallel_for(0, O, grain(C), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) row(o);
      });
      return;
    }
    const int64_t blocks = (I + kColumnBlock - 1) / kColumnBlock;
    parallel_for(0, O * blocks, grain(C * (I < kColumnBlock ? I : kColumnBlock)), [&](int64_t b, int64_t e) {
      for (int64_t job = b; job < e; ++job) {
        const int64_t o = job / blocks, i0 = (job % blocks) * kColumnBlock;
        block(o, i0, I - i0 < kColumnBlock ? I - i0 : kColumnBlock);
      }
    });
  }
  static void fill(T* p, int64_t n, T v) {
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  }
  // sum over i < n of term(i) (a T); term may also store, e.g. the exp it computed.
  template <typename Term>
  static double sum_of(int64_t n, const Term& term) {
    double total = 0;
    for (int64_t b = 0; b < n; b += kSumBlock) {
      const int64_t e = b + kSumBlock < n ? b + kSumBlock : n;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = b; i < e; ++i) s += term(i);
      total += static_cast<double>(s);
    }
    return total;
  }
  // x: (n) -> max(x). A NaN may or may not win here; callers rely on it reaching an exp-sum instead.
  static T max(const T* x, int64_t n) {
    T m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
  }
  static double sum(const T* x, int64_t n) {
    return sum_of(n, [&](int64_t i) { return x[i]; });
  }
  static double dot(const T* x, const T* y, int64_t n) {
    return sum_of(n, [&](int64_t i) { return x[i] * y[i]; });
  }
  // sum(exp(x - m)); also stores each exp in y when y is not null.
  static double exp_sum(const T* x, T m, T* y, int64_t n) {
    if (y == nullptr) return sum_of(n, [&](int64_t i) { return exp_fast(x[i] - m); });
    return sum_of(n, [&](int64_t i) {
      const T e = exp_fast(x[i] - m);
      y[i] = e;
      return e;
    });
  }
};

}  // namespace pyllm::cpu
