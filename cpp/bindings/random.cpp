// Seeding and random factories. The default generator is what pyllm.manual_seed seeds.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "pyllm/generator.h"
#include "pyllm/ops.h"
#include "registry.h"
#include "tensor_caster.h"

namespace py = pybind11;

namespace pyllm::bindings {

void register_random(py::module_& m) {
  py::class_<Generator>(m, "Generator", "A seedable Philox random number generator.")
      .def(py::init<uint64_t>(), py::arg("seed") = 0x5eed)
      .def("manual_seed", [](Generator& g, uint64_t seed) -> Generator& { g.manual_seed(seed); return g; },
           py::arg("seed"), py::return_value_policy::reference)
      .def("initial_seed", &Generator::seed)
      .def("get_state", [](const Generator& g) { return py::make_tuple(g.seed(), g.offset()); },
           "(seed, offset): everything needed to resume the stream exactly.")
      .def("set_state", [](Generator& g, std::pair<uint64_t, uint64_t> state) {
        g.manual_seed(state.first);
        g.set_offset(state.second);
      }, py::arg("state"));

  m.def("default_generator", &Generator::default_generator, py::return_value_policy::reference);
  m.def("manual_seed", [](uint64_t seed) { Generator::default_generator().manual_seed(seed); }, py::arg("seed"));
  m.def("initial_seed", [] { return Generator::default_generator().seed(); });

  auto gil_free = py::call_guard<py::gil_scoped_release>();
  m.def("rand", &ops::rand, py::arg("shape"), py::arg("dtype") = DType::Float32, py::arg("generator") = nullptr, gil_free);
  m.def("randn", &ops::randn, py::arg("shape"), py::arg("dtype") = DType::Float32, py::arg("generator") = nullptr, gil_free);
  m.def("randint", &ops::randint, py::arg("low"), py::arg("high"), py::arg("shape"), py::arg("dtype") = DType::Int64,
        py::arg("generator") = nullptr, gil_free);
}

}  // namespace pyllm::bindings
