// The C++ test runner: each test file registers cases with PYLLM_TEST; main runs them all.
#include "test_util.h"

#include <cstdio>

int main() {
  int failed = 0;
  for (const auto& t : pyllm_test::registry()) {
    try {
      t.fn();
      std::printf("ok     %s\n", t.name);
    } catch (const std::exception& e) {
      ++failed;
      std::printf("FAILED %s: %s\n", t.name, e.what());
    }
  }
  std::printf("%zu tests, %d failed\n", pyllm_test::registry().size(), failed);
  return failed == 0 ? 0 : 1;
}
