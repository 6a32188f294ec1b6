#include "cpu/matmul.h"

#include <array>

#include "cpu/gemm/gemm.h"
#include "cpu/loops.h"

namespace pyllm::cpu {

namespace {

// Element offsets of flat index `index` over geometry g's dims, leaving out the last `skip` dims.
template <size_t N>
std::array<int64_t, N> offsets_of(const LoopGeometry<N>& g, int64_t index, size_t skip) {
  std::array<int64_t, N> off{};
  for (int64_t d = static_cast<int64_t>(g.shape.size() - skip) - 1; d >= 0; --d) {
    const int64_t i = index % g.shape[d];
    index /= g.shape[d];
    for (size_t k = 0; k < N; ++k) off[k] += i * g.strides[k][d];
  }
  return off;
}

// Batch dims (strides st of two operands) followed by one more dim (size, with strides s0 and s1):
// whether they merge into a single dim, and if so that dim in g.
bool merge_into_one(Shape shape, std::array<Strides, 2> st, int64_t size, int64_t s0, int64_t s1,
                    LoopGeometry<2>& g) {
  shape.push_back(size);
  st[0].push_back(s0);
  st[1].push_back(s1);
  g = merge_dims<2>(shape, st);
  return g.shape.size() == 1;
}

template <typename T>
void run(const Tensor& a, const Tensor& b, const Tensor& out, bool accumulate) {
  const int64_t nb = out.dim() - 2;
  const int64_t M = out.shape()[nb], N = out.shape()[nb + 1], K = a.shape()[nb + 1];
  const int64_t rsa = a.strides()[nb], csa = a.strides()[nb + 1];
  const int64_t rsb = b.strides()[nb], csb = b.strides()[nb + 1];
  const int64_t rsc = out.strides()[nb], csc = out.strides()[nb + 1];
  const T* A = a.data<T>();
  const T* B = b.data<T>();
  T* C = out.data<T>();
  if (M == 0 || N == 0) return;

  // Batch dims of size > 1, split into those summed into out (out stride 0) and independent ones.
  Shape red, ind;
  std::array<Strides, 3> red_s, ind_s;
  bool b_shared = true;
  for (int64_t d = 0; d < nb; ++d) {
    const int64_t size = a.shape()[d];
    if (size == 0) return;
    if (size == 1) continue;
    const bool summed = out.strides()[d] == 0;
    (summed ? red : ind).push_back(size);
    std::array<Strides, 3>& s = summed ? red_s : ind_s;
    s[0].push_back(a.strides()[d]);
    s[1].push_back(b.strides()[d]);
    s[2].push_back(out.strides()[d]);
    b_shared = b_shared && b.strides()[d] == 0;
  }
  const T first_beta = accumulate ? T(1) : T(0);

  // Everything summed, and the batch dims continue a's columns and b's rows: one product whose inner
  // dimension runs over the batch too (the weight gradient of a layer applied to (B, T, C) inputs).
  LoopGeometry<2> g;
  if (ind.empty() && !red.empty() && merge_into_one(red, {red_s[0], red_s[1]}, K, csa, rsb, g)) {
    gemm(M, N, g.shape[0], T(1), A, rsa, g.strides[0][0], B, g.strides[1][0], csb, first_beta, C, rsc, csc);
    return;
  }
  // b shared by every product, and the batch dims continue a's and out's rows: one tall product.
  if (red.empty() && b_shared && merge_into_one(ind, {ind_s[0], ind_s[2]}, M, rsa, rsc, g)) {
    gemm(g.shape[0], N, K, T(1), A, g.strides[0][0], csa, B, rsb, csb, first_beta, C, g.strides[1][0], csc);
    return;
  }
  // In general: the summed products one after another (each adding into out), the independent ones as
  // batches that gemm_batched spreads over threads.
  const LoopGeometry<3> gr = merge_dims<3>(red, red_s);
  const LoopGeometry<3> gi = merge_dims<3>(ind, ind_s);
  const int64_t inner = gi.shape.back(), outer = numel_of(gi.shape) / inner, summed = numel_of(gr.shape);
  for (int64_t r = 0; r < summed; ++r) {
    const std::array<int64_t, 3> off_r = offsets_of(gr, r, 0);
    const T beta = r == 0 ? first_beta : T(1);
    for (int64_t o = 0; o < outer; ++o) {
      const std::array<int64_t, 3> off_i = offsets_of(gi, o, 1);
      gemm_batched(inner, M, N, K, T(1), A + off_r[0] + off_i[0], gi.strides[0].back(), rsa, csa,
                   B + off_r[1] + off_i[1], gi.strides[1].back(), rsb, csb, beta, C + off_r[2] + off_i[2],
                   gi.strides[2].back(), rsc, csc);
    }
  }
}

}  // namespace

void matmul_into(const Tensor& a, const Tensor& b, const Tensor& out, bool accumulate) {
  if (out.dtype() == DType::Float64) run<double>(a, b, out, accumulate);
  else run<float>(a, b, out, accumulate);
}

}  // namespace pyllm::cpu
