// Multi-tensor optimizer kernels: the tensors are treated as one long array split evenly over the threads.
#include "cpu/optim.h"

#include <algorithm>
#include <cmath>

#include "cpu/cpu_features.h"
#include "cpu/optim_loops.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

namespace {

const OptimKernels& kernels() {
  static const OptimKernels table = best_isa() == Isa::Avx512 ? optim_kernels_avx512()
                                    : best_isa() == Isa::Avx2 ? optim_kernels_avx2()
                                                              : this_isa_kernels();  // generic: this file's copy
  return table;
}

// The tensors' elements laid end to end: tensor i covers [starts[i], starts[i + 1]).
std::vector<int64_t> starts_of(const std::vector<Tensor>& tensors) {
  std::vector<int64_t> starts(tensors.size() + 1, 0);
  for (size_t i = 0; i < tensors.size(); ++i) starts[i + 1] = starts[i] + tensors[i].numel();
  return starts;
}

// Calls f(i, lo, hi) for each tensor i that [begin, end) of the concatenation touches, with [lo, hi) the
// touched range of tensor i's own elements.
template <typename F>
void for_each_piece(const std::vector<int64_t>& starts, int64_t begin, int64_t end, const F& f) {
  size_t i = std::upper_bound(starts.begin(), starts.end(), begin) - starts.begin() - 1;
  for (; begin < end; ++i) {
    const int64_t stop = std::min(end, starts[i + 1]);
    if (stop > begin) f(i, begin - starts[i], stop - starts[i]);
    begin = stop;
  }
}

template <typename T>
AdamwCoeffs<T> coeffs(const AdamwHyper& h) {
  // Each scalar is computed in double and rounded once, as PyTorch does with its Python-float scalars.
  const double weight = 1.0 - h.beta1;
  const bool small = std::fabs(weight) < 0.5;
  const double step = static_cast<double>(h.step);
  const double bias_correction1 = 1.0 - std::pow(h.beta1, step);
  const double bias_correction2 = 1.0 - std::pow(h.beta2, step);
  AdamwCoeffs<T> c;
  c.decay = static_cast<T>(1.0 - h.lr * h.weight_decay);
  c.lerp_weight = small ? static_cast<T>(weight) : static_cast<T>(weight) - T(1);
  c.lerp_from_avg = small;
  c.beta2 = static_cast<T>(h.beta2);
  c.one_minus_beta2 = static_cast<T>(1.0 - h.beta2);
  c.bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
  c.eps = static_cast<T>(h.eps);
  c.neg_step_size = static_cast<T>(-(h.lr / bias_correction1));
  return c;
}

constexpr int64_t kAdamwGrain = 32768;    // elements per thread at least (~1 MB of float traffic)
constexpr int64_t kNormBlock = 65536;     // elements per partial sum

}  // namespace

void adamw_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs, const AdamwHyper& h) {
  const OptimKernels& k = kernels();
  const AdamwCoeffs<float> cf = coeffs<float>(h);
  const AdamwCoeffs<double> cd = coeffs<double>(h);
  const std::vector<int64_t> starts = starts_of(params);
  parallel_for(0, starts.back(), kAdamwGrain, [&](int64_t begin, int64_t end) {
    for_each_piece(starts, begin, end, [&](size_t i, int64_t lo, int64_t hi) {
      if (params[i].dtype() == DType::Float32) {
        k.adamw_f32(static_cast<float*>(params[i].data_ptr()) + lo,
                    static_cast<const float*>(grads[i].data_ptr()) + lo,
                    static_cast<float*>(exp_avgs[i].data_ptr()) + lo,
                    static_cast<float*>(exp_avg_sqs[i].data_ptr()) + lo, hi - lo, cf);
      } else {
        k.adamw_f64(static_cast<double*>(params[i].data_ptr()) + lo,
                    static_cast<const double*>(grads[i].data_ptr()) + lo,
                    static_cast<double*>(exp_avgs[i].data_ptr()) + lo,
                    static_cast<double*>(exp_avg_sqs[i].data_ptr()) + lo, hi - lo, cd);
      }
    });
  });
}

double norm_reduce(const std::vector<Tensor>& tensors, NormKind kind) {
  const OptimKernels& k = kernels();
  const std::vector<int64_t> starts = starts_of(tensors);
  const int64_t blocks = (starts.back() + kNormBlock - 1) / kNormBlock;
  std::vector<double> partial(blocks, 0.0);
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double acc = 0.0;
      for_each_piece(starts, b * kNormBlock, std::min(starts.back(), (b + 1) * kNormBlock),
                     [&](size_t i, int64_t lo, int64_t hi) {
        const double piece = tensors[i].dtype() == DType::Float32
                                 ? k.norm_f32(static_cast<const float*>(tensors[i].data_ptr()) + lo, hi - lo, kind)
                                 : k.norm_f64(static_cast<const double*>(tensors[i].data_ptr()) + lo, hi - lo, kind);
        acc = norm_combine(kind, acc, piece);
      });
      partial[b] = acc;
    }
  });
  double total = 0.0;
  for (double p : partial) total = norm_combine(kind, total, p);
  return total;
}

}  // namespace pyllm::cpu
