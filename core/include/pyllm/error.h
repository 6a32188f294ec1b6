// Exceptions the core throws; the bindings map each to the Python exception of the same name, so a bad
// shape reaches the user as ValueError naming the op and the shapes, never as a crash.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pyllm {

struct ValueError : std::runtime_error { using std::runtime_error::runtime_error; };
struct IndexError : std::runtime_error { using std::runtime_error::runtime_error; };
struct TypeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct RuntimeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct NotImplementedError : std::runtime_error { using std::runtime_error::runtime_error; };

// "(2,3)" for a shape; "()" for a scalar.
std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace pyllm

// PYLLM_CHECK(a.dim() == 2, ValueError, "matmul: " << shape_str(a.shape()) << " is not 2-D");
#define PYLLM_CHECK(cond, ErrorType, message)   \
  do {                                          \
    if (!(cond)) {                              \
      std::ostringstream pyllm_check_stream_;   \
      pyllm_check_stream_ << message;           \
      throw ::pyllm::ErrorType(pyllm_check_stream_.str()); \
    }                                           \
  } while (0)

#define PYLLM_FAIL(ErrorType, message) PYLLM_CHECK(false, ErrorType, message)
