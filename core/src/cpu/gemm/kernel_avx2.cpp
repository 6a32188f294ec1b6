// AVX2+FMA float micro-kernel: a 6x16 tile of C in 12 ymm accumulators, plus 2 registers for the B row
// and one broadcast of A: 15 of the 16 registers. Partial tiles use the same loop with fewer rows (a
// template per row count) and masked C accesses. Packing a row-major A or a column-major B (a
// transposed weight) transposes 8x8 blocks in registers.
#include <immintrin.h>

#include <algorithm>

#include "cpu/gemm/kernel.h"
#include "cpu/gemm/pack.h"

namespace pyllm::cpu::gemm_avx2 {

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

// Lane mask with the first n (0..8) lanes on.
inline __m256i first_lanes(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// a: (R, kc) packed (kPacked) or strided, b: (kc, kNR) packed, C: (R, nr) strided.
template <int R, bool kPacked>
void tile(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, float beta, float* c, int64_t rsc,
          int64_t csc, int nr) {
  if constexpr (kPacked) {  // constant strides: the broadcasts address A with fixed offsets
    a_rs = 1;
    a_cs = kMR;
  }
  __m256 lo[R], hi[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    lo[r] = _mm256_setzero_ps();
    hi[r] = _mm256_setzero_ps();
    // C's rows arrive while the loop runs (a tile of a large C is far away in L3 or memory).
    _mm_prefetch(reinterpret_cast<const char*>(c + r * rsc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * rsc + (nr - 1) * csc), _MM_HINT_T0);
  }
  for (int64_t k = 0; k < kc; ++k, a += a_cs, b += kNR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r * a_rs);
      lo[r] = _mm256_fmadd_ps(ar, b0, lo[r]);
      hi[r] = _mm256_fmadd_ps(ar, b1, hi[r]);
    }
  }
  if (csc == 1 && nr == kNR) {  // a whole tile: plain accesses (masked stores are slow on some CPUs)
    const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      float* row = c + r * rsc;
      if (beta != 0.0f) {
        lo[r] = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(row), lo[r]);
        hi[r] = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(row + 8), hi[r]);
      }
      _mm256_storeu_ps(row, lo[r]);
      _mm256_storeu_ps(row + 8, hi[r]);
    }
    return;
  }
  if (csc == 1) {
    const __m256i m0 = first_lanes(nr < 8 ? nr : 8), m1 = first_lanes(nr > 8 ? nr - 8 : 0);
    const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      float* row = c + r * rsc;
      if (beta != 0.0f) {
        lo[r] = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(row, m0), lo[r]);
        hi[r] = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(row + 8, m1), hi[r]);
      }
      _mm256_maskstore_ps(row, m0, lo[r]);
      _mm256_maskstore_ps(row + 8, m1, hi[r]);
    }
    return;
  }
  alignas(32) float buf[kNR];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm256_store_ps(buf, lo[r]);
    _mm256_store_ps(buf + 8, hi[r]);
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
    default: return tile<6, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
  }
}

void micro_kernel(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, float beta, float* c,
                  int64_t rsc, int64_t csc, int mr, int nr) {
  if (a_rs == 1 && a_cs == kMR) dispatch_rows<true>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, mr, nr);
  else dispatch_rows<false>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, mr, nr);
}

