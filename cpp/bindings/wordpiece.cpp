// Tokenizer bindings (filled in on the branch that builds this part of issue 3).
#include <pybind11/pybind11.h>

#include "registry.h"

namespace pyllm::bindings {

void register_wordpiece(pybind11::module_&) {}

}  // namespace pyllm::bindings
