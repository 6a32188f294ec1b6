// AVX-512 float micro-kernel: a 14x32 tile of C in 28 zmm accumulators. Each k step loads one 32-wide
// row of the B micro-panel (2 zmm) and broadcasts 14 values of A straight from memory into the FMAs,
// so 28 FMAs cost 2 vector loads and 14 broadcast loads: 30 of the 32 registers hold live values and
// the FMA units, not the loads, set the pace (on Zen 4 each 512-bit FMA occupies both 256-bit pipes).
// Partial tiles use the same loop with fewer rows (a template per row count) and masked C accesses.
// Packing a row-major A or a column-major B (a transposed weight) is a transpose: 16x16 blocks in
// registers, about 0.3 cycles per element instead of one scalar load and store each.
//
// GCC 12 wrongly reports the unmasked AVX-512 shuffles as reading an uninitialized value (GCC bug
// 105593: they pass _mm512_undefined_ps() as the unused merge source); the report lands in the header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>

#include "cpu/gemm/kernel.h"
#include "cpu/gemm/pack.h"

namespace pyllm::cpu::gemm_avx512 {

namespace {

constexpr int kMR = 14;
constexpr int kNR = 32;

// a: (R, kc) packed (kPacked) or strided, b: (kc, kNR) packed, C: (R, nr) strided.
template <int R, bool kPacked>
void tile(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, float beta, float* c, int64_t rsc,
          int64_t csc, int nr) {
  if constexpr (kPacked) {  // constant strides: the broadcasts address A with fixed offsets
    a_rs = 1;
    a_cs = kMR;
  }
  __m512 lo[R], hi[R];
#pragma GCC unroll 14
  for (int r = 0; r < R; ++r) {
    lo[r] = _mm512_setzero_ps();
    hi[r] = _mm512_setzero_ps();
    // C's rows arrive while the loop runs (a tile of a large C is far away in L3 or memory).
    _mm_prefetch(reinterpret_cast<const char*>(c + r * rsc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * rsc + (nr - 1) * csc), _MM_HINT_T0);
  }
  for (int64_t k = 0; k < kc; ++k, a += a_cs, b += kNR) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int r = 0; r < R; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r * a_rs]);
      lo[r] = _mm512_fmadd_ps(ar, b0, lo[r]);
      hi[r] = _mm512_fmadd_ps(ar, b1, hi[r]);
    }
  }
  if (csc == 1) {
    const __mmask16 m0 = nr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? __mmask16(0xFFFF) : nr > 16 ? __mmask16((1u << (nr - 16)) - 1) : __mmask16(0);
    const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 14
    for (int r = 0; r < R; ++r) {
      float* row = c + r * rsc;
      if (beta != 0.0f) {
        lo[r] = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m0, row), lo[r]);
        hi[r] = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m1, row + 16), hi[r]);
      }
      _mm512_mask_storeu_ps(row, m0, lo[r]);
      _mm512_mask_storeu_ps(row + 16, m1, hi[r]);
    }
    return;
  }
  alignas(64) float buf[kNR];
#pragma GCC unroll 14
  for (int r = 0; r < R; ++r) {
    _mm512_store_ps(buf, lo[r]);
    _mm512_store_ps(buf + 16, hi[r]);
    float* row = c + r * rsc;
    for (int j = 0; j < nr; ++j) row[j * csc] = beta == 0.0f ? buf[j] : buf[j] + beta * row[j * csc];
  }
}

template <bool kPacked>
void dispatch_rows(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, float beta, float* c,
                   int64_t rsc, int64_t csc, int mr, int nr) {
  switch (mr) {
    case 1: return tile<1, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 2: return tile<2, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 3: return tile<3, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 4: return tile<4, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 5: return tile<5, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 6: return tile<6, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 7: return tile<7, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 8: return tile<8, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 9: return tile<9, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 10: return tile<10, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 11: return tile<11, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 12: return tile<12, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 13: return tile<13, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    default: return tile<14, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
  }
}

void micro_kernel(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, float beta, float* c,
                  int64_t rsc, int64_t csc, int mr, int nr) {
  if (a_rs == 1 && a_cs == kMR) dispatch_rows<true>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, mr, nr);
  else dispatch_rows<false>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, mr, nr);
}

