// Row gathers and scatter-adds along one dim, shared by embedding, index_select (forward: gather;
// backward: scatter-add) and by the backward of max/min/topk over a dim (scatter to saved positions).
#pragma once

#include <optional>

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// ids: contiguous int32/int64. How many ids lie in [0, limit) and differ from `allowed`, and the first id
// that is neither in [0, limit) nor equal to `allowed` (the op raises IndexError naming it).
struct IdScan {
  int64_t counted = 0;
  std::optional<int64_t> first_bad;
};
IdScan scan_ids(const Tensor& ids, int64_t limit, std::optional<int64_t> allowed = std::nullopt);

// src: contiguous (O, V, I), any dtype; index: contiguous (K) int32/int64 in [0, V); out: contiguous
// (O, K, I). out[o, k, :] = src[o, index[k], :].
void gather_rows(const Tensor& src, const Tensor& index, const Tensor& out, int64_t O, int64_t V, int64_t I);
// g: contiguous float (O, K, I); gx: contiguous (O, V, I), uninitialized: this zero-fills it (a parallel
// memset, which also first-touches fresh pages from every thread), then adds
// gx[o, index[k], :] += g[o, k, :] for every k whose index differs from `skip` (a padding row).
// Race-free in parallel: each task owns a block of columns of one o and walks every k for it.
void scatter_add_rows(const Tensor& g, const Tensor& index, const Tensor& gx, int64_t O, int64_t V, int64_t I,
                      std::optional<int64_t> skip = std::nullopt);
// g: contiguous float (O, K, I); pos: contiguous int64 (O, K, I) holding positions in [0, V) along the
// middle dim; gx: contiguous (O, V, I), zero-filled. gx[o, pos[o, k, i], i] += g[o, k, i].
void scatter_add_along(const Tensor& g, const Tensor& pos, const Tensor& gx, int64_t O, int64_t V, int64_t K,
                       int64_t I);

}  // namespace pyllm::cpu
