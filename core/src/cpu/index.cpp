#include "cpu/index.h"

#include <algorithm>
#include <cstring>

#include "pyllm/parallel.h"

namespace pyllm::cpu {

namespace {

template <typename Idx>
IdScan scan(const Idx* ids, int64_t n, int64_t limit, std::optional<int64_t> allowed) {
  IdScan s;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = ids[i];
    if (allowed && id == *allowed) continue;
    if (id < 0 || id >= limit) {
      s.first_bad = id;
      return s;
    }
    ++s.counted;
  }
  return s;
}

template <typename Idx>
void gather(const char* src, const Idx* index, char* out, int64_t O, int64_t V, int64_t K, int64_t row_bytes) {
  parallel_for(0, O * K, std::max<int64_t>(1, 65536 / std::max<int64_t>(row_bytes, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t o = r / K, k = r % K;
      std::memcpy(out + r * row_bytes, src + (o * V + index[k]) * row_bytes, static_cast<size_t>(row_bytes));
    }
  });
}

template <typename T, typename Idx>
void scatter_add(const T* g, const Idx* index, T* gx, int64_t O, int64_t V, int64_t K, int64_t I,
                 std::optional<int64_t> skip) {
  // Enough column blocks (of at least 16 elements) for every thread to have work when O is small.
  const int64_t threads = get_num_threads();
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>((threads + O - 1) / O, (I + 15) / 16));
  const int64_t width = (I + blocks - 1) / blocks;
  const int64_t skip_id = skip ? *skip : -1;
  const int64_t row_bytes = I * static_cast<int64_t>(sizeof(T));
  parallel_for(0, O * V, std::max<int64_t>(1, (1 << 20) / std::max<int64_t>(row_bytes, 1)), [&](int64_t b, int64_t e) {
    std::memset(static_cast<void*>(gx + b * I), 0, static_cast<size_t>((e - b) * row_bytes));
  });
  parallel_for(0, O * blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t task = b; task < e; ++task) {
      const int64_t o = task / blocks, c0 = (task % blocks) * width, c1 = std::min(I, c0 + width);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t id = index[k];
        if (id == skip_id) continue;
        const T* src = g + (o * K + k) * I;
        T* dst = gx + (o * V + id) * I;
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
      }
    }
  });
}

template <typename T>
void scatter_along(const T* g, const int64_t* pos, T* gx, int64_t O, int64_t V, int64_t K, int64_t I) {
  // Different o touch disjoint slabs of gx.
  parallel_for(0, O, std::max<int64_t>(1, 16384 / std::max<int64_t>(K * I, 1)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t i = 0; i < I; ++i) {
          const int64_t at = (o * K + k) * I + i;
          gx[(o * V + pos[at]) * I + i] += g[at];
        }
  });
}

}  // namespace

IdScan scan_ids(const Tensor& ids, int64_t limit, std::optional<int64_t> allowed) {
  if (ids.dtype() == DType::Int32) return scan(ids.data<int32_t>(), ids.numel(), limit, allowed);
  return scan(ids.data<int64_t>(), ids.numel(), limit, allowed);
}

void gather_rows(const Tensor& src, const Tensor& index, const Tensor& out, int64_t O, int64_t V, int64_t I) {
  const int64_t K = index.numel(), row_bytes = I * static_cast<int64_t>(itemsize(src.dtype()));
  const char* s = static_cast<const char*>(src.data_ptr());
  char* d = static_cast<char*>(out.data_ptr());
  if (index.dtype() == DType::Int32) gather(s, index.data<int32_t>(), d, O, V, K, row_bytes);
  else gather(s, index.data<int64_t>(), d, O, V, K, row_bytes);
}

void scatter_add_rows(const Tensor& g, const Tensor& index, const Tensor& gx, int64_t O, int64_t V, int64_t I,
                      std::optional<int64_t> skip) {
  const int64_t K = index.numel();
  auto run = [&](auto t) {
    using T = decltype(t);
    if (index.dtype() == DType::Int32) scatter_add(g.data<T>(), index.data<int32_t>(), gx.data<T>(), O, V, K, I, skip);
    else scatter_add(g.data<T>(), index.data<int64_t>(), gx.data<T>(), O, V, K, I, skip);
  };
  if (g.dtype() == DType::Float32) run(float());
  else run(double());
}

void scatter_add_along(const Tensor& g, const Tensor& pos, const Tensor& gx, int64_t O, int64_t V, int64_t K,
                       int64_t I) {
  if (g.dtype() == DType::Float32) scatter_along(g.data<float>(), pos.data<int64_t>(), gx.data<float>(), O, V, K, I);
  else scatter_along(g.data<double>(), pos.data<int64_t>(), gx.data<double>(), O, V, K, I);
}

}  // namespace pyllm::cpu
