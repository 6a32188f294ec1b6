// pyllm-bench's registry and timer: each cpp/bench/bench_*.cpp registers named benchmarks with
// PYLLM_BENCH; `pyllm-bench [name-substring ...]` runs the matching ones and prints medians.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace pyllm_bench {

struct Bench {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Bench>& registry() {
  static std::vector<Bench> benches;
  return benches;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

// Median wall time in seconds of `reps` calls of fn, after `warmup` untimed calls.
inline double median_seconds(const std::function<void()>& fn, int reps = 7, int warmup = 2) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace pyllm_bench

#define PYLLM_BENCH(name)                                                  \
  static void name();                                                      \
  static pyllm_bench::Registrar name##_registrar(#name, name);             \
  static void name()
