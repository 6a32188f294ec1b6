// cpu::gemm and its micro-kernels against a naive triple loop in double: odd shapes that leave partial
// register tiles and cache blocks, transposed and padded strides, alpha/beta (beta == 0 must not read C),
// batches with a broadcast operand, and every micro-kernel this CPU can run, each partial tile size.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/gemm/gemm.h"
#include "cpu/gemm/kernel.h"
#include "test_util.h"

using namespace pyllm;

namespace {

// A matrix of `rows` x `cols` in a buffer with the given layout: transposed (column-major) or not, and
// `pad` unused elements after each row (or column), so that strides are not the dense ones.
template <typename T>
struct Mat {
  int64_t rows, cols, rs, cs;
  std::vector<T> data;
  Mat(int64_t r, int64_t c, bool transposed, int64_t pad, std::mt19937& gen) : rows(r), cols(c) {
    rs = transposed ? 1 : c + pad;
    cs = transposed ? r + pad : 1;
    data.resize(static_cast<size_t>(std::max<int64_t>(1, (transposed ? c * (r + pad) : r * (c + pad)))));
    std::normal_distribution<double> dist;
    for (T& v : data) v = static_cast<T>(dist(gen));
  }
  T& at(int64_t i, int64_t j) { return data[i * rs + j * cs]; }
};

// The expected C after C = alpha * A @ B + beta * C, in double.
template <typename T>
std::vector<double> reference(Mat<T>& A, Mat<T>& B, Mat<T>& C, double alpha, double beta) {
  std::vector<double> out(C.rows * C.cols);
  for (int64_t i = 0; i < C.rows; ++i)
    for (int64_t j = 0; j < C.cols; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < A.cols; ++k) acc += double(A.at(i, k)) * double(B.at(k, j));
      out[i * C.cols + j] = alpha * acc + (beta == 0 ? 0.0 : beta * double(C.at(i, j)));
    }
  return out;
}

// |got - want| within a bound that grows with K (float rounding accumulates over the inner dimension).
template <typename T>
void expect_matches(Mat<T>& C, const std::vector<double>& want, int64_t K) {
  const double eps = std::numeric_limits<T>::epsilon();
  for (int64_t i = 0; i < C.rows; ++i)
    for (int64_t j = 0; j < C.cols; ++j) {
      const double w = want[i * C.cols + j];
      EXPECT_NEAR(double(C.at(i, j)), w, 4 * eps * (std::fabs(w) + 1) * std::sqrt(double(K) + 1) * 4);
    }
}

template <typename T>
void check_one(int64_t M, int64_t N, int64_t K, bool ta, bool tb, bool tc, int64_t pad, double alpha, double beta,
               std::mt19937& gen) {
  Mat<T> A(M, K, ta, pad, gen), B(K, N, tb, pad, gen), C(M, N, tc, pad, gen);
  if (beta == 0)  // C must be write-only: NaN there would show through any read
    for (T& v : C.data) v = std::numeric_limits<T>::quiet_NaN();
  std::vector<double> want = reference(A, B, C, alpha, beta);
  cpu::gemm(M, N, K, T(alpha), A.data.data(), A.rs, A.cs, B.data.data(), B.rs, B.cs, T(beta), C.data.data(), C.rs,
            C.cs);
  expect_matches(C, want, K);
}

const int64_t kSizes[][3] = {{1, 1, 1},   {1, 17, 5},   {17, 1, 5},    {3, 5, 1},     {14, 32, 7},
                             {15, 33, 9}, {29, 65, 31}, {129, 3, 17},  {3, 129, 17},  {100, 77, 513},
                             {171, 70, 700}, {5, 6, 0}, {0, 4, 3},     {4, 0, 3},     {300, 260, 40}};

template <typename T>
void check_shapes_and_layouts() {
  std::mt19937 gen(1234);
  const double ab[][2] = {{1, 0}, {0.5, 2}, {-1.5, 1}, {0, 0.5}};
  int variant = 0;
  for (const auto& s : kSizes)
    for (int layout = 0; layout < 8; ++layout) {
      const double* coef = ab[variant++ % 4];
      check_one<T>(s[0], s[1], s[2], layout & 1, layout & 2, layout & 4, variant % 3, coef[0], coef[1], gen);
    }
}

}  // namespace

