// Tensor geometry, views, autograd engine and the elementwise/reduction kernels, against hand-computed
// values and float64 finite differences.
#include "pyllm/autograd.h"
#include "pyllm/ops.h"
#include "test_util.h"

using namespace pyllm;

namespace {

Tensor from_values(const std::vector<double>& v, const Shape& shape, DType dtype = DType::Float64) {
  Tensor t = ops::empty(shape, dtype);
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == DType::Float64) t.data<double>()[i] = v[i];
    else t.data<float>()[i] = static_cast<float>(v[i]);
  }
  return t;
}

double at(const Tensor& t, int64_t i) {
  Tensor c = ops::contiguous(t);
  return c.dtype() == DType::Float64 ? c.data<double>()[i] : c.data<float>()[i];
}

}  // namespace

PYLLM_TEST(views_share_storage_and_strides) {
  Tensor x = ops::arange(0, 24, 1, DType::Float32);
  Tensor y = ops::reshape(x, {2, 3, 4});
  EXPECT(y.storage() == x.storage());
  Tensor t = ops::transpose(y, 0, 2);  // (4,3,2)
  EXPECT(t.shape() == (Shape{4, 3, 2}));
  EXPECT(!t.is_contiguous());
  EXPECT(at(t, 1) == 12.0);  // t[0,0,1] = y[1,0,0]
  Tensor s = ops::slice(y, 2, 1, std::nullopt, 2);  // y[:, :, 1::2]
  EXPECT(s.shape() == (Shape{2, 3, 2}));
  EXPECT(at(s, 0) == 1.0 && at(s, 1) == 3.0 && at(s, 2) == 5.0);
  EXPECT_THROWS(ops::view(t, {24}), ValueError);
  EXPECT(ops::reshape(t, {24}).storage() != x.storage());  // reshape copies when it must
}

PYLLM_TEST(broadcast_add_and_backward) {
  Tensor a = from_values({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_values({10, 20, 30}, {3});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor c = ops::mul(ops::add(a, b), b);  // (a + b) * b
  EXPECT(at(c, 4) == (5 + 20) * 20);
  ops::sum(c).backward();
  EXPECT(at(a.grad(), 0) == 10.0);                  // dc/da = b
  EXPECT(at(b.grad(), 1) == (2 + 2 * 20) + (5 + 2 * 20));  // sum over rows of a + 2b
}

PYLLM_TEST(second_backward_needs_retain_graph) {
  Tensor a = from_values({0.5, -1.5}, {2});
  a.set_requires_grad(true);
  Tensor y = ops::sum(ops::exp(a));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_NEAR(at(a.grad(), 0), 2 * std::exp(0.5), 1e-12);  // accumulated twice
  EXPECT_THROWS(y.backward(), RuntimeError);
}

PYLLM_TEST(inplace_after_save_is_caught) {
  Tensor a = from_values({1, 2}, {2});
  a.set_requires_grad(true);
  Tensor b = from_values({3, 4}, {2});
  Tensor y = ops::sum(ops::mul(a, b));
  ops::fill_(b, 0.0);
  EXPECT_THROWS(y.backward(), RuntimeError);
}

PYLLM_TEST(sum_over_each_layout) {
  Tensor x = ops::reshape(ops::arange(0, 60, 1, DType::Float64), {3, 4, 5});
  Tensor s0 = ops::sum(x, {0});        // (O=1, R=3, I=20)
  Tensor s2 = ops::sum(x, {2});        // (O=12, R=5, I=1)
  Tensor s02 = ops::sum(x, {0, 2});    // non-adjacent: permute + copy
  EXPECT(at(s0, 0) == 0 + 20 + 40);
  EXPECT(at(s2, 1) == 5 + 6 + 7 + 8 + 9);
  double expect = 0;
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 5; ++k) expect += i * 20 + 1 * 5 + k;
  EXPECT(at(s02, 1) == expect);
}

PYLLM_TEST(unary_matches_libm) {
  Tensor x = ops::randn({1000}, DType::Float32);
  Tensor e = ops::exp(x), t = ops::tanh(x), g = ops::gelu(x);
  for (int64_t i = 0; i < 1000; ++i) {
    double v = at(x, i);
    EXPECT_NEAR(at(e, i), std::exp(v), 3e-7 * std::exp(v));
    EXPECT_NEAR(at(t, i), std::tanh(v), 3e-7);
    EXPECT_NEAR(at(g, i), 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-6);
  }
}

PYLLM_TEST(errors_name_the_op) {
  Tensor a = ops::zeros({2, 3}), b = ops::zeros({4, 3});
  try {
    ops::add(a, b);
    EXPECT(false);
  } catch (const ValueError& e) {
    EXPECT(std::string(e.what()).find("add") != std::string::npos);
    EXPECT(std::string(e.what()).find("(2,3)") != std::string::npos);
  }
  EXPECT_THROWS(ops::select(a, 0, 2), IndexError);
  EXPECT_THROWS(ops::exp(ops::zeros({2}, DType::Int64)), TypeError);
}
