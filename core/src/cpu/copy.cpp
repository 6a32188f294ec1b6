#include "cpu/copy.h"

#include <cstring>

#include "cpu/dtype_visit.h"
#include "cpu/loops.h"

namespace pyllm::cpu {

void copy(const Tensor& dst, const Tensor& src) {
  char* dst_base = static_cast<char*>(dst.data_ptr());
  const char* src_base = static_cast<const char*>(src.data_ptr());
  visit_dtype(dst.dtype(), [&](auto dst_tag) {
    using D = typename decltype(dst_tag)::type;
    visit_dtype(src.dtype(), [&](auto src_tag) {
      using S = typename decltype(src_tag)::type;
      for_each_run<2>(dst.shape(), {dst.strides(), src.strides()},
                      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
        D* d = reinterpret_cast<D*>(dst_base) + off[0];
        const S* s = reinterpret_cast<const S*>(src_base) + off[1];
        if constexpr (std::is_same_v<D, S>) {
          if (st[0] == 1 && st[1] == 1) {
            std::memcpy(static_cast<void*>(d), static_cast<const void*>(s), n * sizeof(D));
            return;
          }
        }
        if (st[0] == 1 && st[1] == 1) {
          for (int64_t i = 0; i < n; ++i) d[i] = convert<D>(s[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) d[i * st[0]] = convert<D>(s[i * st[1]]);
        }
      });
    });
  });
}

void fill(const Tensor& dst, double value) {
  char* base = static_cast<char*>(dst.data_ptr());
  visit_dtype(dst.dtype(), [&](auto tag) {
    using D = typename decltype(tag)::type;
    const D v = from_double<D>(value);
    for_each_run<1>(dst.shape(), {dst.strides()},
                    [&](const std::array<int64_t, 1>& off, int64_t n, const std::array<int64_t, 1>& st) {
      D* d = reinterpret_cast<D*>(base) + off[0];
      for (int64_t i = 0; i < n; ++i) d[i * st[0]] = v;
    });
  });
}

void fill_arange(const Tensor& dst, double start, double step) {
  visit_dtype(dst.dtype(), [&](auto tag) {
    using D = typename decltype(tag)::type;
    D* d = static_cast<D*>(dst.data_ptr());
    parallel_for(0, dst.numel(), 32768, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) d[i] = from_double<D>(start + static_cast<double>(i) * step);
    });
  });
}

}  // namespace pyllm::cpu
