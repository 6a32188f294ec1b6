#include "cpu/reduce.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "cpu/dtype_visit.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

namespace {

// Sum of a contiguous run: 8 independent partial sums per block (vectorizes and shortens the rounding
// chain), blocks added in A (double for float input).
template <typename T, typename A>
A sum_run(const T* x, int64_t n) {
  using L = std::conditional_t<std::is_floating_point_v<T>, T, A>;  // lanes: float stays float inside a block
  constexpr int64_t kLanes = 8, kBlock = 512;
  A total = 0;
  for (int64_t start = 0; start < n; start += kBlock) {
    int64_t end = std::min(n, start + kBlock);
    L lanes[kLanes] = {};
    int64_t i = start;
    for (; i + kLanes <= end; i += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += static_cast<L>(x[i + l]);
    L block = 0;
    for (int64_t l = 0; l < kLanes; ++l) block += lanes[l];
    for (; i < end; ++i) block += x[i];
    total += static_cast<A>(block);
  }
  return total;
}

template <typename T, typename A, typename O>
void sum_kernel(const T* x, int64_t outer, int64_t R, int64_t I, O* out) {
  if (I == 1) {
    if (outer >= get_num_threads() || R < 65536) {
      parallel_for(0, outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(R, 1)), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) out[o] = static_cast<O>(sum_run<T, A>(x + o * R, R));
      });
      return;
    }
    // Few long rows: split each row across threads.
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t chunks = std::min<int64_t>(64, R / 4096 + 1);
      std::vector<A> partial(chunks, A(0));
      const int64_t step = (R + chunks - 1) / chunks;
      parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
          int64_t s = c * step, t = std::min(R, s + step);
          if (s < t) partial[c] = sum_run<T, A>(x + o * R + s, t - s);
        }
      });
      A total = 0;
      for (A p : partial) total += p;
      out[o] = static_cast<O>(total);
    }
    return;
  }
  // I > 1: accumulate rows of I into an A buffer; parallel over (o, i-block).
  constexpr int64_t kIBlock = 1024;
  const int64_t iblocks = (I + kIBlock - 1) / kIBlock;
  parallel_for(0, outer * iblocks, std::max<int64_t>(1, 8192 / std::max<int64_t>(R, 1)), [&](int64_t b, int64_t e) {
    std::vector<A> acc(kIBlock);
    for (int64_t job = b; job < e; ++job) {
      int64_t o = job / iblocks, i0 = (job % iblocks) * kIBlock, n = std::min(kIBlock, I - i0);
      std::fill(acc.begin(), acc.begin() + n, A(0));
      const T* base = x + o * R * I + i0;
      for (int64_t r = 0; r < R; ++r) {
        const T* row = base + r * I;
        for (int64_t i = 0; i < n; ++i) acc[i] += static_cast<A>(row[i]);
      }
      for (int64_t i = 0; i < n; ++i) out[o * I + i0 + i] = static_cast<O>(acc[i]);
    }
  });
}

// Columns of (O, R, I) handled together when I > 1, each column vectorized across the block.
constexpr int64_t kColBlock = 256;

template <typename T>
void var_kernel(const T* x, int64_t O, int64_t R, int64_t I, double correction, T* var, T* mean) {
  const double divisor = std::max(0.0, static_cast<double>(R) - correction);
  if (I == 1) {
    parallel_for(0, O, std::max<int64_t>(1, 16384 / R), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* row = x + o * R;
        double s = 0, m2 = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t r = 0; r < R; ++r) s += static_cast<double>(row[r]);
        const double mu = s / static_cast<double>(R);
#pragma omp simd reduction(+ : m2)
        for (int64_t r = 0; r < R; ++r) m2 += (static_cast<double>(row[r]) - mu) * (static_cast<double>(row[r]) - mu);
        mean[o] = static_cast<T>(mu);
        var[o] = static_cast<T>(m2 / divisor);
      }
    });
    return;
  }
  const int64_t blocks = (I + kColBlock - 1) / kColBlock;
  parallel_for(0, O * blocks, std::max<int64_t>(1, 64 / R), [&](int64_t b, int64_t e) {
    double s[kColBlock], m2[kColBlock];
    for (int64_t job = b; job < e; ++job) {
      const int64_t o = job / blocks, i0 = (job % blocks) * kColBlock, n = std::min(kColBlock, I - i0);
      const T* base = x + o * R * I + i0;
      for (int64_t j = 0; j < n; ++j) s[j] = m2[j] = 0;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = 0; j < n; ++j) s[j] += static_cast<double>(base[r * I + j]);
      for (int64_t j = 0; j < n; ++j) s[j] /= static_cast<double>(R);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = 0; j < n; ++j) {
          const double d = static_cast<double>(base[r * I + j]) - s[j];
          m2[j] += d * d;
        }
      for (int64_t j = 0; j < n; ++j) {
        mean[o * I + i0 + j] = static_cast<T>(s[j]);
        var[o * I + i0 + j] = static_cast<T>(m2[j] / divisor);
      }
    }
  });
}

