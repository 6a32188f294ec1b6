#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// LayerNorm (center = true) and RMSNorm (center = false, no bias) over the last D elements of each row.
// x, y: contiguous (N, D); weight, bias: contiguous (D) or undefined; mean: float64 (N), centering
// only; rstd: (N).
void norm_forward(bool center, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                  const Tensor& mean, const Tensor& rstd, double eps);
// g: contiguous (N, D), the gradient of y. gx (N, D), gweight (D), gbias (D): outputs, each undefined
// when not wanted.
void norm_backward(bool center, const Tensor& x, const Tensor& g, const Tensor& weight, const Tensor& mean,
                   const Tensor& rstd, const Tensor& gx, const Tensor& gweight, const Tensor& gbias);

}  // namespace pyllm::cpu
