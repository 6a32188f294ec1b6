#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// logits: contiguous float (O, C, I); target: contiguous int32/int64 (O, I), every id in [0, C) or
// equal to ignore_index. loss: (O, I) per-sample losses (0 where ignored); lse: float64 (O, I)
// log-sum-exps.
void cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& loss, const Tensor& lse, int64_t O,
                   int64_t C, int64_t I, int64_t ignore_index, double label_smoothing);
// grad_logits: (O, C, I). Each sample's gradient is scaled by grad_loss[s] when grad_loss is defined
// (contiguous (O, I)), else by `scale`.
void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& grad_loss,
                            double scale, const Tensor& grad_logits, int64_t O, int64_t C, int64_t I,
                            int64_t ignore_index, double label_smoothing);

}  // namespace pyllm::cpu
