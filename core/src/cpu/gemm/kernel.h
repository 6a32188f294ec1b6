// The contract between the blocked GEMM driver (gemm.cpp) and its register-blocked micro-kernels, one
// per instruction set (kernel_generic.cpp, kernel_avx2.cpp, kernel_avx512.cpp).
//
// Packed layouts (built by the driver): an A micro-panel holds MR rows of A for kc steps, column by
// column: a[k * MR + i] = alpha * A(i, k). A B micro-panel holds NR columns: b[k * NR + j] = B(k, j).
// Rows and columns past the matrix edge are zero. Both are 64-byte aligned.
#pragma once

#include <cstdint>

namespace pyllm::cpu::gemm_kernels {

// Computes C[0:mr, 0:nr] = a @ b + beta * C over kc steps, for 1 <= mr <= MR and 1 <= nr <= NR, where
// C(i, j) = c[i * rsc + j * csc]. beta == 0: C is not read.
template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* a, const T* b, T beta, T* c, int64_t rsc, int64_t csc, int mr,
                             int nr);

// A micro-kernel and the cache blocking it was tuned with: the driver packs an (MC, KC) block of A
// (meant to stay in L2) and a (KC, NC) block of B (in L3), and the kernel streams one (KC, NR) B
// micro-panel from L1 against the A block's micro-panels.
template <typename T>
struct Kernel {
  int mr, nr;
  int64_t mc, kc, nc;
  MicroKernel<T> run;
};

Kernel<float> generic_f32();
Kernel<double> generic_f64();
Kernel<float> avx2_f32();    // call only when the CPU has AVX2 and FMA
Kernel<float> avx512_f32();  // call only when the CPU has AVX-512 F/BW/VL/DQ

}  // namespace pyllm::cpu::gemm_kernels
