#include "cpu/dropout.h"

#include "pyllm/generator.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

namespace {

// One Philox call yields the draws of four consecutive elements; work is split on groups of four.
template <typename T>
void forward_kernel(const T* x, T* out, bool* mask, int64_t n, double p, T scale, uint64_t seed, uint64_t base) {
  parallel_for(0, (n + 3) / 4, 4096, [&](int64_t b, int64_t e) {
    for (int64_t q = b; q < e; ++q) {
      const std::array<uint32_t, 4> w = philox4x32(seed, base + static_cast<uint64_t>(q));
      for (int64_t k = 0; k < 4 && 4 * q + k < n; ++k) {
        const int64_t i = 4 * q + k;
        const bool keep = static_cast<double>(uniform01f(w[k])) >= p;
        mask[i] = keep;
        out[i] = keep ? x[i] * scale : T(0);
      }
    }
  });
}

template <typename T>
void backward_kernel(const T* g, const bool* mask, T scale, T* gx, int64_t n) {
  parallel_for(0, n, 32768, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) gx[i] = mask[i] ? g[i] * scale : T(0);
  });
}

}  // namespace

void dropout(const Tensor& x, const Tensor& out, const Tensor& mask, double p, double scale, uint64_t seed,
             uint64_t base) {
  if (x.dtype() == DType::Float32) {
    forward_kernel(x.data<float>(), out.data<float>(), mask.data<bool>(), x.numel(), p, static_cast<float>(scale),
                   seed, base);
  } else {
    forward_kernel(x.data<double>(), out.data<double>(), mask.data<bool>(), x.numel(), p, scale, seed, base);
  }
}

void dropout_backward(const Tensor& g, const Tensor& mask, double scale, const Tensor& gx) {
  if (g.dtype() == DType::Float32) {
    backward_kernel(g.data<float>(), mask.data<bool>(), static_cast<float>(scale), gx.data<float>(), g.numel());
  } else {
    backward_kernel(g.data<double>(), mask.data<bool>(), scale, gx.data<double>(), g.numel());
  }
}

}  // namespace pyllm::cpu
