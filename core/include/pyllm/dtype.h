// Element types. float32 and float64 are compute types (float64 exists for finite-difference gradient
// checks); float16 and bfloat16 are storage types that convert to and from float32; int32/int64 hold ids
// and indices; bool holds masks.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace pyllm {

enum class DType : uint8_t { Float32, Float64, Float16, BFloat16, Int32, Int64, Bool };

size_t itemsize(DType dtype);
const char* dtype_name(DType dtype);  // "float32", ... as PyTorch spells them
inline bool is_floating(DType d) {
  return d == DType::Float32 || d == DType::Float64 || d == DType::Float16 || d == DType::BFloat16;
}
// Types that arithmetic kernels compute in; half types are storage only.
inline bool is_compute_float(DType d) { return d == DType::Float32 || d == DType::Float64; }
inline bool is_integral(DType d) { return d == DType::Int32 || d == DType::Int64; }

// Scalar C++ type -> DType.
template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };

// IEEE binary16 and bfloat16 bit conversions, round-to-nearest-even (as PyTorch and NumPy do).
inline uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

inline uint16_t float_to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_to_float(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

uint16_t float_to_fp16(float f);
float fp16_to_float(uint16_t h);

}  // namespace pyllm
