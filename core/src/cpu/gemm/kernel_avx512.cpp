// AVX-512 float micro-kernel: a 14x32 tile of C in 28 zmm accumulators. Each k step loads one 32-wide
// row of the B micro-panel (2 zmm) and broadcasts 14 values of A straight from memory into the FMAs,
// so 28 FMAs cost 2 vector loads and 14 broadcast loads: 30 of the 32 registers hold live values and
// the FMA units, not the loads, set the pace (on Zen 4 each 512-bit FMA occupies both 256-bit pipes).
// Partial tiles use the same loop with fewer rows (a template per row count) and masked C accesses.
#include <immintrin.h>

#include "cpu/gemm/kernel.h"

namespace pyllm::cpu::gemm_avx512 {

namespace {

constexpr int kMR = 14;
constexpr int kNR = 32;

// a: (kc, kMR) packed, b: (kc, kNR) packed, C: (R, nr) strided.
template <int R>
void tile(int64_t kc, const float* a, const float* b, float beta, float* c, int64_t rsc, int64_t csc, int nr) {
  __m512 lo[R], hi[R];
#pragma GCC unroll 14
  for (int r = 0; r < R; ++r) {
    lo[r] = _mm512_setzero_ps();
    hi[r] = _mm512_setzero_ps();
    // C's rows arrive while the loop runs (a tile of a large C is far away in L3 or memory).
    _mm_prefetch(reinterpret_cast<const char*>(c + r * rsc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * rsc + (nr - 1) * csc), _MM_HINT_T0);
  }
  for (int64_t k = 0; k < kc; ++k, a += kMR, b += kNR) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int r = 0; r < R; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
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

void micro_kernel(int64_t kc, const float* a, const float* b, float beta, float* c, int64_t rsc, int64_t csc,
                  int mr, int nr) {
  switch (mr) {
    case 1: return tile<1>(kc, a, b, beta, c, rsc, csc, nr);
    case 2: return tile<2>(kc, a, b, beta, c, rsc, csc, nr);
    case 3: return tile<3>(kc, a, b, beta, c, rsc, csc, nr);
    case 4: return tile<4>(kc, a, b, beta, c, rsc, csc, nr);
    case 5: return tile<5>(kc, a, b, beta, c, rsc, csc, nr);
    case 6: return tile<6>(kc, a, b, beta, c, rsc, csc, nr);
    case 7: return tile<7>(kc, a, b, beta, c, rsc, csc, nr);
    case 8: return tile<8>(kc, a, b, beta, c, rsc, csc, nr);
    case 9: return tile<9>(kc, a, b, beta, c, rsc, csc, nr);
    case 10: return tile<10>(kc, a, b, beta, c, rsc, csc, nr);
    case 11: return tile<11>(kc, a, b, beta, c, rsc, csc, nr);
    case 12: return tile<12>(kc, a, b, beta, c, rsc, csc, nr);
    case 13: return tile<13>(kc, a, b, beta, c, rsc, csc, nr);
    default: return tile<14>(kc, a, b, beta, c, rsc, csc, nr);
  }
}

}  // namespace

}  // namespace pyllm::cpu::gemm_avx512

namespace pyllm::cpu::gemm_kernels {

Kernel<float> avx512_f32() {
  return {gemm_avx512::kMR, gemm_avx512::kNR, 14 * 12, 512, 4096, &gemm_avx512::micro_kernel};
}

}  // namespace pyllm::cpu::gemm_kernels
