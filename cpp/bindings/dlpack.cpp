// DLPack exchange (implemented in a follow-up change of this issue).
#include <pybind11/pybind11.h>

#include "registry.h"

namespace pyllm::bindings {

void register_dlpack(pybind11::module_&) {}

}  // namespace pyllm::bindings
