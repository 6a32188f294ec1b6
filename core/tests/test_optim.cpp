// The optimizer kernels against a plain double-precision reference, on whichever SIMD path PYLLM_ISA
// selects (ctest runs this binary once per path).
#include <algorithm>
#include <cmath>

#include "pyllm/ops.h"
#include "test_util.h"

using namespace pyllm;

namespace {

double value(const Tensor& t, int64_t i) {
  return t.dtype() == DType::Float64 ? t.data<double>()[i] : t.data<float>()[i];
}

// Sizes around the 16-lane vector width and the threads' split points, plus one spanning many splits.
const std::vector<int64_t> kSizes = {1, 3, 17, 129, 100003};

void check_adamw(DType dtype, double beta1, double tol) {
  const double lr = 0.01, beta2 = 0.999, eps = 1e-8, wd = 0.1;
  std::vector<Tensor> p, g, m, v;
  std::vector<std::vector<double>> rp, rm, rv;  // the reference, in double
  for (int64_t n : kSizes) {
    p.push_back(ops::randn({n}, dtype));
    m.push_back(ops::zeros({n}, dtype));
    v.push_back(ops::zeros({n}, dtype));
    rp.emplace_back(n);
    for (int64_t i = 0; i < n; ++i) rp.back()[i] = value(p.back(), i);
    rm.emplace_back(n, 0.0);
    rv.emplace_back(n, 0.0);
  }
  for (int64_t step = 1; step <= 5; ++step) {
    g.clear();
    for (int64_t n : kSizes) g.push_back(ops::randn({n}, dtype));
    ops::adamw_step(p, g, m, v, lr, beta1, beta2, eps, wd, step);
    const double bc1 = 1 - std::pow(beta1, step), bc2 = 1 - std::pow(beta2, step);
    for (size_t k = 0; k < kSizes.size(); ++k) {
      for (int64_t i = 0; i < kSizes[k]; ++i) {
        const double gi = value(g[k], i);
        rm[k][i] = beta1 * rm[k][i] + (1 - beta1) * gi;
        rv[k][i] = beta2 * rv[k][i] + (1 - beta2) * gi * gi;
        rp[k][i] = rp[k][i] * (1 - lr * wd) - lr / bc1 * rm[k][i] / (std::sqrt(rv[k][i] / bc2) + eps);
      }
    }
  }
  for (size_t k = 0; k < kSizes.size(); ++k) {
    for (int64_t i = 0; i < kSizes[k]; ++i) {
      EXPECT_NEAR(value(p[k], i), rp[k][i], tol * (1 + std::fabs(rp[k][i])));
      EXPECT_NEAR(value(m[k], i), rm[k][i], tol * (1 + std::fabs(rm[k][i])));
      EXPECT_NEAR(value(v[k], i), rv[k][i], tol * (1 + std::fabs(rv[k][i])));
    }
  }
}

}  // namespace

PYLLM_TEST(adamw_step_matches_reference) {
  check_adamw(DType::Float32, 0.9, 1e-5);
  check_adamw(DType::Float32, 0.3, 1e-5);  // 1 - beta1 >= 0.5: lerp from the other end
  check_adamw(DType::Float64, 0.9, 1e-12);
}

PYLLM_TEST(adamw_step_bumps_versions_and_rejects_bad_lists) {
  Tensor p = ops::randn({4}), g = ops::randn({4}), m = ops::zeros({4}), v = ops::zeros({4});
  const uint64_t before = p.version();
  ops::adamw_step({p}, {g}, {m}, {v}, 0.1, 0.9, 0.999, 1e-8, 0.0, 1);
  EXPECT(p.version() > before && m.version() > 0 && v.version() > 0);
  EXPECT_THROWS(ops::adamw_step({p}, {g, g}, {m}, {v}, 0.1, 0.9, 0.999, 1e-8, 0.0, 1), ValueError);
  EXPECT_THROWS(ops::adamw_step({p}, {ops::randn({5})}, {m}, {v}, 0.1, 0.9, 0.999, 1e-8, 0.0, 1), ValueError);
  EXPECT_THROWS(ops::adamw_step({p}, {g}, {ops::zeros({4}, DType::Float64)}, {v}, 0.1, 0.9, 0.999, 1e-8, 0.0, 1),
                TypeError);
  EXPECT_THROWS(ops::adamw_step({p}, {g}, {p}, {v}, 0.1, 0.9, 0.999, 1e-8, 0.0, 1), ValueError);  // overlap
  EXPECT_THROWS(ops::adamw_step({p}, {g}, {m}, {v}, 0.1, 0.9, 0.999, 1e-8, 0.0, 0), ValueError);
}

PYLLM_TEST(global_norm_matches_reference) {
  std::vector<Tensor> ts;
  for (int64_t n : kSizes) ts.push_back(ops::randn({n}, n % 2 ? DType::Float32 : DType::Float64));
  ts.push_back(ops::transpose(ops::randn({7, 9}), 0, 1));  // non-contiguous
  double l1 = 0, l2 = 0, linf = 0;
  for (const Tensor& t : ts) {
    Tensor c = ops::contiguous(t);
    for (int64_t i = 0; i < c.numel(); ++i) {
      const double a = std::fabs(value(c, i));
      l1 += a;
      l2 += a * a;
      linf = std::max(linf, a);
    }
  }
  EXPECT_NEAR(ops::global_norm(ts, 1.0), l1, 1e-12 * l1);
  EXPECT_NEAR(ops::global_norm(ts, 2.0), std::sqrt(l2), 1e-12 * std::sqrt(l2));
  EXPECT(ops::global_norm(ts, INFINITY) == linf);
  EXPECT_THROWS(ops::global_norm(ts, 0.5), ValueError);
  EXPECT_THROWS(ops::global_norm({ops::zeros({2}, DType::Int64)}, 2.0), TypeError);
}
