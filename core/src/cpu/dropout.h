#pragma once

#include <cstdint>

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// x, out: contiguous float (n); mask: contiguous bool (n). Element i draws word i % 4 of Philox counter
// base + i / 4 and is kept when that uniform draw is >= p: the mask depends only on (seed, base, i), not
// on the thread count. out = kept ? x * scale : 0; mask = kept.
void dropout(const Tensor& x, const Tensor& out, const Tensor& mask, double p, double scale, uint64_t seed,
             uint64_t base);
// g, mask, gx: contiguous (n). gx = mask ? g * scale : 0.
void dropout_backward(const Tensor& g, const Tensor& mask, double scale, const Tensor& gx);

}  // namespace pyllm::cpu
