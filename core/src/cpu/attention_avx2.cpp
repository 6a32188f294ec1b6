// Attention kernels compiled for AVX2 + FMA: 4 x 16 register tiles of 8-float vectors.
#include <immintrin.h>

#include "cpu/attention_impl.h"

namespace pyllm::cpu::attention_avx2 {

namespace {

struct Vec {
  using T = float;
  using V = __m256;
  static constexpr int W = 8, R = 4, NV = 2;  // 8 accumulators + 2 B vectors + 1 broadcast of 16 registers
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V bcast(float s) { return _mm256_set1_ps(s); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static float reduce_max(V v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  static float reduce_add(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  // dst[c * ld_dst + r] = src[r * ld_src + c] for r, c < 8.
  static void transpose(const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld_src);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {  // r[i + c]: column 4 * lane + c of rows i .. i + 3
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int c = 0; c < 4; ++c) {
      _mm256_storeu_ps(dst + c * ld_dst, _mm256_permute2f128_ps(r[c], r[c + 4], 0x20));
      _mm256_storeu_ps(dst + (c + 4) * ld_dst, _mm256_permute2f128_ps(r[c], r[c + 4], 0x31));
    }
  }
};

}  // namespace

void forward(const AttnForwardArgs<float>& a) { forward_impl<Vec>(a); }
void backward(const AttnBackwardArgs<float>& a) { backward_impl<Vec>(a); }

}  // namespace pyllm::cpu::attention_avx2
