// The elementwise loop: walks an N-d index space once for several operands, each with its own strides
// (0 for a broadcast dim). Dims that are contiguous for every operand are merged first, so a contiguous
// tensor becomes one flat run; the runs are spread over threads.
#pragma once

#include <array>
#include <cstdint>

#include "pyllm/parallel.h"
#include "pyllm/tensor.h"

namespace pyllm::cpu {

template <size_t N>
struct LoopGeometry {
  Shape shape;                     // merged dims, outermost first
  std::array<Strides, N> strides;  // per operand, in elements
};

// Merges dim i into dim i+1 wherever every operand has stride[i] == stride[i+1] * shape[i+1]; drops
// size-1 dims.
template <size_t N>
LoopGeometry<N> merge_dims(const Shape& shape, const std::array<Strides, N>& strides) {
  LoopGeometry<N> g;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool mergeable = !g.shape.empty();
    for (size_t k = 0; k < N && mergeable; ++k) mergeable = g.strides[k].back() == strides[k][d] * shape[d];
    if (mergeable) {
      g.shape.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) g.strides[k].back() = strides[k][d];
    } else {
      g.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) g.strides[k].push_back(strides[k][d]);
    }
  }
  if (g.shape.empty()) {  // a single element
    g.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) g.strides[k].push_back(0);
  }
  return g;
}

// Calls run(offsets, n, inner_strides) for runs of n elements along the innermost merged dim, where
// offsets[k] is operand k's element offset of the run's first element. Runs go to threads in parallel
// once the total work exceeds `grain` elements.
template <size_t N, typename Run>
void for_each_run(const Shape& shape, const std::array<Strides, N>& strides, const Run& run,
                  int64_t grain = 32768) {
  int64_t total = numel_of(shape);
  if (total == 0) return;
  LoopGeometry<N> g = merge_dims<N>(shape, strides);
  const int64_t ndim = static_cast<int64_t>(g.shape.size());
  const int64_t inner = g.shape.back();
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = g.strides[k].back();

  if (ndim == 1) {  // one flat run: split it into pieces
    parallel_for(0, inner, grain, [&](int64_t b, int64_t e) {
      std::array<int64_t, N> offsets;
      for (size_t k = 0; k < N; ++k) offsets[k] = b * inner_strides[k];
      run(offsets, e - b, inner_strides);
    });
    return;
  }
  const int64_t outer = total / inner;
  parallel_for(0, outer, std::max<int64_t>(1, grain / inner), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      std::array<int64_t, N> offsets{};
      int64_t rem = row;
      for (int64_t d = ndim - 2; d >= 0; --d) {
        int64_t idx = rem % g.shape[d];
        rem /= g.shape[d];
        for (size_t k = 0; k < N; ++k) offsets[k] += idx * g.strides[k][d];
      }
      run(offsets, inner, inner_strides);
    }
  });
}

}  // namespace pyllm::cpu
