#include "pyllm/parallel.h"

#include "pyllm/error.h"

namespace pyllm {

void set_num_threads(int n) {
  PYLLM_CHECK(n >= 1, ValueError, "set_num_threads: expected a positive thread count, got " << n);
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

int get_num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace pyllm