PYLLM_TEST(gemm_f32_matches_naive_loop) { check_shapes_and_layouts<float>(); }
PYLLM_TEST(gemm_f64_matches_naive_loop) { check_shapes_and_layouts<double>(); }

PYLLM_TEST(gemm_batched_with_broadcast_operand) {
  std::mt19937 gen(99);
  const int64_t batch = 6, M = 37, N = 45, K = 29;
  Mat<float> A(batch * M, K, false, 0, gen), B(K, N, true, 2, gen), C(batch * M, N, false, 0, gen);
  // B shared by every product (batch stride 0); A and C stacked along rows.
  cpu::gemm_batched(batch, M, N, K, 2.0f, A.data.data(), M * A.rs, A.rs, A.cs, B.data.data(), 0, B.rs, B.cs, 0.0f,
                    C.data.data(), M * C.rs, C.rs, C.cs);
  std::vector<double> want = reference(A, B, C, 2.0, 0.0);
  expect_matches(C, want, K);
}

PYLLM_TEST(gemm_batched_distinct_products) {
  std::mt19937 gen(7);
  for (int64_t batch : {1, 2, 3, 8, 9}) {
    const int64_t M = 19, N = 40, K = 23;
    std::vector<Mat<float>> As, Bs, Cs;
    std::vector<float> a(batch * M * K), b(batch * K * N), c(batch * M * N);
    for (int64_t i = 0; i < batch; ++i) {
      As.emplace_back(M, K, false, 0, gen);
      Bs.emplace_back(K, N, false, 0, gen);
      Cs.emplace_back(M, N, false, 0, gen);
      std::copy(As[i].data.begin(), As[i].data.end(), a.begin() + i * M * K);
      std::copy(Bs[i].data.begin(), Bs[i].data.end(), b.begin() + i * K * N);
      std::copy(Cs[i].data.begin(), Cs[i].data.end(), c.begin() + i * M * N);
    }
    cpu::gemm_batched(batch, M, N, K, 1.0f, a.data(), M * K, K, 1, b.data(), K * N, N, 1, 1.0f, c.data(), M * N, N,
                      1);
    for (int64_t i = 0; i < batch; ++i) {
      std::vector<double> want = reference(As[i], Bs[i], Cs[i], 1.0, 1.0);
      std::copy(c.begin() + i * M * N, c.begin() + (i + 1) * M * N, Cs[i].data.begin());
      expect_matches(Cs[i], want, K);
    }
  }
}

