// AVX2+FMA float micro-kernel: a 6x16 tile of C in 12 ymm accumulators, plus 2 registers for the B row
// and one broadcast of A: 15 of the 16 registers. Partial tiles use the same loop with fewer rows (a
// template per row count) and masked C accesses.
#include <immintrin.h>

#include "cpu/gemm/kernel.h"

namespace pyllm::cpu::gemm_avx2 {

namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

// Lane mask with the first n (0..8) lanes on.
inline __m256i first_lanes(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// a: (kc, kMR) packed, b: (kc, kNR) packed, C: (R, nr) strided.
template <int R>
void tile(int64_t kc, const float* a, const float* b, float beta, float* c, int64_t rsc, int64_t csc, int nr) {
  __m256 lo[R], hi[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    lo[r] = _mm256_setzero_ps();
    hi[r] = _mm256_setzero_ps();
    // C's rows arrive while the loop runs (a tile of a large C is far away in L3 or memory).
    _mm_prefetch(reinterpret_cast<const char*>(c + r * rsc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * rsc + (nr - 1) * csc), _MM_HINT_T0);
  }
  for (int64_t k = 0; k < kc; ++k, a += kMR, b += kNR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      lo[r] = _mm256_fmadd_ps(ar, b0, lo[r]);
      hi[r] = _mm256_fmadd_ps(ar, b1, hi[r]);
    }
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

void micro_kernel(int64_t kc, const float* a, const float* b, float beta, float* c, int64_t rsc, int64_t csc,
                  int mr, int nr) {
  switch (mr) {
    case 1: return tile<1>(kc, a, b, beta, c, rsc, csc, nr);
    case 2: return tile<2>(kc, a, b, beta, c, rsc, csc, nr);
    case 3: return tile<3>(kc, a, b, beta, c, rsc, csc, nr);
    case 4: return tile<4>(kc, a, b, beta, c, rsc, csc, nr);
    case 5: return tile<5>(kc, a, b, beta, c, rsc, csc, nr);
    default: return tile<6>(kc, a, b, beta, c, rsc, csc, nr);
  }
}

}  // namespace

}  // namespace pyllm::cpu::gemm_avx2

namespace pyllm::cpu::gemm_kernels {

Kernel<float> avx2_f32() { return {gemm_avx2::kMR, gemm_avx2::kNR, 6 * 24, 256, 4096, &gemm_avx2::micro_kernel}; }

}  // namespace pyllm::cpu::gemm_kernels
