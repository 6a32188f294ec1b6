#pragma once

#include <vector>

#include "cpu/optim_kernels.h"
#include "pyllm/tensor.h"

namespace pyllm::cpu {

struct AdamwHyper {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // 1-based, after this update
};

// params, grads, exp_avgs, exp_avg_sqs: equal-length lists; entry i of each is contiguous with the same
// numel and float dtype, and no written tensor overlaps another. Updates params, exp_avgs and exp_avg_sqs
// in place; the work is split by element count, so a few huge tensors and many small ones balance.
void adamw_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs, const AdamwHyper& h);

// tensors: contiguous float32/float64. The L1 sum, L2 sum of squares or max |x| of all elements together,
// in double; the same for any thread count (fixed blocks, summed in order).
double norm_reduce(const std::vector<Tensor>& tensors, NormKind kind);

}  // namespace pyllm::cpu
