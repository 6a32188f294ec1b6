// The fused NN kernels against compositions of simpler ops evaluated in float64. ctest runs this binary
// once per instruction set (PYLLM_ISA), so every SIMD path of softmax, cross-entropy and the norms is
// checked here, at float32 sizes that exercise vector bodies and tails.
#include <cmath>

#include "pyllm/ops.h"
#include "test_util.h"

using namespace pyllm;

namespace {

// max |a - b| over all elements, both converted to float64.
double max_abs_diff(const Tensor& a, const Tensor& b) {
  Tensor d = ops::abs(ops::sub(ops::to_dtype(a, DType::Float64), ops::to_dtype(b, DType::Float64)));
  return ops::max(d).data<double>()[0];
}

Tensor f64(const Tensor& t) { return ops::to_dtype(t, DType::Float64); }

// softmax over `dim` by definition, in float64.
Tensor reference_softmax(const Tensor& x, int64_t dim) {
  Tensor xd = f64(x);
  Tensor e = ops::exp(ops::sub(xd, std::get<0>(ops::max(xd, dim, true))));
  return ops::div(e, ops::sum(e, {dim}, true));
}

}  // namespace

PYLLM_TEST(softmax_matches_its_definition_on_rows_and_inner_dims) {
  Generator gen(1);
  Tensor x = ops::mul(ops::randn({3, 1003, 5}, DType::Float32, &gen), ops::scalar_tensor(4.0, DType::Float32));
  for (int64_t dim : {1, 2}) {
    Tensor ref = reference_softmax(x, dim);
    EXPECT(max_abs_diff(ops::softmax(x, dim), ref) < 1e-6);
    EXPECT(max_abs_diff(ops::log_softmax(x, dim), ops::log(ref)) < 2e-5);
  }
}

PYLLM_TEST(cross_entropy_matches_log_softmax_gather) {
  Generator gen(2);
  Tensor logits = ops::randn({7, 1001}, DType::Float32, &gen);
  Tensor target = ops::randint(0, 1001, {7}, DType::Int64, &gen);
  Tensor logp = ops::log_softmax(f64(logits), 1);
  double expect = 0;
  for (int64_t i = 0; i < 7; ++i)
    expect -= ops::select(ops::select(logp, 0, i), 0, target.data<int64_t>()[i]).data<double>()[0];
  Tensor loss = ops::cross_entropy(logits, target, -100, 0.0, ops::Reduction::Sum);
  EXPECT_NEAR(loss.data<float>()[0], expect, 1e-4);
  // With full smoothing the target does not matter: the loss is the mean of -log p over the classes.
  Tensor smooth = ops::cross_entropy(logits, target, -100, 1.0, ops::Reduction::Sum);
  EXPECT_NEAR(smooth.data<float>()[0], -ops::sum(logp).data<double>()[0] / 1001.0, 1e-3);
}

PYLLM_TEST(cross_entropy_gradient_is_softmax_minus_onehot) {
  Generator gen(3);
  Tensor logits = ops::randn({2, 301, 3}, DType::Float32, &gen);
  logits.set_requires_grad(true);
  Tensor target = ops::randint(0, 301, {2, 3}, DType::Int32, &gen);
  ops::cross_entropy(logits, target, -100, 0.0, ops::Reduction::Sum).backward();
  // grad - softmax is -1 at each of the 6 targets and 0 elsewhere.
  Tensor diff = ops::sub(f64(logits.grad()), reference_softmax(logits.detach(), 1));
  EXPECT_NEAR(ops::sum(ops::abs(diff)).data<double>()[0], 6.0, 1e-4);
  EXPECT_NEAR(ops::sum(diff).data<double>()[0], -6.0, 1e-4);
}

PYLLM_TEST(layer_norm_and_rms_norm_normalize_rows) {
  Generator gen(4);
  Tensor x = ops::add(ops::randn({9, 777}, DType::Float32, &gen), ops::scalar_tensor(3.0, DType::Float32));
  Tensor y = f64(ops::layer_norm(x, {777}, Tensor(), Tensor(), 0.0));
  Tensor one = ops::scalar_tensor(1.0, DType::Float64);
  EXPECT(max_abs_diff(ops::mean(y, {1}), ops::zeros({9}, DType::Float64)) < 1e-6);
  EXPECT(max_abs_diff(ops::var(y, {1}, 0.0), ops::expand(one, {9})) < 1e-5);
  Tensor r = f64(ops::rms_norm(x, {777}, Tensor(), 0.0));
  EXPECT(max_abs_diff(ops::mean(ops::mul(r, r), {1}), ops::expand(one, {9})) < 1e-5);
}

PYLLM_TEST(dropout_is_deterministic_per_seed) {
  Tensor x = ops::ones({1001});
  Generator a(9), b(9);
  EXPECT(max_abs_diff(ops::dropout(x, 0.5, true, &a), ops::dropout(x, 0.5, true, &b)) == 0.0);
  EXPECT(max_abs_diff(ops::dropout(x, 0.5, true, &a), ops::dropout(x, 0.5, true, &a)) > 0.0);
}
