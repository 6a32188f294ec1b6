#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// x: contiguous, viewed as (O, R, I); out: contiguous (O, I). out[o, i] = sum_r x[o, r, i].
// float32 accumulates in double across blocks; ints and bool are written as int64 (accumulated in uint64,
// so that overflow wraps around as in PyTorch).
void sum_ori(const Tensor& x, int64_t O, int64_t R, int64_t I, const Tensor& out);

}  // namespace pyllm::cpu
