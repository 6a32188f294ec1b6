#pragma once

#include "pyllm/tensor.h"

namespace pyllm::cpu {

enum class UnaryOp { Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sin, Cos, Tanh, Sigmoid, Relu, Gelu, GeluTanh, Silu };

// x, out: contiguous, same shape and float dtype (Neg and Abs also take ints). out = f(x).
void unary(UnaryOp op, const Tensor& x, const Tensor& out);
// grad_in = grad * f'(x), computed from x and/or out = f(x); all contiguous, same shape and dtype.
void unary_backward(UnaryOp op, const Tensor& x, const Tensor& out, const Tensor& grad, const Tensor& grad_in);

}  // namespace pyllm::cpu
