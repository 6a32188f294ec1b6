#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// x, y: contiguous float32/float64 viewed as (O, C, I). y = softmax(x) over C (log_softmax when `log`).
void softmax(const Tensor& x, const Tensor& y, int64_t O, int64_t C, int64_t I, bool log);
// y: the forward output; g: its gradient; gx: the input gradient. All contiguous (O, C, I).
void softmax_backward(const Tensor& y, const Tensor& g, const Tensor& gx, int64_t O, int64_t C, int64_t I, bool log);

}  // namespace pyllm::cpu
