// scaled_dot_product_attention against a direct float64 evaluation of softmax(scale q k^T + mask) v and
// its gradients, in float32 (the SIMD kernel that PYLLM_ISA selects: ctest runs every one) and float64.
#include <cmath>
#include <limits>
#include <vector>

#include "pyllm/autograd.h"
#include "pyllm/ops.h"
#include "test_util.h"

using namespace pyllm;

namespace {

std::vector<double> values(const Tensor& t) {
  Tensor c = ops::contiguous(ops::to_dtype(t.detach(), DType::Float64));
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

struct Reference {
  std::vector<double> out, dq, dk, dv;
};

// q: (B, Hq, T, D), k: (B, Hkv, S, D), v: (B, Hkv, S, E), mask: (T, S) added to the scores (empty: none),
// dout: (B, Hq, T, E).
Reference reference(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<double>& mask,
                    const Tensor& dout, bool causal) {
  const int64_t B = q.size(0), Hq = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t Hkv = k.size(1), S = k.size(2), E = v.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  std::vector<double> Q = values(q), K = values(k), V = values(v), G = values(dout);
  Reference r{std::vector<double>(B * Hq * T * E), std::vector<double>(Q.size()), std::vector<double>(K.size()),
              std::vector<double>(V.size())};
  std::vector<double> p(S), dp(S);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t i = 0; i < T; ++i) {
        const int64_t kvh = b * Hkv + h / (Hq / Hkv), qi = (b * Hq + h) * T + i;
        double m = -std::numeric_limits<double>::infinity(), l = 0, delta = 0;
        for (int64_t j = 0; j < S; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d) s += Q[qi * D + d] * K[(kvh * S + j) * D + d];
          p[j] = (causal && j > i) ? -INFINITY : s * scale + (mask.empty() ? 0.0 : mask[i * S + j]);
          m = std::max(m, p[j]);
        }
        for (int64_t j = 0; j < S; ++j) l += p[j] = std::exp(p[j] - m);
        for (int64_t j = 0; j < S; ++j) {
          p[j] /= l;
          dp[j] = 0;
          for (int64_t e = 0; e < E; ++e) {
            r.out[qi * E + e] += p[j] * V[(kvh * S + j) * E + e];
            dp[j] += G[qi * E + e] * V[(kvh * S + j) * E + e];
            r.dv[(kvh * S + j) * E + e] += p[j] * G[qi * E + e];
          }
          delta += p[j] * dp[j];
        }
        for (int64_t j = 0; j < S; ++j) {
          const double ds = p[j] * (dp[j] - delta) * scale;
          for (int64_t d = 0; d < D; ++d) {
            r.dq[qi * D + d] += ds * K[(kvh * S + j) * D + d];
            r.dk[(kvh * S + j) * D + d] += ds * Q[qi * D + d];
          }
        }
      }
  return r;
}

void expect_close(const std::vector<double>& ours, const std::vector<double>& ref, double tol) {
  EXPECT(ours.size() == ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(ours[i], ref[i], tol * (1 + std::fabs(ref[i])));
}

void check(DType dtype, int64_t B, int64_t Hq, int64_t Hkv, int64_t T, int64_t S, int64_t D, int64_t E, bool causal,
           bool with_mask, double tol) {
  Generator gen(static_cast<uint64_t>(T * 1000 + S));
  Tensor q = ops::randn({B, Hq, T, D}, dtype, &gen), k = ops::randn({B, Hkv, S, D}, dtype, &gen);
  Tensor v = ops::randn({B, Hkv, S, E}, dtype, &gen), dout = ops::randn({B, Hq, T, E}, dtype, &gen);
  Tensor mask = with_mask ? ops::randn({T, S}, dtype, &gen) : Tensor();
  for (const Tensor& t : {q, k, v}) t.set_requires_grad(true);
  Tensor out = ops::scaled_dot_product_attention(q, k, v, mask, causal);
  out.backward(dout);
  Reference r = reference(q, k, v, with_mask ? values(mask) : std::vector<double>(), dout, causal);
  expect_close(values(out), r.out, tol);
  expect_close(values(q.grad()), r.dq, tol);
  expect_close(values(k.grad()), r.dk, tol);
  expect_close(values(v.grad()), r.dv, tol);
}

}  // namespace

PYLLM_TEST(attention_causal_grouped_odd_sizes) {
  // 70 queries: one full 64-row tile and a partial one; D = 72 and Dv = 40 are not whole vectors.
  check(DType::Float32, 2, 4, 2, 70, 70, 72, 40, true, false, 2e-5);
  check(DType::Float64, 2, 4, 2, 70, 70, 72, 40, true, false, 1e-12);
}

PYLLM_TEST(attention_cross_with_float_mask) {
  check(DType::Float32, 1, 2, 2, 33, 130, 64, 64, false, true, 2e-5);
  check(DType::Float64, 1, 2, 1, 33, 130, 16, 8, false, true, 1e-12);
}

PYLLM_TEST(attention_errors) {
  Tensor q = ops::zeros({1, 2, 3, 4});
  EXPECT_THROWS(ops::scaled_dot_product_attention(q, q, q, ops::zeros({3, 3}), true), ValueError);
  EXPECT_THROWS(ops::scaled_dot_product_attention(q, ops::zeros({1, 3, 3, 4}), ops::zeros({1, 3, 3, 4})), ValueError);
  EXPECT_THROWS(ops::scaled_dot_product_attention(q, q, q, Tensor(), false, std::nullopt, 1.0), ValueError);
  EXPECT_THROWS(ops::scaled_dot_product_attention(q, q, q, ops::zeros({3, 3}, DType::Int64)), TypeError);
}