// In place: r[i] lane j <- r[j] lane i.
inline void transpose8(__m256 r[8]) {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  // s[4h + j], in each 128-bit lane L: rows 4h..4h+3 of column 4L + j.
  __m256 s[8];
  for (int h = 0; h < 8; h += 4) {
    s[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
    s[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xEE);
    s[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
    s[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x20);
    r[4 + j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x31);
  }
}

// Loads `n` (<= 8) vectors of 8 consecutive floats at src + v * stride, the first `len` lanes of each,
// zeros elsewhere, and transposes them: r[l] lane v = src[v * stride + l].
inline void load_transposed(const float* src, int64_t stride, int n, int64_t len, __m256 r[8]) {
  const __m256i m = first_lanes(static_cast<int>(std::min<int64_t>(len, 8)));
  for (int v = 0; v < 8; ++v) {
    if (v >= n) r[v] = _mm256_setzero_ps();
    else r[v] = len >= 8 ? _mm256_loadu_ps(src + v * stride) : _mm256_maskload_ps(src + v * stride, m);
  }
  transpose8(r);
}

// A: (mc, kc) -> kMR-row micro-panels (kernel.h). Each k-step's 6 values are written as 8 (masked
// stores are slow on some CPUs); the 2 extra land where the next k-step, the next panel, or the
// buffer's slack goes, in ascending order, so each is overwritten or unused.
void pack_a(int64_t mc, int64_t kc, const float* a, int64_t rs, int64_t cs, float* dst) {
  if (cs != 1 && rs != 1) return gemm_kernels::pack_a_any<float, kMR>(mc, kc, a, rs, cs, dst);
  for (int64_t p = 0; p < mc; p += kMR, dst += kMR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(kMR, mc - p));
    const float* src = a + p * rs;
    if (cs == 1) {  // row-major: transpose 8 k-steps of the panel's rows at a time
      for (int64_t k0 = 0; k0 < kc; k0 += 8) {
        const int64_t len = std::min<int64_t>(8, kc - k0);
        __m256 r[8];
        load_transposed(src + k0, rs, rows, len, r);
        for (int64_t l = 0; l < len; ++l) _mm256_storeu_ps(dst + (k0 + l) * kMR, r[l]);
      }
    } else {  // column-major: each k-step's rows are contiguous
      const __m256i m = first_lanes(rows);
      for (int64_t k = 0; k < kc; ++k) _mm256_storeu_ps(dst + k * kMR, _mm256_maskload_ps(src + k * cs, m));
    }
  }
}

// alpha * B: (kc, nc) -> kNR-column micro-panels (kernel.h).
void pack_b(int64_t kc, int64_t nc, const float* b, int64_t rs, int64_t cs, float alpha, float* dst) {
  if (cs != 1 && rs != 1) return gemm_kernels::pack_b_any<float, kNR>(kc, nc, b, rs, cs, alpha, dst);
  const __m256 va = _mm256_set1_ps(alpha);
  for (int64_t p = 0; p < nc; p += kNR, dst += kNR * kc) {
    const int cols = static_cast<int>(std::min<int64_t>(kNR, nc - p));
    const float* src = b + p * cs;
    if (cs == 1) {  // row-major: copy 16-wide rows
      const __m256i m0 = first_lanes(std::min(cols, 8)), m1 = first_lanes(cols > 8 ? cols - 8 : 0);
      for (int64_t k = 0; k < kc; ++k) {
        _mm256_store_ps(dst + k * kNR, _mm256_mul_ps(va, _mm256_maskload_ps(src + k * rs, m0)));
        _mm256_store_ps(dst + k * kNR + 8, _mm256_mul_ps(va, _mm256_maskload_ps(src + k * rs + 8, m1)));
      }
    } else {  // column-major: transpose 8 k-steps of each half of the panel's columns at a time
      for (int64_t k0 = 0; k0 < kc; k0 += 8) {
        const int64_t len = std::min<int64_t>(8, kc - k0);
        __m256 lo[8], hi[8];
        load_transposed(src + k0, cs, std::min(cols, 8), len, lo);
        load_transposed(src + 8 * cs + k0, cs, cols > 8 ? cols - 8 : 0, len, hi);
        for (int64_t l = 0; l < len; ++l) {
          _mm256_store_ps(dst + (k0 + l) * kNR, _mm256_mul_ps(va, lo[l]));
          _mm256_store_ps(dst + (k0 + l) * kNR + 8, _mm256_mul_ps(va, hi[l]));
        }
      }
    }
  }
}

}  // namespace

}  // namespace pyllm::cpu::gemm_avx2

namespace pyllm::cpu::gemm_kernels {

Kernel<float> avx2_f32() {
  // MC x KC of A (168 x 768 x 4 B = 516 KB) stays in a 1 MB L2; K up to 768 (GPT-2 width) in one pass.
  return {gemm_avx2::kMR, gemm_avx2::kNR, /*mc=*/6 * 28, /*kc=*/768, /*nc=*/3072,
          &gemm_avx2::micro_kernel, &gemm_avx2::pack_a, &gemm_avx2::pack_b};
}

}  // namespace pyllm::cpu::gemm_kernels
