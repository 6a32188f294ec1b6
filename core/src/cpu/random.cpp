#include "cpu/random.h"

#include <cmath>

#include "pyllm/parallel.h"

namespace pyllm::cpu {

namespace {

template <typename T>
T uniform_from(const std::array<uint32_t, 4>& w, int pair) {
  if constexpr (std::is_same_v<T, float>) return uniform01f(w[pair]);
  else return uniform01d(w[2 * pair], w[2 * pair + 1]);
}

template <typename T>
void uniform_kernel(T* out, int64_t n, uint64_t seed, uint64_t base) {
  parallel_for(0, n, 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = uniform_from<T>(philox4x32(seed, base + i), 0);
  });
}

template <typename T>
void normal_kernel(T* out, int64_t n, uint64_t seed, uint64_t base) {
  const int64_t pairs = (n + 1) / 2;
  parallel_for(0, pairs, 8192, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      auto w = philox4x32(seed, base + p);
      T u1 = uniform_from<T>(w, 0), u2 = uniform_from<T>(w, 1);
      T radius = std::sqrt(T(-2) * std::log(T(1) - u1));  // 1 - u1 is in (0, 1]: the log is finite
      T angle = T(6.283185307179586) * u2;
      out[2 * p] = radius * std::cos(angle);
      if (2 * p + 1 < n) out[2 * p + 1] = radius * std::sin(angle);
    }
  });
}

template <typename T>
void randint_kernel(T* out, int64_t n, int64_t low, int64_t high, uint64_t seed, uint64_t base) {
  // In unsigned arithmetic: high - low can exceed INT64_MAX.
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  parallel_for(0, n, 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      auto w = philox4x32(seed, base + i);
      uint64_t r = (static_cast<uint64_t>(w[0]) << 32) | w[1];  // 64 bits: modulo bias below 2^-32
      out[i] = static_cast<T>(static_cast<int64_t>(static_cast<uint64_t>(low) + r % range));
    }
  });
}

}  // namespace

void fill_uniform(const Tensor& out, uint64_t seed, uint64_t base) {
  if (out.dtype() == DType::Float32) uniform_kernel(out.data<float>(), out.numel(), seed, base);
  else uniform_kernel(out.data<double>(), out.numel(), seed, base);
}

void fill_normal(const Tensor& out, uint64_t seed, uint64_t base) {
  if (out.dtype() == DType::Float32) normal_kernel(out.data<float>(), out.numel(), seed, base);
  else normal_kernel(out.data<double>(), out.numel(), seed, base);
}

void fill_randint(const Tensor& out, int64_t low, int64_t high, uint64_t seed, uint64_t base) {
  if (out.dtype() == DType::Int32) randint_kernel(out.data<int32_t>(), out.numel(), low, high, seed, base);
  else randint_kernel(out.data<int64_t>(), out.numel(), low, high, seed, base);
}

}  // namespace pyllm::cpu
