// Inverted dropout: kept elements are scaled by 1 / (1 - p) so that the expectation is unchanged. The
// mask comes from Philox counters reserved from the generator (deterministic for a seeded generator,
// independent of the thread count). Forward stores the mask (one byte per element, as PyTorch does) and
// backward reuses it: regenerating it would cost a second Philox pass on every backward.
#include "cpu/dropout.h"
#include "ops/common.h"

namespace pyllm::ops {

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check_defined(x, "dropout");
  PYLLM_CHECK(p >= 0.0 && p <= 1.0, ValueError, "dropout: probability has to be between 0 and 1, but got " << p);
  if (!training || p == 0.0) return x;  // x itself, no copy, as torch
  check_float(x, "dropout");
  if (x.device().type != DeviceType::CPU) unsupported_device("dropout", x.device());
  Generator& g = gen != nullptr ? *gen : Generator::default_generator();
  const uint64_t base = g.reserve(static_cast<uint64_t>((x.numel() + 3) / 4));
  const double scale = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;  // p == 1 drops everything: the scale is never used
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  Tensor mask = empty(x.shape(), DType::Bool, x.device());
  if (x.numel() > 0) cpu::dropout(contiguous(x.detach()), out, mask, p, scale, g.seed(), base);
  if (autograd::needs_grad({x})) {
    SavedTensor smask(mask);
    autograd::record("DropoutBackward", {x}, {out}, [smask, scale](std::vector<Tensor>& grads) {
      Tensor m = smask.unpack("dropout");
      Tensor gx = empty(m.shape(), grads[0].dtype(), m.device());
      if (m.numel() > 0) cpu::dropout_backward(contiguous(grads[0]), m, scale, gx);
      return std::vector<Tensor>{gx};
    });
  }
  return out;
}

}  // namespace pyllm::ops
