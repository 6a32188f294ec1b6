// Grad mode and multi-output backward.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "pyllm/autograd.h"
#include "registry.h"
#include "tensor_caster.h"

namespace py = pybind11;

namespace pyllm::bindings {

void register_autograd(py::module_& m) {
  m.def("is_grad_enabled", &autograd::grad_enabled);
  m.def("set_grad_enabled", &autograd::set_grad_enabled, py::arg("mode"));
  m.def("_run_backward", [](const std::vector<Tensor>& tensors, const std::vector<Tensor>& grads, bool retain_graph) {
    py::gil_scoped_release release;
    autograd::run_backward(tensors, grads, retain_graph);
  }, py::arg("tensors"), py::arg("grad_tensors"), py::arg("retain_graph") = false);
}

}  // namespace pyllm::bindings
