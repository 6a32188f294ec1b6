// The fused NN kernels alone (no autograd, no allocation in the timed region), forward and backward.
#include <cstdio>

#include "bench_util.h"
#include "cpu/cross_entropy.h"
#include "cpu/index.h"
#include "cpu/norm.h"
#include "cpu/softmax.h"
#include "pyllm/ops.h"

using namespace pyllm;

namespace {

void report(const char* what, double seconds, double bytes) {
  std::printf("  %-44s %9.3f ms  %7.1f GB/s\n", what, seconds * 1e3, bytes / seconds * 1e-9);
}

}  // namespace

PYLLM_BENCH(softmax_rows) {
  const int64_t N = 8192, C = 1024;
  Tensor x = ops::randn({N, C}), y = ops::empty({N, C}), g = ops::randn({N, C}), gx = ops::empty({N, C});
  const double bytes = 4.0 * N * C;
  std::printf("softmax (%lld, %lld), last dim\n", static_cast<long long>(N), static_cast<long long>(C));
  report("forward", pyllm_bench::median_seconds([&] { cpu::softmax(x, y, N, C, 1, false); }), 2 * bytes);
  report("backward", pyllm_bench::median_seconds([&] { cpu::softmax_backward(y, g, gx, N, C, 1, false); }), 3 * bytes);
  report("log_softmax forward", pyllm_bench::median_seconds([&] { cpu::softmax(x, y, N, C, 1, true); }), 2 * bytes);
}

PYLLM_BENCH(layer_norm_rows) {
  const int64_t N = 8192, D = 768;
  Tensor x = ops::randn({N, D}), w = ops::randn({D}), b = ops::randn({D}), y = ops::empty({N, D});
  Tensor mean = ops::empty({N}, DType::Float64), rstd = ops::empty({N}), g = ops::randn({N, D});
  Tensor gx = ops::empty({N, D}), gw = ops::empty({D}), gb = ops::empty({D});
  const double bytes = 4.0 * N * D;
  std::printf("layer_norm (%lld, %lld)\n", static_cast<long long>(N), static_cast<long long>(D));
  report("forward", pyllm_bench::median_seconds([&] { cpu::norm_forward(true, x, w, b, y, mean, rstd, 1e-5); }),
         2 * bytes);
  report("backward (dx, dw, db)", pyllm_bench::median_seconds([&] {
    cpu::norm_backward(true, x, g, w, mean, rstd, gx, gw, gb);
  }), 3 * bytes);
  report("rms_norm forward", pyllm_bench::median_seconds([&] {
    cpu::norm_forward(false, x, w, Tensor(), y, Tensor(), rstd, 1e-5);
  }), 2 * bytes);
}

PYLLM_BENCH(cross_entropy_rows) {
  const int64_t N = 1024, C = 50257;
  Tensor x = ops::randn({N, C}), t = ops::randint(0, C, {N}), loss = ops::empty({N});
  Tensor lse = ops::empty({N}, DType::Float64);
  Tensor gx = ops::empty({N, C});
  const double bytes = 4.0 * N * C;
  std::printf("cross_entropy (%lld, %lld)\n", static_cast<long long>(N), static_cast<long long>(C));
  report("forward", pyllm_bench::median_seconds([&] { cpu::cross_entropy(x, t, loss, lse, N, C, 1, -100, 0.0); }),
         bytes);
  report("backward", pyllm_bench::median_seconds([&] {
    cpu::cross_entropy_backward(x, t, lse, Tensor(), 1.0 / N, gx, N, C, 1, -100, 0.0);
  }), 2 * bytes);
}

PYLLM_BENCH(embedding_scatter) {
  const int64_t V = 50257, C = 768, n = 8192;
  Tensor ids = ops::randint(0, V, {n}), g = ops::randn({n, C}), gw = ops::empty({V, C});
  std::printf("embedding backward V=%lld C=%lld n=%lld\n", static_cast<long long>(V), static_cast<long long>(C),
              static_cast<long long>(n));
  report("zero the (V, C) gradient + scatter-add n rows",
         pyllm_bench::median_seconds([&] { cpu::scatter_add_rows(g, ids, gw, 1, V, C); }),
         4.0 * V * C + 3 * 4.0 * n * C);
}
