#pragma once

#include "pyllm/generator.h"
#include "pyllm/tensor.h"

namespace pyllm::cpu {

// out: contiguous float32/float64. Element i is drawn from counter `base + i` (uniform) or `base + i/2`
// (normal, Box-Muller pairs), so the result is independent of how the work is split.
void fill_uniform(const Tensor& out, uint64_t seed, uint64_t base);
void fill_normal(const Tensor& out, uint64_t seed, uint64_t base);
// out: contiguous int32/int64, uniform in [low, high).
void fill_randint(const Tensor& out, int64_t low, int64_t high, uint64_t seed, uint64_t base);

}  // namespace pyllm::cpu
