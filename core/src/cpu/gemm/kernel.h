// The contract between the blocked GEMM driver (gemm.cpp) and its register-blocked micro-kernels, one
// per instruction set (kernel_generic.cpp, kernel_avx2.cpp, kernel_avx512.cpp).
//
// The B micro-panel is always packed by the driver: NR columns for kc steps, row by row, b[k * NR + j] =
// alpha * B(k, j), zero past the matrix edge, 64-byte aligned. The A micro-panel (MR rows for kc steps)
// is either packed, column by column (a[k * MR + i] = A(i, k), a_rs = 1, a_cs = MR, zero rows past the
// edge), or read in place with A's own strides (A(i, k) = a[i * a_rs + k * a_cs]; rows past mr are
// never read). The kernel reads each A value once per k step as a broadcast, so in-place A costs no
// more than packed A when A's rows are few or each is reused by few B micro-panels.
#pragma once

#include <cstdint>

namespace pyllm::cpu::gemm_kernels {

constexpr int64_t kPackSlack = 16;

// Computes C[0:mr, 0:nr] = a @ b + beta * C over kc steps, for 1 <= mr <= MR and 1 <= nr <= NR, where
// C(i, j) = c[i * rsc + j * csc]. beta == 0: C is not read.
template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, T beta, T* c,
                             int64_t rsc, int64_t csc, int mr, int nr);

// Packs A: (mc, kc), element (i, k) at a[i * rs + k * cs], into ceil(mc / MR) micro-panels at dst;
// may write up to kPackSlack elements past them.
template <typename T>
using PackA = void (*)(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* dst);
// Packs alpha * B: (kc, nc), element (k, j) at b[k * rs + j * cs], into ceil(nc / NR) micro-panels.
template <typename T>
using PackB = void (*)(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T alpha, T* dst);

// A micro-kernel, its packing routines, and the cache blocking it was tuned with: the driver packs a
// (KC, NC) block of B (L3) and an (MC, KC) block of A (L2), and runs the kernel on every pair of their
// micro-panels.
template <typename T>
struct Kernel {
  int mr, nr;
  int64_t mc, kc, nc;
  MicroKernel<T> run;
  PackA<T> pack_a;
  PackB<T> pack_b;
};

Kernel<float> generic_f32();
Kernel<double> generic_f64();
Kernel<float> avx2_f32();    // call only when the CPU has AVX2 and FMA
Kernel<float> avx512_f32();  // call only when the CPU has AVX-512 F/BW/VL/DQ

}  // namespace pyllm::cpu::gemm_kernels
