#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// x: contiguous (O, R, I), float or int; values (x's dtype), indices (int64): contiguous (O, k, I), k <= R.
// The k largest (smallest when !largest) of each column along R. NaN ranks above every number, as in
// torch; equal values keep position order. Sorted by rank when `sorted`, else in no particular order.
void topk_ori(const Tensor& x, int64_t O, int64_t R, int64_t I, int64_t k, bool largest, bool sorted,
              const Tensor& values, const Tensor& indices);

}  // namespace pyllm::cpu
