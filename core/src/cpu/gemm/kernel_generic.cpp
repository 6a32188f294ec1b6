// Portable micro-kernels: plain loops over a fixed (MR, NR) accumulator tile that the compiler keeps in
// vector registers on any target. float64 uses this on every CPU (it only serves gradient checks).
#include "cpu/gemm/kernel.h"

namespace pyllm::cpu::gemm_kernels {

namespace {

// a: (kc, MR) packed, b: (kc, NR) packed, C: (mr, nr) strided.
template <typename T, int MR, int NR>
void micro_kernel(int64_t kc, const T* a, const T* b, T beta, T* c, int64_t rsc, int64_t csc, int mr, int nr) {
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  }
  for (int i = 0; i < mr; ++i) {
    T* row = c + i * rsc;
    if (beta == T(0)) {
      for (int j = 0; j < nr; ++j) row[j * csc] = acc[i][j];
    } else {
      for (int j = 0; j < nr; ++j) row[j * csc] = acc[i][j] + beta * row[j * csc];
    }
  }
}

}  // namespace

// SSE2 has 16 vector registers: a 4x8 float tile takes 8 of them, a 4x4 double tile 8.
Kernel<float> generic_f32() { return {4, 8, 128, 256, 2048, &micro_kernel<float, 4, 8>}; }
Kernel<double> generic_f64() { return {4, 4, 128, 256, 2048, &micro_kernel<double, 4, 4>}; }

}  // namespace pyllm::cpu::gemm_kernels
