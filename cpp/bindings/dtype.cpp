// pyllm.float32 & co. and pyllm.device.
#include <pybind11/operators.h>
#include <pybind11/pybind11.h>

#include "pyllm/device.h"
#include "pyllm/dtype.h"
#include "registry.h"

namespace py = pybind11;

namespace pyllm::bindings {

void register_dtype(py::module_& m) {
  py::enum_<DType> dtype(m, "dtype", "Element type of a tensor.");
  for (DType d : {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64,
                  DType::Bool}) {
    dtype.value(dtype_name(d), d);
  }
  dtype.def_property_readonly("itemsize", [](DType d) { return itemsize(d); });
  dtype.def_property_readonly("is_floating_point", [](DType d) { return is_floating(d); });

  py::class_<Device>(m, "device", "Where a tensor lives: device('cpu') or device('cuda:0').")
      .def(py::init(&Device::parse), py::arg("type"))
      .def_property_readonly("type", [](const Device& d) { return d.type == DeviceType::CPU ? "cpu" : "cuda"; })
      .def_property_readonly("index", [](const Device& d) -> py::object {
        return d.type == DeviceType::CPU ? py::object(py::none()) : py::object(py::int_(d.index));
      })
      .def("__str__", &Device::str)
      .def("__repr__", [](const Device& d) {
        return d.type == DeviceType::CPU ? std::string("device(type='cpu')")
                                         : "device(type='cuda', index=" + std::to_string(d.index) + ")";
      })
      .def("__eq__", [](const Device& a, const Device& b) { return a == b; })
      .def("__eq__", [](const Device& a, const std::string& b) { return a == Device::parse(b); })
      .def("__hash__", [](const Device& d) { return static_cast<int>(d.type) * 1000 + d.index; });
  py::implicitly_convertible<py::str, Device>();
}

}  // namespace pyllm::bindings
