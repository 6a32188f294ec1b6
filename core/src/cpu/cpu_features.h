// Which SIMD instruction set the CPU kernels use, chosen once at run time. PYLLM_ISA=generic|avx2|avx512
// forces a lower level (tests use it to cover every path on one machine).
#pragma once

namespace pyllm::cpu {

enum class Isa { Generic, Avx2, Avx512 };

Isa best_isa();
const char* isa_name(Isa isa);

}  // namespace pyllm::cpu
