// Threading: one place that talks to OpenMP. Kernels call parallel_for; they must not throw inside it
// (ops validate before they reach a kernel).
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace pyllm {

void set_num_threads(int n);  // pyllm.set_num_threads
int get_num_threads();

// Calls f(begin, end) on contiguous chunks of [begin, end) across the threads; serially when the range
// is at most `grain` items or when already inside a parallel region.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  int64_t n = end - begin;
  if (n <= 0) return;
#ifdef _OPENMP
  if (n > grain && omp_get_max_threads() > 1 && !omp_in_parallel()) {
    int64_t max_chunks = grain > 0 ? (n + grain - 1) / grain : n;
    int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), max_chunks));
#pragma omp parallel num_threads(threads)
    {
      int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
      int64_t chunk = (n + nt - 1) / nt;
      int64_t b = begin + tid * chunk, e = std::min(end, b + chunk);
      if (b < e) f(b, e);
    }
    return;
  }
#endif
  f(begin, end);
}

}  // namespace pyllm
