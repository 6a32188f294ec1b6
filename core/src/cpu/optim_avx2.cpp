// The optimizer loops compiled for AVX2 + FMA (see optim_loops.h).
#include "cpu/optim_loops.h"

namespace pyllm::cpu {

OptimKernels optim_kernels_avx2() { return this_isa_kernels(); }

}  // namespace pyllm::cpu
