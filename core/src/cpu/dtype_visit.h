// Calls a generic lambda with the C++ element type of a DType: visit_dtype for code that must handle
// every dtype (copy and conversion, fill), visit_numeric for kernels that compute on float32, float64,
// int32 and int64. The half types get small wrapper structs that convert through float.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "pyllm/dtype.h"

namespace pyllm::cpu {

struct half_t { uint16_t bits; };
struct bfloat16_t { uint16_t bits; };

template <typename T> struct type_tag { using type = T; };

template <typename F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(type_tag<float>{});
    case DType::Float64: return f(type_tag<double>{});
    case DType::Float16: return f(type_tag<half_t>{});
    case DType::BFloat16: return f(type_tag<bfloat16_t>{});
    case DType::Int32: return f(type_tag<int32_t>{});
    case DType::Int64: return f(type_tag<int64_t>{});
    case DType::Bool: return f(type_tag<bool>{});
  }
  return f(type_tag<float>{});
}

// f(type_tag<T>) for the numeric dtypes; any other dtype calls nothing (kernels never throw: the op layer
// has already rejected it).
template <typename F>
void visit_numeric(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(type_tag<float>{});
    case DType::Float64: return f(type_tag<double>{});
    case DType::Int32: return f(type_tag<int32_t>{});
    case DType::Int64: return f(type_tag<int64_t>{});
    default: return;
  }
}

// Every element type to and from double (exact for all but int64 beyond 2^53).
template <typename T> inline double to_double(T v) { return static_cast<double>(v); }
template <> inline double to_double(half_t v) { return fp16_to_float(v.bits); }
template <> inline double to_double(bfloat16_t v) { return bf16_to_float(v.bits); }

template <typename T> inline T from_double(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0.0;
  } else if constexpr (std::is_integral_v<T>) {
    // Out-of-range and NaN casts are undefined behaviour in C++; saturate instead.
    if (!(v == v)) return 0;
    if (v <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}
template <> inline half_t from_double(double v) { return half_t{float_to_fp16(static_cast<float>(v))}; }
template <> inline bfloat16_t from_double(double v) { return bfloat16_t{float_to_bf16(static_cast<float>(v))}; }

// Direct conversions, skipping double where a cheaper path exists.
template <typename D, typename S> inline D convert(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<S, half_t> && std::is_same_v<D, float>) {
    return fp16_to_float(v.bits);
  } else if constexpr (std::is_same_v<S, bfloat16_t> && std::is_same_v<D, float>) {
    return bf16_to_float(v.bits);
  } else if constexpr (std::is_same_v<S, float> && std::is_same_v<D, half_t>) {
    return half_t{float_to_fp16(v)};
  } else if constexpr (std::is_same_v<S, float> && std::is_same_v<D, bfloat16_t>) {
    return bfloat16_t{float_to_bf16(v)};
  } else if constexpr (std::is_same_v<S, int64_t> && std::is_integral_v<D> && !std::is_same_v<D, bool>) {
    return static_cast<D>(v);  // int64 -> int32 wraps, as PyTorch's does
  } else if constexpr (std::is_integral_v<S> && !std::is_integral_v<D>) {
    // Round once: int64 -> double -> float32 could round twice. The half types go through float32, as
    // in PyTorch.
    if constexpr (std::is_floating_point_v<D>) return static_cast<D>(v);
    else return convert<D>(static_cast<float>(v));
  } else {
    return from_double<D>(to_double(v));
  }
}

}  // namespace pyllm::cpu
