// The float32 row kernels (softmax, cross-entropy, LayerNorm/RMSNorm) compiled for AVX2: this file is
// built with AVX2 flags (CMakeLists.txt) and only instantiates templates whose Isa parameter keeps
// their symbols apart from the other instruction sets' (isa_dispatch.h). No other code belongs here.
#include "cpu/cross_entropy_kernels.h"
#include "cpu/norm_kernels.h"
#include "cpu/softmax_kernels.h"

namespace pyllm::cpu {

template struct SoftmaxKernels<Isa::Avx2, float>;
template struct CrossEntropyKernels<Isa::Avx2, float, int32_t>;
template struct CrossEntropyKernels<Isa::Avx2, float, int64_t>;
template struct NormKernels<Isa::Avx2, float, true>;
template struct NormKernels<Isa::Avx2, float, false>;

}  // namespace pyllm::cpu
