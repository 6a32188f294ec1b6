// float16 / bfloat16 conversions: exhaustive round trips of every half pattern, and float32 -> half over a
// sweep of the whole float32 range checked against a slow reference that rounds in double arithmetic.
#include <cmath>
#include <cstdint>

#include "pyllm/dtype.h"
#include "test_util.h"

using namespace pyllm;

namespace {

// Round-to-nearest-even of |f| onto a grid of `mant_bits` fraction bits with exponent bias `bias` and
// `exp_bits` exponent bits (IEEE layout), computed with frexp and nearbyint in double: independent of
// the bit tricks under test. NaN is handled by the caller.
uint16_t reference_round(float f, int exp_bits, int mant_bits) {
  const int bias = (1 << (exp_bits - 1)) - 1, max_exp = (1 << exp_bits) - 1;
  const uint16_t sign = std::signbit(f) ? static_cast<uint16_t>(1u << (exp_bits + mant_bits)) : 0;
  const uint16_t inf = static_cast<uint16_t>(max_exp << mant_bits);
  double a = std::fabs(static_cast<double>(f));
  if (std::isinf(a)) return sign | inf;
  const double min_normal = std::ldexp(1.0, 1 - bias);
  if (a < min_normal) {  // subnormal grid: multiples of 2^(1 - bias - mant_bits); may round up to normal
    double q = std::nearbyint(a / std::ldexp(1.0, 1 - bias - mant_bits));
    return sign | static_cast<uint16_t>(q);
  }
  int e;
  double m = std::frexp(a, &e);  // a = m 2^e, m in [0.5, 1)
  double q = std::nearbyint((2 * m - 1) * std::ldexp(1.0, mant_bits));
  int biased = e - 1 + bias;
  if (q == std::ldexp(1.0, mant_bits)) {  // rounded up to the next binade
    q = 0;
    ++biased;
  }
  if (biased >= max_exp) return sign | inf;
  return sign | static_cast<uint16_t>((biased << mant_bits) | static_cast<int>(q));
}

// Every 16-bit pattern converts to float32 and back unchanged; NaNs (all exponent bits `exp_mask` set,
// a nonzero fraction) stay NaN.
template <typename ToFloat, typename FromFloat>
void expect_every_pattern_round_trips(ToFloat to_float, FromFloat from_float, uint32_t exp_mask) {
  const uint32_t mant_mask = (exp_mask - 1) & ~exp_mask;  // the bits below the exponent
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = to_float(static_cast<uint16_t>(h));
    if ((h & exp_mask) == exp_mask && (h & mant_mask) != 0) {
      EXPECT(std::isnan(f) && std::isnan(to_float(from_float(f))));
    } else {
      EXPECT(from_float(f) == h);
    }
  }
}

template <typename Fn>
void for_float32_sweep(Fn fn) {
  // A prime step visits every exponent with varied mantissas, both signs, NaNs and infinities.
  for (uint64_t bits = 0; bits < (1ull << 32); bits += 4093) fn(bits_float(static_cast<uint32_t>(bits)));
  const float edges[] = {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, 65536.0f, 6.103515625e-05f,
                         5.9604645e-08f, 2.9802322e-08f, 4.4703484e-08f, 8.940697e-08f, 1.00048828125f,
                         1.00146484375f, 1.00390625f, 1.01171875f, 3.3895314e38f, 3.4028235e38f, 1e-40f,
                         1.1754942e-38f, 9.18355e-41f};
  for (float f : edges) {
    fn(f);
    fn(-f);
  }
}

}  // namespace

PYLLM_TEST(fp16_every_pattern_round_trips) {
  expect_every_pattern_round_trips(fp16_to_float, float_to_fp16, 0x7c00u);
}

PYLLM_TEST(bf16_every_pattern_round_trips) {
  expect_every_pattern_round_trips(bf16_to_float, float_to_bf16, 0x7f80u);
}

PYLLM_TEST(fp16_rounding_matches_reference) {
  int64_t checked = 0;
  for_float32_sweep([&](float f) {
    if (std::isnan(f)) {
      EXPECT(std::isnan(fp16_to_float(float_to_fp16(f))));
      return;
    }
    EXPECT(float_to_fp16(f) == reference_round(f, 5, 10));
    ++checked;
  });
  EXPECT(checked > 1000000);
}

PYLLM_TEST(bf16_rounding_matches_reference) {
  for_float32_sweep([&](float f) {
    if (std::isnan(f)) {
      EXPECT(std::isnan(bf16_to_float(float_to_bf16(f))));
      return;
    }
    EXPECT(float_to_bf16(f) == reference_round(f, 8, 7));
  });
}

PYLLM_TEST(half_conversion_known_values) {
  EXPECT(float_to_fp16(65504.0f) == 0x7bff);             // largest finite
  EXPECT(float_to_fp16(65520.0f) == 0x7c00);             // halfway to 65536: ties to even, which is inf
  EXPECT(float_to_fp16(65519.99f) == 0x7bff);
  EXPECT(float_to_fp16(5.9604645e-08f) == 0x0001);       // smallest subnormal, 2^-24
  EXPECT(float_to_fp16(2.9802322e-08f) == 0x0000);       // 2^-25: a tie, to even (zero)
  EXPECT(float_to_fp16(4.4703484e-08f) == 0x0001);       // 1.5 * 2^-25 rounds up
  EXPECT(float_to_fp16(1.00048828125f) == 0x3c00);       // 1 + 2^-11: tie, down to even
  EXPECT(float_to_fp16(1.00146484375f) == 0x3c02);       // 1 + 3 * 2^-11: tie, up to even
  EXPECT(float_to_fp16(-0.0f) == 0x8000 && float_to_fp16(-INFINITY) == 0xfc00);
  EXPECT(fp16_to_float(0x3555) == 0.333251953125f && fp16_to_float(0x8001) == -5.9604645e-08f);
  EXPECT(float_to_bf16(1.00390625f) == 0x3f80);          // 1 + 2^-8: tie, down to even
  EXPECT(float_to_bf16(1.01171875f) == 0x3f82);          // 1 + 3 * 2^-8: tie, up to even
  EXPECT(float_to_bf16(3.3895314e38f) == 0x7f7f);        // largest finite bfloat16
  EXPECT(float_to_bf16(3.4028235e38f) == 0x7f80);        // FLT_MAX rounds up to inf
  EXPECT(float_to_bf16(9.18355e-41f) == 0x0001);         // bfloat16 keeps float32's subnormals
  EXPECT(bf16_to_float(0xc049) == -3.140625f);
}
