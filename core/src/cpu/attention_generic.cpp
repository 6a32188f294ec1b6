// Attention kernels for any CPU (and for float64, which only gradient checks use): GCC vector
// extensions of 16 bytes, which every target has.
#include <cstring>

#include "cpu/attention_impl.h"

namespace pyllm::cpu::attention_generic {

namespace {

template <typename Elem>
struct Vec {
  using T = Elem;
  typedef Elem V __attribute__((vector_size(16)));
  static constexpr int W = 16 / sizeof(Elem), R = 4, NV = 2;
  static V zero() { return V{}; }
  static V load(const Elem* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(Elem* p, V v) { std::memcpy(p, &v, sizeof v); }
  static V bcast(Elem s) { return V{} + s; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V add(V a, V b) { return a + b; }
  static Elem reduce_max(V v) {
    Elem m = v[0];
    for (int l = 1; l < W; ++l) m = v[l] > m ? v[l] : m;
    return m;
  }
  static Elem reduce_add(V v) {
    Elem s = v[0];
    for (int l = 1; l < W; ++l) s += v[l];
    return s;
  }
  static void transpose(const Elem* src, int64_t ld_src, Elem* dst, int64_t ld_dst) {
    for (int r = 0; r < W; ++r)
      for (int c = 0; c < W; ++c) dst[c * ld_dst + r] = src[r * ld_src + c];
  }
};

}  // namespace

void forward(const AttnForwardArgs<float>& a) { forward_impl<Vec<float>>(a); }
void forward(const AttnForwardArgs<double>& a) { forward_impl<Vec<double>>(a); }
void backward(const AttnBackwardArgs<float>& a) { backward_impl<Vec<float>>(a); }
void backward(const AttnBackwardArgs<double>& a) { backward_impl<Vec<double>>(a); }

}  // namespace pyllm::cpu::attention_generic
