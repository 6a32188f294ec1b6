// The optimizer loops compiled for AVX-512 (see optim_loops.h).
#include "cpu/optim_loops.h"

namespace pyllm::cpu {

OptimKernels optim_kernels_avx512() { return this_isa_kernels(); }

}  // namespace pyllm::cpu
