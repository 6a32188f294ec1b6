// fp32 matrix products through the ops (the same shapes as bench/bench_matmul.py, which compares them
// with NumPy and PyTorch): `pyllm-bench matmul`.
#include <cstdio>
#include <functional>

#include "bench_util.h"
#include "pyllm/ops.h"

namespace {

using namespace pyllm;

void report(const char* name, double flops, const std::function<void()>& fn, int reps) {
  const double s = pyllm_bench::median_seconds(fn, reps);
  std::printf("  %-34s %9.2f ms %8.1f GFLOP/s\n", name, s * 1e3, flops / s / 1e9);
}

// a (batch.., m, k) @ b (batch.., k, n); a_t / b_t: the operand is a transposed view of its storage.
void product(const char* name, int64_t batch, int64_t m, int64_t k, int64_t n, bool a_t, bool b_t, int reps) {
  auto make = [batch](int64_t rows, int64_t cols, bool transposed) {
    Shape shape = transposed ? Shape{cols, rows} : Shape{rows, cols};
    if (batch > 1) shape.insert(shape.begin(), batch);
    Tensor x = ops::randn(shape);
    return transposed ? ops::transpose(x, -1, -2) : x;
  };
  const Tensor a = make(m, k, a_t), b = make(k, n, b_t);
  report(name, 2.0 * batch * m * n * k, [&] { ops::matmul(a, b); }, reps);
}

}  // namespace

PYLLM_BENCH(matmul_fp32) {
  std::printf("matmul_fp32 (M x K x N, medians)\n");
  product("4096x768x3072", 1, 4096, 768, 3072, false, false, 15);
  product("4096x3072x768", 1, 4096, 3072, 768, false, false, 15);
  product("1024x1024x1024", 1, 1024, 1024, 1024, false, false, 31);
  product("4096x768x3072 A^T", 1, 4096, 768, 3072, true, false, 11);
  product("4096x768x3072 B^T", 1, 4096, 768, 3072, false, true, 11);
  product("1024x1024x1024 A^T B^T", 1, 1024, 1024, 1024, true, true, 31);
  product("batched 48x(256x64 @ 64x256)", 48, 256, 64, 256, false, false, 51);
  product("batched 48x(256x256 @ 256x64)", 48, 256, 256, 64, false, false, 51);
}

PYLLM_BENCH(linear_fp32) {
  std::printf("linear_fp32 (x @ W^T + b, medians)\n");
  const Tensor x = ops::randn({4096, 768}), w = ops::randn({3072, 768}), bias = ops::randn({3072});
  report("linear 4096x768 -> 3072 +bias", 2.0 * 4096 * 768 * 3072, [&] { ops::linear(x, w, bias); }, 15);
}
