#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// x: contiguous, viewed as (O, R, I); out: contiguous (O, I). out[o, i] = sum_r x[o, r, i].
// float32 accumulates in double across blocks; ints and bool are written as int64 (accumulated in uint64,
// so that overflow wraps around as in PyTorch).
void sum_ori(const Tensor& x, int64_t O, int64_t R, int64_t I, const Tensor& out);

}  // namespace pyllm::cpu

namespace pyllm::cpu {

// x: contiguous float (O, R, I), R >= 1; var, mean: contiguous (O, I). Two passes per output, both
// accumulated in double (the mean, then the squared deviations from it: no E[x^2] - E[x]^2 cancellation).
// var = sum of squared deviations / max(0, R - correction), as torch.
void var_ori(const Tensor& x, int64_t O, int64_t R, int64_t I, double correction, const Tensor& var,
             const Tensor& mean);

// x: contiguous (O, R, I), R >= 1, float or int. values (x's dtype) and indices (int64), each contiguous
// (O, I) or undefined: the max (min when !want_max) over R and the first position holding it. NaN counts
// as the extreme, so the first NaN wins, as torch.
void extreme_ori(const Tensor& x, int64_t O, int64_t R, int64_t I, bool want_max, const Tensor& values,
                 const Tensor& indices);

}  // namespace pyllm::cpu
