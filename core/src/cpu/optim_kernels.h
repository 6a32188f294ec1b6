// The optimizer kernels' table: one set of loops per instruction set (the loops are in optim_loops.h),
// chosen at run time by cpu/optim.cpp.
#pragma once

#include <cstdint>

namespace pyllm::cpu {

// AdamW's per-step scalars, already rounded to the parameter's type as PyTorch's kernels round them.
template <typename T>
struct AdamwCoeffs {
  T decay;          // 1 - lr * weight_decay
  T lerp_weight;    // exp_avg.lerp_(grad, 1 - beta1): base + lerp_weight * (grad - exp_avg)
  bool lerp_from_avg;  // base is exp_avg when 1 - beta1 < 0.5, else grad (PyTorch's two-sided lerp)
  T beta2;
  T one_minus_beta2;
  T bias_correction2_sqrt;
  T eps;
  T neg_step_size;  // -lr / (1 - beta1^step)
};

enum class NormKind { L1, L2, Inf };

struct OptimKernels {
  // p, g, m, v: n elements each; updated in place (g is read only).
  void (*adamw_f32)(float* p, const float* g, float* m, float* v, int64_t n, const AdamwCoeffs<float>& c);
  void (*adamw_f64)(double* p, const double* g, double* m, double* v, int64_t n, const AdamwCoeffs<double>& c);
  // x: n elements. L1: sum |x|; L2: sum x^2; Inf: max |x| (NaN if any x is NaN). Accumulated in double.
  double (*norm_f32)(const float* x, int64_t n, NormKind kind);
  double (*norm_f64)(const double* x, int64_t n, NormKind kind);
};

OptimKernels optim_kernels_avx2();
OptimKernels optim_kernels_avx512();

}  // namespace pyllm::cpu
