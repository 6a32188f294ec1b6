#include "cpu/reduce.h"

#include <type_traits>
#include <vector>

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

}  // namespace

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
