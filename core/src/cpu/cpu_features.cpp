#include "cpu/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace pyllm::cpu {

namespace {

Isa detect() {
  Isa hw = Isa::Generic;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) hw = Isa::Avx2;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    hw = Isa::Avx512;
#endif
  const char* forced = std::getenv("PYLLM_ISA");
  if (forced != nullptr) {
    Isa want = hw;
    if (std::strcmp(forced, "generic") == 0) want = Isa::Generic;
    if (std::strcmp(forced, "avx2") == 0) want = Isa::Avx2;
    if (std::strcmp(forced, "avx512") == 0) want = Isa::Avx512;
    if (static_cast<int>(want) < static_cast<int>(hw)) hw = want;  // never above what the CPU has
  }
  return hw;
}

}  // namespace

Isa best_isa() {
  static const Isa isa = detect();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Generic: return "generic";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

}  // namespace pyllm::cpu
