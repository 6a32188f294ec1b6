// A shape seen around one dim as (outer, size, inner): the layout that kernels working along a dim of a
// contiguous tensor (softmax, cross-entropy's class dim, index_select, max/min/topk over a dim) take.
#pragma once

#include "pyllm/tensor.h"

namespace pyllm::ops {

struct DimSplit {
  int64_t outer = 1, size = 1, inner = 1;
};

// `dim` already wrapped; a 0-d shape gives (1, 1, 1).
inline DimSplit split_at(const Shape& shape, int64_t dim) {
  DimSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < dim) s.outer *= shape[d];
    else if (d == dim) s.size = shape[d];
    else s.inner *= shape[d];
  }
  return s;
}

}  // namespace pyllm::ops
