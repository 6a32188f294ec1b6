// A minimal test harness (no external test framework to install): PYLLM_TEST registers a case,
// EXPECT throws with file and line on failure.
#pragma once

#include <cmath>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace pyllm_test {

struct Case {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

}  // namespace pyllm_test

#define PYLLM_TEST(name)                                                   \
  static void name();                                                      \
  static pyllm_test::Registrar name##_registrar(#name, name);              \
  static void name()

#define EXPECT(cond)                                                                     \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::ostringstream s;                                                              \
      s << __FILE__ << ":" << __LINE__ << ": expected " #cond;                           \
      throw std::runtime_error(s.str());                                                 \
    }                                                                                    \
  } while (0)

#define EXPECT_NEAR(a, b, tol)                                                           \
  do {                                                                                   \
    double a_ = (a), b_ = (b);                                                           \
    if (!(std::fabs(a_ - b_) <= (tol))) {                                                \
      std::ostringstream s;                                                              \
      s << __FILE__ << ":" << __LINE__ << ": " #a " = " << a_ << " vs " #b " = " << b_;   \
      throw std::runtime_error(s.str());                                                 \
    }                                                                                    \
  } while (0)

#define EXPECT_THROWS(expr, ErrorType)                                                   \
  do {                                                                                   \
    bool thrown_ = false;                                                                \
    try {                                                                                \
      expr;                                                                              \
    } catch (const ErrorType&) {                                                         \
      thrown_ = true;                                                                    \
    }                                                                                    \
    if (!thrown_) {                                                                      \
      std::ostringstream s;                                                              \
      s << __FILE__ << ":" << __LINE__ << ": expected " #expr " to throw " #ErrorType;    \
      throw std::runtime_error(s.str());                                                 \
    }                                                                                    \
  } while (0)
