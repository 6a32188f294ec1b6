// Scaffolding while the ops below are being written on their branches; each branch deletes what it
// implements, and this file is deleted once empty.
#include "ops/common.h"

namespace pyllm::ops {

#define PYLLM_PENDING(name) PYLLM_FAIL(NotImplementedError, name ": not yet available")

Tensor var(const Tensor&, const std::vector<int64_t>&, double, bool) { PYLLM_PENDING("var"); }
Tensor max(const Tensor&) { PYLLM_PENDING("max"); }
std::pair<Tensor, Tensor> max(const Tensor&, int64_t, bool) { PYLLM_PENDING("max"); }
Tensor min(const Tensor&) { PYLLM_PENDING("min"); }
std::pair<Tensor, Tensor> min(const Tensor&, int64_t, bool) { PYLLM_PENDING("min"); }
Tensor argmax(const Tensor&, std::optional<int64_t>, bool) { PYLLM_PENDING("argmax"); }
std::pair<Tensor, Tensor> topk(const Tensor&, int64_t, int64_t, bool, bool) { PYLLM_PENDING("topk"); }
Tensor softmax(const Tensor&, int64_t) { PYLLM_PENDING("softmax"); }
Tensor log_softmax(const Tensor&, int64_t) { PYLLM_PENDING("log_softmax"); }
Tensor layer_norm(const Tensor&, const Shape&, const Tensor&, const Tensor&, double) { PYLLM_PENDING("layer_norm"); }
Tensor rms_norm(const Tensor&, const Shape&, const Tensor&, std::optional<double>) { PYLLM_PENDING("rms_norm"); }
Tensor embedding(const Tensor&, const Tensor&, std::optional<int64_t>) { PYLLM_PENDING("embedding"); }
Tensor index_select(const Tensor&, int64_t, const Tensor&) { PYLLM_PENDING("index_select"); }
Tensor cat(const std::vector<Tensor>&, int64_t) { PYLLM_PENDING("cat"); }
Tensor stack(const std::vector<Tensor>&, int64_t) { PYLLM_PENDING("stack"); }
std::vector<Tensor> split(const Tensor&, int64_t, int64_t) { PYLLM_PENDING("split"); }
std::vector<Tensor> split(const Tensor&, const std::vector<int64_t>&, int64_t) { PYLLM_PENDING("split"); }
std::vector<Tensor> chunk(const Tensor&, int64_t, int64_t) { PYLLM_PENDING("chunk"); }
Tensor cross_entropy(const Tensor&, const Tensor&, int64_t, double, Reduction) { PYLLM_PENDING("cross_entropy"); }
Tensor dropout(const Tensor&, double, bool, Generator*) { PYLLM_PENDING("dropout"); }
Tensor scaled_dot_product_attention(const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                                    std::optional<double>, double, Generator*) { PYLLM_PENDING("scaled_dot_product_attention"); }
void adamw_step(const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>&, double, double, double, double, double, int64_t) { PYLLM_PENDING("adamw_step"); }
double global_norm(const std::vector<Tensor>&, double) { PYLLM_PENDING("global_norm"); }

}  // namespace pyllm::ops
