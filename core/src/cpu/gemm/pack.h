// Portable packing into the micro-panel layouts of kernel.h, for any strides. Included only by the
// kernel files: the unnamed namespace gives each of them its own copy, compiled for its instruction
// set, so the linker never merges an AVX-512 instance into the generic file. The SIMD kernel files use
// it for the layouts their fast paths do not cover.
#pragma once

#include <algorithm>
#include <cstdint>

namespace pyllm::cpu::gemm_kernels {

namespace {

// A: (mc, kc), element (i, k) at a[i * rs + k * cs] -> MR-row micro-panels, zero rows past mc.
template <typename T, int MR>
void pack_a_any(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* dst) {
  for (int64_t p = 0; p < mc; p += MR, dst += MR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - p));
    const T* src = a + p * rs;
    if (cs == 1) {  // rows contiguous along k: read them in order
      for (int i = 0; i < rows; ++i)
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = src[i * rs + k];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int i = 0; i < rows; ++i) dst[k * MR + i] = src[i * rs + k * cs];
    }
    for (int64_t k = 0; k < kc; ++k)
      for (int i = rows; i < MR; ++i) dst[k * MR + i] = T(0);
  }
}

// alpha * B: (kc, nc), element (k, j) at b[k * rs + j * cs] -> NR-column micro-panels, zero columns
// past nc.
template <typename T, int NR>
void pack_b_any(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T alpha, T* dst) {
  for (int64_t p = 0; p < nc; p += NR, dst += NR * kc) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - p));
    const T* src = b + p * cs;
    if (rs == 1 && cs != 1) {  // columns contiguous along k (a transposed B, e.g. a layer's weight)
      for (int j = 0; j < cols; ++j)
        for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = alpha * src[j * cs + k];
    } else if (cs == 1) {
      for (int64_t k = 0; k < kc; ++k)
        for (int j = 0; j < cols; ++j) dst[k * NR + j] = alpha * src[k * rs + j];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int j = 0; j < cols; ++j) dst[k * NR + j] = alpha * src[k * rs + j * cs];
    }
    for (int64_t k = 0; k < kc; ++k)
      for (int j = cols; j < NR; ++j) dst[k * NR + j] = T(0);
  }
}

}  // namespace

}  // namespace pyllm::cpu::gemm_kernels
