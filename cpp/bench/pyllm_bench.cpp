// pyllm-bench: times the core's kernels without Python. Usage: pyllm-bench [substring ...]
// (no argument runs everything). Benchmarks live in cpp/bench/bench_*.cpp.
#include <cstdio>
#include <cstring>

#include "bench_util.h"
#include "cpu/cpu_features.h"
#include "pyllm/parallel.h"

int main(int argc, char** argv) {
  std::printf("pyllm-bench: %d threads, %s kernels\n", pyllm::get_num_threads(),
              pyllm::cpu::isa_name(pyllm::cpu::best_isa()));
  int ran = 0;
  for (const auto& b : pyllm_bench::registry()) {
    bool selected = argc == 1;
    for (int i = 1; i < argc; ++i) selected = selected || std::strstr(b.name, argv[i]) != nullptr;
    if (!selected) continue;
    b.fn();
    ++ran;
  }
  if (ran == 0) {
    std::printf("no benchmark matches; available:\n");
    for (const auto& b : pyllm_bench::registry()) std::printf("  %s\n", b.name);
    return argc == 1 ? 0 : 1;
  }
  return 0;
}
