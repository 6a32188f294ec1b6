// Philox4x32-10 and the random factories: the published known-answer vector, determinism under a seed,
// independence from the thread count and from how draws are split, and the generator's state.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "pyllm/generator.h"
#include "pyllm/ops.h"
#include "pyllm/parallel.h"
#include "test_util.h"

using namespace pyllm;

namespace {

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.numel() != b.numel()) return false;
  const size_t n = static_cast<size_t>(a.numel()) * itemsize(a.dtype());
  return std::memcmp(a.data_ptr(), b.data_ptr(), n) == 0;
}

}  // namespace

PYLLM_TEST(philox_known_answer) {
  // Random123's kat_vectors: philox4x32 10 rounds, counter {0,0,0,0}, key {0,0}.
  auto w = philox4x32(0, 0);
  EXPECT(w[0] == 0x6627e8d5u && w[1] == 0xe169c58du && w[2] == 0xbc57ac4cu && w[3] == 0x9b00dbd8u);
  // A pure function: the same (key, counter) always gives the same words; neighbours differ.
  EXPECT(philox4x32(123, 456) == philox4x32(123, 456));
  EXPECT(philox4x32(123, 456) != philox4x32(123, 457));
  EXPECT(philox4x32(123, 456) != philox4x32(124, 456));
  EXPECT(philox4x32(1, 1ull << 32) != philox4x32(1, 1));  // the counter's high word matters
}

PYLLM_TEST(same_seed_same_values_different_seed_different_values) {
  Generator a(42), b(42), c(43);
  Tensor ra = ops::randn({1001}, DType::Float32, &a), rb = ops::randn({1001}, DType::Float32, &b);
  Tensor rc = ops::randn({1001}, DType::Float32, &c);
  EXPECT(same_values(ra, rb) && !same_values(ra, rc));
  EXPECT(!same_values(ops::randn({1001}, DType::Float32, &a), ra));  // the stream advanced
  Generator::default_generator().manual_seed(7);
  Tensor d1 = ops::rand({64}, DType::Float64);
  Generator::default_generator().manual_seed(7);
  EXPECT(same_values(d1, ops::rand({64}, DType::Float64)));
}

PYLLM_TEST(values_do_not_depend_on_threads_or_on_how_draws_are_split) {
  const int threads = get_num_threads();
  Generator g1(9);
  set_num_threads(1);
  Tensor u1 = ops::rand({200003}, DType::Float32, &g1);
  Tensor n1 = ops::randn({200003}, DType::Float64, &g1);
  Tensor i1 = ops::randint(-5, 1000, {200003}, DType::Int32, &g1);
  Generator g2(9);
  set_num_threads(std::max(threads, 3));
  Tensor u2 = ops::rand({200003}, DType::Float32, &g2);
  Tensor n2 = ops::randn({200003}, DType::Float64, &g2);
  Tensor i2 = ops::randint(-5, 1000, {200003}, DType::Int32, &g2);
  set_num_threads(threads);
  EXPECT(same_values(u1, u2) && same_values(n1, n2) && same_values(i1, i2));
  EXPECT(g1.offset() == g2.offset() && g1.offset() == 200003 + 100002 + 200003);

  // Uniform draws use one counter per element: two draws continue one stream.
  Generator whole(5), split(5);
  Tensor all = ops::rand({10}, DType::Float32, &whole);
  Tensor first = ops::rand({4}, DType::Float32, &split), rest = ops::rand({6}, DType::Float32, &split);
  EXPECT(std::memcmp(all.data_ptr(), first.data_ptr(), 4 * sizeof(float)) == 0);
  EXPECT(std::memcmp(all.data<float>() + 4, rest.data_ptr(), 6 * sizeof(float)) == 0);
}

PYLLM_TEST(generator_state_restores_the_stream) {
  Generator g(3);
  ops::rand({17}, DType::Float32, &g);
  const uint64_t seed = g.seed(), offset = g.offset();
  EXPECT(seed == 3 && offset == 17);
  Tensor x = ops::randn({8}, DType::Float32, &g);
  Generator h;
  h.manual_seed(seed);
  h.set_offset(offset);
  EXPECT(same_values(x, ops::randn({8}, DType::Float32, &h)));
  g.manual_seed(3);
  EXPECT(g.offset() == 0);
}

PYLLM_TEST(random_ranges) {
  Generator g(11);
  Tensor u = ops::rand({100000}, DType::Float32, &g);
  double sum = 0;
  for (int64_t i = 0; i < u.numel(); ++i) {
    float v = u.data<float>()[i];
    EXPECT(v >= 0.0f && v < 1.0f);
    sum += v;
  }
  EXPECT_NEAR(sum / u.numel(), 0.5, 0.01);
  Tensor r = ops::randint(INT64_MIN, INT64_MAX, {1000}, DType::Int64, &g);  // the full range: no overflow
  int negatives = 0;
  for (int64_t i = 0; i < 1000; ++i) negatives += r.data<int64_t>()[i] < 0;
  EXPECT(negatives > 400 && negatives < 600);
  Tensor small = ops::randint(-2, 2, {1000}, DType::Int32, &g);
  for (int64_t i = 0; i < 1000; ++i) EXPECT(small.data<int32_t>()[i] >= -2 && small.data<int32_t>()[i] < 2);
  EXPECT_THROWS(ops::randint(0, int64_t(1) << 40, {2}, DType::Int32, &g), ValueError);
  EXPECT_THROWS(ops::randint(3, 3, {2}, DType::Int64, &g), ValueError);
}
