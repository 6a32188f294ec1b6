// What layer_norm and rms_norm share: argument checks, the fused kernels, the backward record.
#pragma once

#include "pyllm/tensor.h"

namespace pyllm::ops {

// LayerNorm when `center` (weight and bias optional), RMSNorm otherwise (bias undefined). `op` names the
// op in errors and `node` the backward node.
Tensor normalize(const char* op, const char* node, bool center, const Tensor& x, const Shape& normalized_shape,
                 const Tensor& weight, const Tensor& bias, double eps);

}  // namespace pyllm::ops
