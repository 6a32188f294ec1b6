#include "cpu/softmax.h"

#include "cpu/softmax_kernels.h"

namespace pyllm::cpu {

namespace {

template <typename T>
void forward(const Tensor& x, const Tensor& y, int64_t O, int64_t C, int64_t I, bool log) {
  with_best_isa<T>([&](auto isa) {
    SoftmaxKernels<decltype(isa)::value, T>::forward(x.data<T>(), y.data<T>(), O, C, I, log);
  });
}

template <typename T>
void backward(const Tensor& y, const Tensor& g, const Tensor& gx, int64_t O, int64_t C, int64_t I, bool log) {
  with_best_isa<T>([&](auto isa) {
    SoftmaxKernels<decltype(isa)::value, T>::backward(y.data<T>(), g.data<T>(), gx.data<T>(), O, C, I, log);
  });
}

}  // namespace

void softmax(const Tensor& x, const Tensor& y, int64_t O, int64_t C, int64_t I, bool log) {
  if (x.dtype() == DType::Float32) forward<float>(x, y, O, C, I, log);
  else forward<double>(x, y, O, C, I, log);
}

void softmax_backward(const Tensor& y, const Tensor& g, const Tensor& gx, int64_t O, int64_t C, int64_t I, bool log) {
  if (y.dtype() == DType::Float32) backward<float>(y, g, gx, O, C, I, log);
  else backward<double>(y, g, gx, O, C, I, log);
}

}  // namespace pyllm::cpu
