// Portable micro-kernels: plain loops over a fixed (MR, NR) accumulator tile that the compiler keeps in
// vector registers on any target. float64 uses this on every CPU (it only serves gradient checks).
#include "cpu/gemm/kernel.h"
#include "cpu/gemm/pack.h"

namespace pyllm::cpu::gemm_kernels {

namespace {

// a: (R, kc) packed (kPacked) or strided, b: (kc, NR) packed, C: (R, nr) strided.
template <typename T, int MR, int NR, int R, bool kPacked>
void tile(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, T beta, T* c, int64_t rsc, int64_t csc,
          int nr) {
  if constexpr (kPacked) {
    a_rs = 1;
    a_cs = MR;
  }
  T acc[R][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += a_cs, b += NR) {
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i * a_rs] * b[j];
  }
  for (int i = 0; i < R; ++i) {
    T* row = c + i * rsc;
    if (beta == T(0)) {
      for (int j = 0; j < nr; ++j) row[j * csc] = acc[i][j];
    } else {
      for (int j = 0; j < nr; ++j) row[j * csc] = acc[i][j] + beta * row[j * csc];
    }
  }
}

template <typename T, int MR, int NR, bool kPacked>
void dispatch_rows(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, T beta, T* c, int64_t rsc,
                   int64_t csc, int mr, int nr) {
  static_assert(MR == 4, "one case per row count");
  switch (mr) {
    case 1: return tile<T, MR, NR, 1, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 2: return tile<T, MR, NR, 2, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    case 3: return tile<T, MR, NR, 3, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
    default: return tile<T, MR, NR, 4, kPacked>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, nr);
  }
}

template <typename T, int MR, int NR>
void micro_kernel(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, T beta, T* c, int64_t rsc,
                  int64_t csc, int mr, int nr) {
  if (a_rs == 1 && a_cs == MR) dispatch_rows<T, MR, NR, true>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, mr, nr);
  else dispatch_rows<T, MR, NR, false>(kc, a, a_rs, a_cs, b, beta, c, rsc, csc, mr, nr);
}

}  // namespace

// SSE2 has 16 vector registers: a 4x8 float tile takes 8 of them, a 4x4 double tile 8.
Kernel<float> generic_f32() {
  return {4, 8, 128, 256, 2048, &micro_kernel<float, 4, 8>, &pack_a_any<float, 4>, &pack_b_any<float, 8>};
}
Kernel<double> generic_f64() {
  return {4, 4, 128, 256, 2048, &micro_kernel<double, 4, 4>, &pack_a_any<double, 4>, &pack_b_any<double, 4>};
}

}  // namespace pyllm::cpu::gemm_kernels
