// Causal scaled_dot_product_attention, forward and forward+backward, at the shapes of
// bench/bench_attention.py. FLOP convention: forward 4 * B * H * T * T * D halved for the causal mask,
// backward 2.5 x forward.
#include <cstdio>

#include "bench_util.h"
#include "pyllm/autograd.h"
#include "pyllm/ops.h"

namespace {

using namespace pyllm;

void run_shape(int64_t B, int64_t H, int64_t T, int64_t D) {
  Generator gen(0);
  Tensor q = ops::randn({B, H, T, D}, DType::Float32, &gen);
  Tensor k = ops::randn({B, H, T, D}, DType::Float32, &gen);
  Tensor v = ops::randn({B, H, T, D}, DType::Float32, &gen);
  Tensor g = ops::randn({B, H, T, D}, DType::Float32, &gen);
  for (const Tensor& t : {q, k, v}) t.set_requires_grad(true);
  const double fwd_flops = 4.0 * B * H * T * T * D / 2;
  double fwd = pyllm_bench::median_seconds([&] {
    autograd::NoGradGuard no_grad;
    ops::scaled_dot_product_attention(q, k, v, Tensor(), true);
  }, 15);
  double both = pyllm_bench::median_seconds([&] {
    for (const Tensor& t : {q, k, v}) t.set_grad(Tensor());
    ops::scaled_dot_product_attention(q, k, v, Tensor(), true).backward(g);
  }, 15);
  std::printf("attention causal B=%lld H=%lld T=%lld D=%lld: fwd %.2f ms (%.1f GFLOP/s), fwd+bwd %.2f ms (%.1f GFLOP/s)\n",
              static_cast<long long>(B), static_cast<long long>(H), static_cast<long long>(T),
              static_cast<long long>(D), fwd * 1e3, fwd_flops / fwd / 1e9, both * 1e3, 3.5 * fwd_flops / both / 1e9);
}

}  // namespace

PYLLM_BENCH(attention_causal_T256) { run_shape(8, 6, 256, 64); }
PYLLM_BENCH(attention_causal_T1024) { run_shape(4, 12, 1024, 64); }
