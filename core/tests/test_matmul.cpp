// The matmul and linear ops (forward and backward) against index-by-index sums in double, covering the
// three ways cpu::matmul_into runs a batch: one tall product (b shared), one product whose inner
// dimension runs over the batch (the gradient of a shared b), and batched products with a broadcast
// operand summed into its gradient. Run under PYLLM_SANITIZE, this also checks their memory accesses.
#include <cmath>

#include "pyllm/autograd.h"
#include "pyllm/ops.h"
#include "test_util.h"

using namespace pyllm;

namespace {

double at(const Tensor& t, std::initializer_list<int64_t> index) {
  Tensor c = ops::contiguous(t);
  int64_t flat = 0, d = 0;
  for (int64_t i : index) flat = flat * c.shape()[d++] + i;
  return c.data<double>()[flat];
}

Tensor leaf(const Shape& shape) {
  Tensor t = ops::randn(shape, DType::Float64);
  t.set_requires_grad(true);
  return t;
}

}  // namespace

// a (2,1,3,4) @ b (5,4,6) -> (2,5,3,6): a's batch dim 1 and b's missing dim broadcast.
PYLLM_TEST(matmul_broadcast_forward_and_backward) {
  Tensor a = leaf({2, 1, 3, 4}), b = leaf({5, 4, 6});
  Tensor out = ops::matmul(a, b);
  EXPECT(out.shape() == (Shape{2, 5, 3, 6}));
  Tensor g = ops::randn({2, 5, 3, 6}, DType::Float64);
  out.backward(g);
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t q = 0; q < 5; ++q)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 6; ++j) {
          double want = 0;
          for (int64_t k = 0; k < 4; ++k) want += at(a, {p, 0, i, k}) * at(b, {q, k, j});
          EXPECT_NEAR(at(out, {p, q, i, j}), want, 1e-12);
        }
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t k = 0; k < 4; ++k) {
        double want = 0;
        for (int64_t q = 0; q < 5; ++q)
          for (int64_t j = 0; j < 6; ++j) want += at(g, {p, q, i, j}) * at(b, {q, k, j});
        EXPECT_NEAR(at(a.grad(), {p, 0, i, k}), want, 1e-12);
      }
  for (int64_t q = 0; q < 5; ++q)
    for (int64_t k = 0; k < 4; ++k)
      for (int64_t j = 0; j < 6; ++j) {
        double want = 0;
        for (int64_t p = 0; p < 2; ++p)
          for (int64_t i = 0; i < 3; ++i) want += at(a, {p, 0, i, k}) * at(g, {p, q, i, j});
        EXPECT_NEAR(at(b.grad(), {q, k, j}), want, 1e-12);
      }
}

// x (2,3,4), transposed storage or not, through linear with weight (5,4) and bias (5).
PYLLM_TEST(linear_forward_and_backward) {
  for (bool transposed_x : {false, true}) {
    Tensor x = transposed_x ? ops::transpose(ops::randn({2, 4, 3}, DType::Float64), 1, 2)
                            : ops::randn({2, 3, 4}, DType::Float64);
    x.set_requires_grad(true);
    Tensor w = leaf({5, 4}), bias = leaf({5});
    Tensor out = ops::linear(x, w, bias);
    Tensor g = ops::randn({2, 3, 5}, DType::Float64);
    out.backward(g);
    for (int64_t p = 0; p < 2; ++p)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t o = 0; o < 5; ++o) {
          double want = at(bias, {o});
          for (int64_t k = 0; k < 4; ++k) want += at(x, {p, i, k}) * at(w, {o, k});
          EXPECT_NEAR(at(out, {p, i, o}), want, 1e-12);
        }
    for (int64_t o = 0; o < 5; ++o) {
      double want_b = 0;
      for (int64_t p = 0; p < 2; ++p)
        for (int64_t i = 0; i < 3; ++i) want_b += at(g, {p, i, o});
      EXPECT_NEAR(at(bias.grad(), {o}), want_b, 1e-12);
      for (int64_t k = 0; k < 4; ++k) {
        double want_w = 0;
        for (int64_t p = 0; p < 2; ++p)
          for (int64_t i = 0; i < 3; ++i) want_w += at(g, {p, i, o}) * at(x, {p, i, k});
        EXPECT_NEAR(at(w.grad(), {o, k}), want_w, 1e-12);
      }
    }
    for (int64_t p = 0; p < 2; ++p)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t k = 0; k < 4; ++k) {
          double want = 0;
          for (int64_t o = 0; o < 5; ++o) want += at(g, {p, i, o}) * at(w, {o, k});
          EXPECT_NEAR(at(x.grad(), {p, i, k}), want, 1e-12);
        }
  }
}

PYLLM_TEST(matmul_errors_name_the_op) {
  EXPECT_THROWS(ops::matmul(ops::randn({2, 3}), ops::randn({4, 5})), ValueError);
  EXPECT_THROWS(ops::matmul(ops::randn({2, 3}), ops::randn({3, 2}, DType::Float64)), TypeError);
  EXPECT_THROWS(ops::bmm(ops::randn({2, 3, 4}), ops::randn({3, 4, 5})), ValueError);
  EXPECT_THROWS(ops::linear(ops::randn({2, 3}), ops::randn({4, 5}), Tensor()), ValueError);
}
