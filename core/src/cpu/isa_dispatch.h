// Picks among kernels compiled for several instruction sets. A kernel is a class template whose first
// parameter is the Isa; its float32 instantiations for Avx2 and Avx512 are defined explicitly in files
// named *_avx2.cpp / *_avx512.cpp (compiled with those flags) and declared `extern template` next to the
// template, so the generic files call into them without compiling them. The Isa parameter also keeps the
// symbols of each instruction set distinct, so the linker never merges AVX-512 code into the generic path.
#pragma once

#include <type_traits>

#include "cpu/cpu_features.h"

namespace pyllm::cpu {

template <Isa isa>
using IsaTag = std::integral_constant<Isa, isa>;

// f(IsaTag<best_isa()>) for float32 work; other types always take the generic path, since only float32
// kernels are compiled per instruction set (float64 exists for gradient checks, not speed).
template <typename T, typename F>
decltype(auto) with_best_isa(F&& f) {
  if constexpr (std::is_same_v<T, float>) {
    switch (best_isa()) {
      case Isa::Avx512: return f(IsaTag<Isa::Avx512>{});
      case Isa::Avx2: return f(IsaTag<Isa::Avx2>{});
      case Isa::Generic: break;
    }
  }
  return f(IsaTag<Isa::Generic>{});
}

}  // namespace pyllm::cpu
