// The strided copy (cpu::copy behind contiguous, clone, to_dtype, copy_ and cat): every layout against an
// element-by-element reference walk, dtype conversion on the way, broadcast sources, overlapping
// self-copies, and the parallel path.
#include <cstring>
#include <numeric>

#include "cpu/copy.h"
#include "pyllm/ops.h"
#include "test_util.h"

using namespace pyllm;

namespace {

// Element `flat` (row-major over the shape) of a float64 / float32 / int64 view, read through its strides.
double read(const Tensor& t, int64_t flat) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (flat % t.shape()[d]) * t.strides()[d];
    flat /= t.shape()[d];
  }
  const char* base = static_cast<const char*>(t.storage()->data) + t.offset() * itemsize(t.dtype());
  switch (t.dtype()) {
    case DType::Float64: return reinterpret_cast<const double*>(base)[off];
    case DType::Float32: return reinterpret_cast<const float*>(base)[off];
    case DType::Int64: return static_cast<double>(reinterpret_cast<const int64_t*>(base)[off]);
    case DType::Int32: return reinterpret_cast<const int32_t*>(base)[off];
    case DType::Float16: return fp16_to_float(reinterpret_cast<const uint16_t*>(base)[off]);
    case DType::BFloat16: return bf16_to_float(reinterpret_cast<const uint16_t*>(base)[off]);
    case DType::Bool: return reinterpret_cast<const bool*>(base)[off];
  }
  return 0;
}

Tensor iota(const Shape& shape) {  // float64 0, 1, 2, ... (exact in every dtype used below)
  return ops::reshape(ops::arange(0, static_cast<double>(numel_of(shape)), 1, DType::Float64), shape);
}

void expect_same_values(const Tensor& a, const Tensor& b) {
  EXPECT(a.shape() == b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT(read(a, i) == read(b, i));
}

}  // namespace

PYLLM_TEST(copy_every_layout_into_every_layout) {
  Tensor x = iota({4, 5, 6});
  std::vector<Tensor> sources = {
      x,                                            // contiguous: one memcpy
      ops::permute(x, {2, 0, 1}),                   // transposed
      ops::slice(ops::slice(x, 1, 1, 5, 2), 2, 0, 6, 3),  // stepped
      ops::select(x, 1, 3),                         // a dropped dim
      ops::expand(ops::slice(x, 0, 2, 3), {4, 5, 6}),  // broadcast: stride 0
  };
  for (const Tensor& src : sources) {
    Tensor dense = ops::empty(src.shape(), DType::Float64);
    cpu::copy(dense, src);
    expect_same_values(dense, src);
    EXPECT(dense.is_contiguous());
    // Into a strided destination: the transposed view of a fresh buffer.
    Shape reversed(src.shape().rbegin(), src.shape().rend());
    std::vector<int64_t> order(src.dim());
    std::iota(order.rbegin(), order.rend(), 0);
    Tensor dst = ops::permute(ops::zeros(reversed, DType::Float64), order);
    cpu::copy(dst, src);
    expect_same_values(dst, src);
  }
}

PYLLM_TEST(copy_converts_dtypes_on_the_way) {
  Tensor x = ops::permute(iota({3, 7}), {1, 0});
  for (DType d : {DType::Float32, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64}) {
    Tensor y = ops::to_dtype(x, d);
    EXPECT(y.dtype() == d && y.is_contiguous());
    expect_same_values(y, x);  // small integers are exact in every dtype
    Tensor back = ops::permute(ops::empty({3, 7}, DType::Float64), {1, 0});  // strided, converting back
    cpu::copy(back, y);
    expect_same_values(back, x);
  }
  // x[i][j] = 7 j + i, so x - 2 is zero only at flat index 6 (i = 2, j = 0).
  Tensor b = ops::to_dtype(ops::sub(x, ops::scalar_tensor(2.0, DType::Float64)), DType::Bool);
  for (int64_t i = 0; i < 21; ++i) EXPECT(read(b, i) == (i == 6 ? 0.0 : 1.0));
}

PYLLM_TEST(copy_runs_in_parallel_over_large_strided_inputs) {
  Tensor x = iota({300, 301});  // 90300 elements: over the parallel grain
  Tensor t = ops::contiguous(ops::transpose(x, 0, 1));
  for (int64_t i = 0; i < 301; i += 7)
    for (int64_t j = 0; j < 300; j += 11) EXPECT(read(t, i * 300 + j) == static_cast<double>(j * 301 + i));
  Tensor f = ops::to_dtype(t, DType::Float32);
  expect_same_values(f, t);
}

PYLLM_TEST(copy_into_overlapping_self_reads_everything_first) {
  Tensor x = iota({10});
  ops::copy_(ops::slice(x, 0, 1, std::nullopt), ops::slice(x, 0, 0, 9));  // x[1:] = x[:-1]
  double expect[10] = {0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  for (int64_t i = 0; i < 10; ++i) EXPECT(read(x, i) == expect[i]);
  Tensor m = iota({4, 4});
  ops::copy_(m, ops::transpose(m, 0, 1));  // in-place transpose
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT(read(m, i * 4 + j) == static_cast<double>(j * 4 + i));
  EXPECT(x.version() > 0);
}

PYLLM_TEST(fill_and_arange_every_dtype) {
  for (DType d : {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64,
                  DType::Bool}) {
    Tensor z = ops::permute(ops::full({3, 4}, 1.0, d), {1, 0});
    ops::fill_(ops::slice(z, 0, 1, 3), 0.0);
    for (int64_t i = 0; i < 12; ++i) EXPECT(read(z, i) == ((i / 3 == 1 || i / 3 == 2) ? 0.0 : 1.0));
    if (d == DType::Bool) continue;
    Tensor a = ops::arange(2, 20, 3, d);
    EXPECT(a.numel() == 6);
    for (int64_t i = 0; i < 6; ++i) EXPECT(read(a, i) == 2.0 + 3.0 * static_cast<double>(i));
  }
}

PYLLM_TEST(cat_uses_the_strided_copy) {
  Tensor a = iota({2, 3}), b = ops::transpose(iota({4, 2}), 0, 1);  // (2,4), strided
  Tensor c = ops::cat({a, b}, 1);
  EXPECT(c.shape() == (Shape{2, 7}));
  double row1[7] = {3, 4, 5, 1, 3, 5, 7};
  for (int64_t j = 0; j < 7; ++j) EXPECT(read(c, 7 + j) == row1[j]);
  Tensor s = ops::stack({a, a, a}, 2);
  EXPECT(s.shape() == (Shape{2, 3, 3}) && read(s, 3 * 3 * 1 + 3 * 2 + 1) == 5.0);
  EXPECT_THROWS(ops::cat({}, 0), ValueError);
  EXPECT_THROWS(ops::cat({a, ops::zeros({2, 3}, DType::Float32)}, 0), TypeError);
  EXPECT_THROWS(ops::cat({a, b}, 0), ValueError);
  std::vector<Tensor> parts = ops::split(c, std::vector<int64_t>{3, 4}, 1);
  EXPECT(parts.size() == 2 && parts[1].storage() == c.storage() && read(parts[1], 4) == 1.0);
  EXPECT(ops::chunk(c, 3, 1).size() == 3);
}
