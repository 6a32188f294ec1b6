// Batched matrix products over strided tensors, on top of cpu::gemm: what the matmul, bmm and linear
// ops (forward and backward) and other kernels that multiply tensors call.
#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

// a: (*batch, M, K), b: (*batch, K, N), out: (*batch, M, N), float32 or float64, one batch shape for
// all three, any strides: a 0 stride in a or b reuses that operand across a batch dim (broadcasting);
// a 0 stride in out over a batch dim sums the products along it into out (the gradient of a broadcast
// operand). out = a @ b, or out += a @ b when `accumulate`. Transposed operands are read in place.
// out is left untouched when the batch has no elements.
void matmul_into(const Tensor& a, const Tensor& b, const Tensor& out, bool accumulate);

}  // namespace pyllm::cpu
