#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// out = cond ? a : b; cond (bool), a and b are expanded to out's shape; a, b, out share a dtype.
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace pyllm::cpu
