#include "cpu/cross_entropy.h"

#include "cpu/cross_entropy_kernels.h"

namespace pyllm::cpu {

namespace {

// f(T, Idx) for the float dtype of `x` and the id dtype of `ids`.
template <typename F>
void dispatch(const Tensor& x, const Tensor& ids, F&& f) {
  auto with_ids = [&](auto value) {
    using T = decltype(value);
    if (ids.dtype() == DType::Int32) f(T(), int32_t());
    else f(T(), int64_t());
  };
  if (x.dtype() == DType::Float32) with_ids(float());
  else with_ids(double());
}

}  // namespace

void cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& loss, const Tensor& lse, int64_t O,
                   int64_t C, int64_t I, int64_t ignore_index, double label_smoothing) {
  dispatch(logits, target, [&](auto t, auto idx) {
    using T = decltype(t);
    using Idx = decltype(idx);
    with_best_isa<T>([&](auto isa) {
      CrossEntropyKernels<decltype(isa)::value, T, Idx>::forward(logits.data<T>(), target.data<Idx>(), loss.data<T>(),
                                                                 lse.data<double>(), O, C, I, ignore_index,
                                                                 static_cast<T>(label_smoothing));
    });
  });
}

void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& grad_loss,
                            double scale, const Tensor& grad_logits, int64_t O, int64_t C, int64_t I,
                            int64_t ignore_index, double label_smoothing) {
  dispatch(logits, target, [&](auto t, auto idx) {
    using T = decltype(t);
    using Idx = decltype(idx);
    with_best_isa<T>([&](auto isa) {
      CrossEntropyKernels<decltype(isa)::value, T, Idx>::backward(
          logits.data<T>(), target.data<Idx>(), lse.data<double>(), grad_loss.defined() ? grad_loss.data<T>() : nullptr,
          static_cast<T>(scale), grad_logits.data<T>(), O, C, I, ignore_index, static_cast<T>(label_smoothing));
    });
  });
}

}  // namespace pyllm::cpu
