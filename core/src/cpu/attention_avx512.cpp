// Attention kernels compiled for AVX-512: 4 x 64 register tiles of 16-float vectors.
#include <immintrin.h>

#include "cpu/attention_impl.h"

namespace pyllm::cpu::attention_avx512 {

namespace {

// GCC 12 wrongly reports the _mm512_undefined_ps inside several AVX-512 intrinsics as uninitialized
// (bug 105593); the pragmas silence that for these wrappers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
struct Vec {
  using T = float;
  using V = __m512;
  static constexpr int W = 16, R = 4, NV = 4;  // 16 accumulators + 4 B vectors + 1 broadcast of 32 registers
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V bcast(float s) { return _mm512_set1_ps(s); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static float reduce_max(V v) { return _mm512_reduce_max_ps(v); }
  static float reduce_add(V v) { return _mm512_reduce_add_ps(v); }
  // dst[c * ld_dst + r] = src[r * ld_src + c] for r, c < 16: two rounds of unpacks inside 128-bit
  // lanes, then two rounds of lane shuffles.
  static void transpose(const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ld_src);
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {  // r[i + c]: column 4 * lane + c of rows i .. i + 3
      for (int c = 0; c < 2; ++c) {
        __m512d lo = _mm512_castps_pd(t[i + c]), hi = _mm512_castps_pd(t[i + c + 2]);
        r[i + 2 * c] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, hi));
        r[i + 2 * c + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, hi));
      }
    }
    for (int c = 0; c < 4; ++c) {  // t[c]: columns c, c + 8; t[c + 4]: columns c + 4, c + 12 (of rows 0-7, 8-15)
      t[c] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0x88);
      t[c + 4] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0xdd);
      t[c + 8] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0x88);
      t[c + 12] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0xdd);
    }
    for (int c = 0; c < 8; ++c) {
      _mm512_storeu_ps(dst + c * ld_dst, _mm512_shuffle_f32x4(t[c], t[c + 8], 0x88));
      _mm512_storeu_ps(dst + (c + 8) * ld_dst, _mm512_shuffle_f32x4(t[c], t[c + 8], 0xdd));
    }
  }
};
#pragma GCC diagnostic pop

}  // namespace

void forward(const AttnForwardArgs<float>& a) { forward_impl<Vec>(a); }
void backward(const AttnBackwardArgs<float>& a) { backward_impl<Vec>(a); }

}  // namespace pyllm::cpu::attention_avx512
