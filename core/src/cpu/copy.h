#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// dst[i] = convert(src[i]) over dst's shape; src is already broadcast (expanded) to dst's shape.
void copy(const Tensor& dst, const Tensor& src);
// Every element of dst (any strides) set to value converted to dst's dtype.
void fill(const Tensor& dst, double value);
// dst: contiguous 1-D; dst[i] = start + i * step converted to dst's dtype.
void fill_arange(const Tensor& dst, double start, double step);

}  // namespace pyllm::cpu