// Whether v replaces the current extreme `best`: strictly more extreme (so ties keep the first), or the
// first NaN.
template <bool kMax, typename T>
inline bool beats(T v, T best) {
  return (kMax ? v > best : v < best) || (v != v && best == best);
}

// The extreme of x[b, e) and its first position; `best` and `at` start as x[b] and b.
template <bool kMax, typename T>
void scan_run(const T* x, int64_t b, int64_t e, T& best, int64_t& at) {
  best = x[b];
  at = b;
  for (int64_t r = b + 1; r < e; ++r)
    if (beats<kMax>(x[r], best)) {
      best = x[r];
      at = r;
    }
}

template <bool kMax, typename T>
void extreme_kernel(const T* x, int64_t O, int64_t R, int64_t I, T* values, int64_t* indices) {
  auto put = [&](int64_t out, T best, int64_t at) {
    if (values != nullptr) values[out] = best;
    if (indices != nullptr) indices[out] = at;
  };
  if (I == 1 && O == 1) {
    // One long run (a reduction over everything): per-thread chunks, combined in order so that ties and
    // NaNs resolve to the first position as in a serial scan.
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), R / 32768));
    std::vector<T> best(chunks);
    std::vector<int64_t> at(chunks);
    const int64_t step = (R + chunks - 1) / chunks;
    parallel_for(0, chunks, 0, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) scan_run<kMax>(x, c * step, std::min(R, (c + 1) * step), best[c], at[c]);
    });
    for (int64_t c = 1; c < chunks; ++c)
      if (beats<kMax>(best[c], best[0])) {
        best[0] = best[c];
        at[0] = at[c];
      }
    put(0, best[0], at[0]);
    return;
  }
  if (I == 1) {
    parallel_for(0, O, std::max<int64_t>(1, 16384 / R), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        T best;
        int64_t at;
        scan_run<kMax>(x + o * R, 0, R, best, at);
        put(o, best, at);
      }
    });
    return;
  }
  const int64_t blocks = (I + kColBlock - 1) / kColBlock;
  parallel_for(0, O * blocks, std::max<int64_t>(1, 64 / R), [&](int64_t b, int64_t e) {
    T best[kColBlock];
    int64_t at[kColBlock];
    for (int64_t job = b; job < e; ++job) {
      const int64_t o = job / blocks, i0 = (job % blocks) * kColBlock, n = std::min(kColBlock, I - i0);
      const T* base = x + o * R * I + i0;
      for (int64_t j = 0; j < n; ++j) {
        best[j] = base[j];
        at[j] = 0;
      }
      for (int64_t r = 1; r < R; ++r)
        for (int64_t j = 0; j < n; ++j) {
          const T v = base[r * I + j];
          const bool take = beats<kMax>(v, best[j]);
          best[j] = take ? v : best[j];
          at[j] = take ? r : at[j];
        }
      for (int64_t j = 0; j < n; ++j) put(o * I + i0 + j, best[j], at[j]);
    }
  });
}

template <typename T>
T* data_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

}  // namespace

void var_ori(const Tensor& x, int64_t O, int64_t R, int64_t I, double correction, const Tensor& var,
             const Tensor& mean) {
  if (x.dtype() == DType::Float32)
    var_kernel(x.data<float>(), O, R, I, correction, var.data<float>(), mean.data<float>());
  else
    var_kernel(x.data<double>(), O, R, I, correction, var.data<double>(), mean.data<double>());
}

void extreme_ori(const Tensor& x, int64_t O, int64_t R, int64_t I, bool want_max, const Tensor& values,
                 const Tensor& indices) {
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (want_max) extreme_kernel<true>(x.data<T>(), O, R, I, data_or_null<T>(values), data_or_null<int64_t>(indices));
    else extreme_kernel<false>(x.data<T>(), O, R, I, data_or_null<T>(values), data_or_null<int64_t>(indices));
  });
}

void sum_ori(const Tensor& x, int64_t O, int64_t R, int64_t I, const Tensor& out) {
  switch (x.dtype()) {
    case DType::Float32: return sum_kernel<float, double, float>(x.data<float>(), O, R, I, out.data<float>());
    case DType::Float64: return sum_kernel<double, double, double>(x.data<double>(), O, R, I, out.data<double>());
    // Integers accumulate in uint64: an overflowing int64 sum wraps around as in PyTorch (signed overflow
    // is undefined behaviour in C++).
    case DType::Int32: return sum_kernel<int32_t, uint64_t, int64_t>(x.data<int32_t>(), O, R, I, out.data<int64_t>());
    case DType::Int64: return sum_kernel<int64_t, uint64_t, int64_t>(x.data<int64_t>(), O, R, I, out.data<int64_t>());
    case DType::Bool: return sum_kernel<bool, uint64_t, int64_t>(x.data<bool>(), O, R, I, out.data<int64_t>());
    default: return;
  }
}

}  // namespace pyllm::cpu