namespace {

// 64-byte aligned storage (packed panels are aligned; the kernels use aligned loads on them).
struct Aligned {
  std::vector<float> store;
  float* p;
  explicit Aligned(int64_t n) : store(n + 16) {
    p = store.data() + (16 - reinterpret_cast<uintptr_t>(store.data()) / 4 % 16) % 16;
  }
};

// One micro-kernel for every partial tile size, A packed and in place (row-major with padded rows),
// C row-major and column-major; nothing outside the tile may be written.
void check_kernel(const cpu::gemm_kernels::Kernel<float>& ker) {
  std::mt19937 gen(5);
  std::normal_distribution<float> dist;
  const int64_t kc = 37, lda = kc + 3;
  Aligned packed_a(ker.mr * kc), b(ker.nr * kc);
  std::vector<float> a_rows(ker.mr * lda);  // the same A, row-major
  for (int64_t k = 0; k < kc; ++k)
    for (int i = 0; i < ker.mr; ++i) a_rows[i * lda + k] = packed_a.p[k * ker.mr + i] = dist(gen);
  for (int64_t i = 0; i < ker.nr * kc; ++i) b.p[i] = dist(gen);
  for (int mr = 1; mr <= ker.mr; ++mr)
    for (int nr = 1; nr <= ker.nr; ++nr)
      for (int layout = 0; layout < 4; ++layout) {
        const bool column_major = layout & 1, in_place = layout & 2;
        const int64_t rsc = column_major ? 1 : ker.nr + 5, csc = column_major ? ker.mr + 2 : 1;
        std::vector<float> c((ker.mr + 2) * (ker.nr + 5), 7.0f), before = c;
        const float beta = (mr + nr) % 2 ? 0.0f : -0.5f;
        if (in_place) ker.run(kc, a_rows.data(), lda, 1, b.p, beta, c.data(), rsc, csc, mr, nr);
        else ker.run(kc, packed_a.p, 1, ker.mr, b.p, beta, c.data(), rsc, csc, mr, nr);
        std::vector<bool> in_tile(c.size(), false);
        for (int i = 0; i < mr; ++i)
          for (int j = 0; j < nr; ++j) {
            const int64_t at = i * rsc + j * csc;
            in_tile[at] = true;
            double acc = 0;
            for (int64_t k = 0; k < kc; ++k) acc += double(a_rows[i * lda + k]) * b.p[k * ker.nr + j];
            acc += beta * double(before[at]);
            EXPECT_NEAR(c[at], acc, 1e-4 * (std::fabs(acc) + 1));
          }
        for (size_t e = 0; e < c.size(); ++e) EXPECT(in_tile[e] || c[e] == before[e]);
      }
}

// A kernel's packing routines against the layout kernel.h specifies, for row-major, column-major and
// arbitrarily strided sources whose sizes leave partial panels and partial SIMD blocks.
void check_packing(const cpu::gemm_kernels::Kernel<float>& ker) {
  std::mt19937 gen(11);
  std::normal_distribution<float> dist;
  const int64_t rows = 2 * ker.mr + 3, cols = 2 * ker.nr + 5, depth = 37;
  const int64_t layouts[][2] = {{depth + 2, 1}, {1, rows + 1}, {3 * (depth + 1), 3}};  // (rs, cs) of A
  for (const auto& l : layouts) {
    std::vector<float> a(rows * depth * 3 * 3 + 64);
    for (float& v : a) v = dist(gen);
    const int64_t panels = (rows + ker.mr - 1) / ker.mr;
    Aligned dst(panels * ker.mr * depth + cpu::gemm_kernels::kPackSlack);
    ker.pack_a(rows, depth, a.data(), l[0], l[1], dst.p);
    for (int64_t i = 0; i < panels * ker.mr; ++i)
      for (int64_t k = 0; k < depth; ++k) {
        const float want = i < rows ? a[i * l[0] + k * l[1]] : 0.0f;
        EXPECT(dst.p[(i / ker.mr) * ker.mr * depth + k * ker.mr + i % ker.mr] == want);
      }
  }
  const int64_t b_layouts[][2] = {{cols + 2, 1}, {1, depth + 1}, {3 * (cols + 1), 3}};  // (rs, cs) of B
  for (const auto& l : b_layouts) {
    std::vector<float> b(depth * cols * 3 * 3 + 64);
    for (float& v : b) v = dist(gen);
    const int64_t panels = (cols + ker.nr - 1) / ker.nr;
    Aligned dst(panels * ker.nr * depth);
    ker.pack_b(depth, cols, b.data(), l[0], l[1], -2.0f, dst.p);
    for (int64_t j = 0; j < panels * ker.nr; ++j)
      for (int64_t k = 0; k < depth; ++k) {
        const float want = j < cols ? -2.0f * b[k * l[0] + j * l[1]] : 0.0f;
        EXPECT(dst.p[(j / ker.nr) * ker.nr * depth + k * ker.nr + j % ker.nr] == want);
      }
  }
}

// Every kernel this CPU can run (not only the one best_isa() picks).
std::vector<cpu::gemm_kernels::Kernel<float>> runnable_kernels() {
  std::vector<cpu::gemm_kernels::Kernel<float>> kernels{cpu::gemm_kernels::generic_f32()};
  if (cpu::best_isa() >= cpu::Isa::Avx2) kernels.push_back(cpu::gemm_kernels::avx2_f32());
  if (cpu::best_isa() >= cpu::Isa::Avx512) kernels.push_back(cpu::gemm_kernels::avx512_f32());
  return kernels;
}

}  // namespace

PYLLM_TEST(gemm_micro_kernels_every_tile_size) {
  for (const auto& ker : runnable_kernels()) check_kernel(ker);
}

PYLLM_TEST(gemm_packing_layouts) {
  for (const auto& ker : runnable_kernels()) check_packing(ker);
}
