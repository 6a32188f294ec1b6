#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

enum class BinaryOp { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge };

// out = op(a, b) elementwise; a and b are already expanded to out's shape (any strides) and share a
// dtype; out has that dtype, or bool for the comparisons.
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace pyllm::cpu
