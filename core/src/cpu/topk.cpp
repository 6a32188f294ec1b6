#include "cpu/topk.h"

#include <algorithm>
#include <vector>

#include "cpu/dtype_visit.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

namespace {

template <typename T>
void topk_kernel(const T* x, int64_t O, int64_t R, int64_t I, int64_t k, bool largest, bool sorted, T* values,
                 int64_t* indices) {
  parallel_for(0, O * I, std::max<int64_t>(1, 16384 / R), [&](int64_t b, int64_t e) {
    std::vector<T> col(R);  // one column, gathered contiguous so that comparisons read in cache
    std::vector<int64_t> pos(R);
    // a ranks before b: NaN above numbers (so first for largest, last for smallest), then by value,
    // then by position.
    auto before = [&](int64_t a, int64_t b2) {
      const T va = col[a], vb = col[b2];
      const bool na = va != va, nb = vb != vb;
      if (na || nb) return na && nb ? a < b2 : (largest ? na : nb);
      if (va != vb) return largest ? va > vb : va < vb;
      return a < b2;
    };
    for (int64_t c = b; c < e; ++c) {
      const int64_t o = c / I, i = c % I;
      for (int64_t r = 0; r < R; ++r) {
        col[r] = x[(o * R + r) * I + i];
        pos[r] = r;
      }
      if (k < R) std::nth_element(pos.begin(), pos.begin() + k, pos.end(), before);
      if (sorted) std::sort(pos.begin(), pos.begin() + k, before);
      for (int64_t j = 0; j < k; ++j) {
        values[(o * k + j) * I + i] = col[pos[j]];
        indices[(o * k + j) * I + i] = pos[j];
      }
    }
  });
}

}  // namespace

void topk_ori(const Tensor& x, int64_t O, int64_t R, int64_t I, int64_t k, bool largest, bool sorted,
              const Tensor& values, const Tensor& indices) {
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    topk_kernel(x.data<T>(), O, R, I, k, largest, sorted, values.data<T>(), indices.data<int64_t>());
  });
}

}  // namespace pyllm::cpu
