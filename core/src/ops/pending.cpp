// Scaffolding while the ops below are being written on their branches; each branch deletes what it
// implements, and this file is deleted once empty.
#include "ops/common.h"

namespace pyllm::ops {

#define PYLLM_PENDING(name) PYLLM_FAIL(NotImplementedError, name ": not yet available")

Tensor matmul(const Tensor&, const Tensor&) { PYLLM_PENDING("matmul"); }
Tensor bmm(const Tensor&, const Tensor&) { PYLLM_PENDING("bmm"); }
Tensor linear(const Tensor&, const Tensor&, const Tensor&) { PYLLM_PENDING("linear"); }

}  // namespace pyllm::ops
