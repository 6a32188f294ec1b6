// Python scalars meeting tensors: `t + 2`, `2.5 * t`, `t.item()`.
#pragma once

#include <optional>
#include <utility>

#include <pybind11/pybind11.h>

#include "pyllm/tensor.h"

namespace pyllm::bindings {

// Pairs `self` with `other` as a tensor: a tensor is taken as is; a Python (or NumPy) bool, int or float
// becomes a 0-d tensor of self's dtype, after promoting self as PyTorch does (int tensor with a float
// scalar -> float32, bool tensor with an int scalar -> int64). nullopt for anything else.
std::optional<std::pair<Tensor, Tensor>> tensor_and_operand(const Tensor& self, const pybind11::handle& other);

// The value of a one-element tensor as a Python bool, int or float.
pybind11::object item(const Tensor& t);

}  // namespace pyllm::bindings
