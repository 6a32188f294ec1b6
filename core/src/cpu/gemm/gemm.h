// General matrix multiply for the CPU kernels: C = alpha * A @ B + beta * C.
//
// Every matrix is a pointer plus a row stride and a column stride, in elements: element (i, j) of A is
// A[i * rsa + j * csa]. A transposed operand is the same memory with the strides swapped, and a batch of
// strided views (attention heads, a broadcast weight) is a base pointer plus a batch stride, so callers
// never copy to make an operand contiguous. A: (M, K), B: (K, N), C: (M, N).
//
// beta == 0 means C is write-only: it is never read, so it may hold garbage (NaN included), as in BLAS.
// C must not overlap A or B. The functions never throw once their scratch memory is allocated (that
// happens before any parallel region) and may be called from inside a parallel region, where they run
// on the calling thread only.
#pragma once

#include <cstdint>

namespace pyllm::cpu {

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rsa, int64_t csa,
          const float* B, int64_t rsb, int64_t csb, float beta, float* C, int64_t rsc, int64_t csc);
void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsa, int64_t csa,
          const double* B, int64_t rsb, int64_t csb, double beta, double* C, int64_t rsc, int64_t csc);

// `batch` independent products: product b reads A + b * bsa and B + b * bsb and writes C + b * bsc. A
// batch stride of 0 reuses one operand for every product (a weight broadcast over a batch); C's batch
// stride must keep the outputs disjoint.
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t bsa,
                  int64_t rsa, int64_t csa, const float* B, int64_t bsb, int64_t rsb, int64_t csb, float beta,
                  float* C, int64_t bsc, int64_t rsc, int64_t csc);
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t bsa,
                  int64_t rsa, int64_t csa, const double* B, int64_t bsb, int64_t rsb, int64_t csb, double beta,
                  double* C, int64_t bsc, int64_t rsc, int64_t csc);

}  // namespace pyllm::cpu