// First n (0..16) lanes.
inline __mmask16 lanes(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

// In place: r[i] lane j <- r[j] lane i.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // r[4g + j], in each 128-bit lane L: rows 4g..4g+3 of column 4L + j.
  for (int g = 0; g < 16; g += 4) {
    r[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
    r[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
    r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512 u0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), u1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    const __m512 u2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    const __m512 u3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
    t[j] = _mm512_shuffle_f32x4(u0, u2, 0x88);
    t[8 + j] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
    t[4 + j] = _mm512_shuffle_f32x4(u1, u3, 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Loads `n` (<= 16) vectors of 16 consecutive floats at src + v * stride, the first `len` lanes of
// each, zeros elsewhere, and transposes them: r[l] lane v = src[v * stride + l].
inline void load_transposed(const float* src, int64_t stride, int n, int64_t len, __m512 r[16]) {
  const __mmask16 m = lanes(len);
  for (int v = 0; v < 16; ++v) r[v] = v < n ? _mm512_maskz_loadu_ps(m, src + v * stride) : _mm512_setzero_ps();
  transpose16(r);
}

// A: (mc, kc) -> kMR-row micro-panels (kernel.h).
void pack_a(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* dst) {
  if (cs != 1 && rs != 1) return gemm_kernels::pack_a_any<float, kMR>(mc, kc, a, rs, cs, dst);
  const __mmask16 panel_row = lanes(kMR);
  for (int64_t p = 0; p < mc; p += kMR, dst += kMR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(kMR, mc - p));
    const float* src = a + p * rs;
    if (cs == 1) {  // row-major: transpose 16 k-steps of the panel's rows at a time
      for (int64_t k0 = 0; k0 < kc; k0 += 16) {
        const int64_t len = std::min<int64_t>(16, kc - k0);
        __m512 r[16];
        load_transposed(src + k0, rs, rows, len, r);
        for (int64_t l = 0; l < len; ++l) _mm512_mask_storeu_ps(dst + (k0 + l) * kMR, panel_row, r[l]);
      }
    } else {  // column-major: each k-step's rows are contiguous
      const __mmask16 m = lanes(rows);
      for (int64_t k = 0; k < kc; ++k)
        _mm512_mask_storeu_ps(dst + k * kMR, panel_row, _mm512_maskz_loadu_ps(m, src + k * cs));
    }
  }
}

// alpha * B: (kc, nc) -> kNR-column micro-panels (kernel.h).
void pack_b(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float alpha, float* dst) {
  if (cs != 1 && rs != 1) return gemm_kernels::pack_b_any<float, kNR>(kc, nc, b, rs, cs, alpha, dst);
  const __m512 va = _mm512_set1_ps(alpha);
  for (int64_t p = 0; p < nc; p += kNR, dst += kNR * kc) {
    const int cols = static_cast<int>(std::min<int64_t>(kNR, nc - p));
    const float* src = b + p * cs;
    if (cs == 1) {  // row-major: copy 32-wide rows
      const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16 > 0 ? cols - 16 : 0);
      for (int64_t k = 0; k < kc; ++k) {
        _mm512_store_ps(dst + k * kNR, _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m0, src + k * rs)));
        _mm512_store_ps(dst + k * kNR + 16, _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m1, src + k * rs + 16)));
      }
    } else {  // column-major: transpose 16 k-steps of each half of the panel's columns at a time
      for (int64_t k0 = 0; k0 < kc; k0 += 16) {
        const int64_t len = std::min<int64_t>(16, kc - k0);
        __m512 lo[16], hi[16];
        load_transposed(src + k0, cs, std::min(cols, 16), len, lo);
        load_transposed(src + 16 * cs + k0, cs, cols > 16 ? cols - 16 : 0, len, hi);
        for (int64_t l = 0; l < len; ++l) {
          _mm512_store_ps(dst + (k0 + l) * kNR, _mm512_mul_ps(va, lo[l]));
          _mm512_store_ps(dst + (k0 + l) * kNR + 16, _mm512_mul_ps(va, hi[l]));
        }
      }
    }
  }
}

}  // namespace

}  // namespace pyllm::cpu::gemm_avx512

namespace pyllm::cpu::gemm_kernels {

Kernel<float> avx512_f32() {
  // MC x KC of A (168 x 768 x 4 B = 516 KB) stays in a 1 MB L2; K up to 768 (GPT-2 width) in one pass.
  return {gemm_avx512::kMR, gemm_avx512::kNR, /*mc=*/14 * 12, /*kc=*/768, /*nc=*/3072,
          &gemm_avx512::micro_kernel, &gemm_avx512::pack_a, &gemm_avx512::pack_b};
}

}  // namespace pyllm::cpu::gemm_kernels
