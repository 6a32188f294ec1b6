// Shared by the op files: argument checks that raise the user-facing errors, and dtype dispatch.
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

// PYLLM_DISPATCH_FLOAT(x.dtype(), "exp", [&] { kernel<scalar_t>(...); });
#define PYLLM_DISPATCH_FLOAT(dtype, op, ...)                                                   \
  [&] {                                                                                        \
    switch (dtype) {                                                                           \
      case ::pyllm::DType::Float32: { using scalar_t = float; return __VA_ARGS__(); }           \
      case ::pyllm::DType::Float64: { using scalar_t = double; return __VA_ARGS__(); }          \
      default:                                                                                 \
        PYLLM_FAIL(TypeError, op << ": expected a float32 or float64 tensor, got "              \
                                  << ::pyllm::dtype_name(dtype));                              \
    }                                                                                          \
  }()

// Floating plus integer types (arithmetic that makes sense on ids).
#define PYLLM_DISPATCH_NUMERIC(dtype, op, ...)                                                 \
  [&] {                                                                                        \
    switch (dtype) {                                                                           \
      case ::pyllm::DType::Float32: { using scalar_t = float; return __VA_ARGS__(); }           \
      case ::pyllm::DType::Float64: { using scalar_t = double; return __VA_ARGS__(); }          \
      case ::pyllm::DType::Int32: { using scalar_t = int32_t; return __VA_ARGS__(); }           \
      case ::pyllm::DType::Int64: { using scalar_t = int64_t; return __VA_ARGS__(); }           \
      default:                                                                                 \
        PYLLM_FAIL(TypeError, op << ": expected a float32, float64, int32 or int64 tensor, got " \
                                  << ::pyllm::dtype_name(dtype));                              \
    }                                                                                          \
  }()

// Every dtype with a C++ arithmetic type (the half types are handled by conversion code).
#define PYLLM_DISPATCH_ALL_BUT_HALF(dtype, op, ...)                                            \
  [&] {                                                                                        \
    switch (dtype) {                                                                           \
      case ::pyllm::DType::Float32: { using scalar_t = float; return __VA_ARGS__(); }           \
      case ::pyllm::DType::Float64: { using scalar_t = double; return __VA_ARGS__(); }          \
      case ::pyllm::DType::Int32: { using scalar_t = int32_t; return __VA_ARGS__(); }           \
      case ::pyllm::DType::Int64: { using scalar_t = int64_t; return __VA_ARGS__(); }           \
      case ::pyllm::DType::Bool: { using scalar_t = bool; return __VA_ARGS__(); }               \
      default:                                                                                 \
        PYLLM_FAIL(TypeError, op << ": not supported for " << ::pyllm::dtype_name(dtype)        \
                                  << " tensors; convert with .float() first");                 \
    }                                                                                          \
  }()
