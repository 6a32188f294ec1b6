// Scaffolding while the ops below are being written on their branches; each branch deletes what it
// implements, and this file is deleted once empty.
#include "ops/common.h"

namespace pyllm::ops {

#define PYLLM_PENDING(name) PYLLM_FAIL(NotImplementedError, name ": not yet available")

Tensor cat(const std::vector<Tensor>&, int64_t) { PYLLM_PENDING("cat"); }
Tensor stack(const std::vector<Tensor>&, int64_t) { PYLLM_PENDING("stack"); }
std::vector<Tensor> split(const Tensor&, int64_t, int64_t) { PYLLM_PENDING("split"); }
std::vector<Tensor> split(const Tensor&, const std::vector<int64_t>&, int64_t) { PYLLM_PENDING("split"); }
std::vector<Tensor> chunk(const Tensor&, int64_t, int64_t) { PYLLM_PENDING("chunk"); }
Tensor matmul(const Tensor&, const Tensor&) { PYLLM_PENDING("matmul"); }
Tensor bmm(const Tensor&, const Tensor&) { PYLLM_PENDING("bmm"); }
Tensor linear(const Tensor&, const Tensor&, const Tensor&) { PYLLM_PENDING("linear"); }
Tensor scaled_dot_product_attention(const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                                    std::optional<double>, double, Generator*) { PYLLM_PENDING("scaled_dot_product_attention"); }
void adamw_step(const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>&, double, double, double, double, double, int64_t) { PYLLM_PENDING("adamw_step"); }
double global_norm(const std::vector<Tensor>&, double) { PYLLM_PENDING("global_norm"); }

}  // namespace pyllm::ops
