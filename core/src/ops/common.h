// Shared by the op files: argument checks that raise the user-facing errors.
#pragma once

#include "pyllm/autograd.h"
#include "pyllm/ops.h"

namespace pyllm::ops {

// TypeError unless x is defined (ValueError) and of a compute floating type (float32 / float64).
void check_float(const Tensor& x, const char* op, const char* arg = "input");
// Same dtype and device for a and b.
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
void check_defined(const Tensor& x, const char* op, const char* arg = "input");
// RuntimeError for a device this build has no kernel for.
[[noreturn]] void unsupported_device(const char* op, Device device);
// In-place writes are not recorded by autograd, so in grad mode neither the destination nor a source may
// require grad (that would silently lose gradient); RuntimeError otherwise. Also rejects a destination
// whose elements overlap (an expanded view).
void check_inplace(const Tensor& dst, const char* op, std::initializer_list<Tensor> sources = {});

}  // namespace pyllm::ops
