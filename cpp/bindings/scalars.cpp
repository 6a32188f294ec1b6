#include "scalars.h"

#include "pyllm/ops.h"
#include "tensor_caster.h"

namespace py = pybind11;

namespace pyllm::bindings {

std::optional<std::pair<Tensor, Tensor>> tensor_and_operand(const Tensor& self, const py::handle& other) {
  if (py::isinstance<TensorImpl>(other)) return std::make_pair(self, other.cast<Tensor>());
  PyObject* o = other.ptr();
  // NumPy scalars and 0-d arrays: take their Python value.
  if (!PyBool_Check(o) && !PyLong_Check(o) && !PyFloat_Check(o) && py::hasattr(other, "item") &&
      py::hasattr(other, "ndim") && other.attr("ndim").cast<int>() == 0) {
    return tensor_and_operand(self, other.attr("item")());
  }
  enum class Kind { Bool, Int, Float } kind;
  double value = 0;
  if (PyBool_Check(o)) {
    kind = Kind::Bool;
    value = o == Py_True ? 1.0 : 0.0;
  } else if (PyLong_Check(o)) {
    kind = Kind::Int;
    value = static_cast<double>(other.cast<int64_t>());
  } else if (PyFloat_Check(o)) {
    kind = Kind::Float;
    value = PyFloat_AsDouble(o);
  } else {
    return std::nullopt;
  }
  Tensor base = self;
  if (kind == Kind::Float && !is_floating(base.dtype())) base = ops::to_dtype(base, DType::Float32);
  if (kind == Kind::Int && base.dtype() == DType::Bool) base = ops::to_dtype(base, DType::Int64);
  return std::make_pair(base, ops::scalar_tensor(value, base.dtype(), base.device()));
}

py::object item(const Tensor& t) {
  PYLLM_CHECK(t.numel() == 1, ValueError,
              "item: only one-element tensors can be converted to a Python scalar, got shape " << shape_str(t.shape()));
  const void* p = t.data_ptr();
  switch (t.dtype()) {
    case DType::Float32: return py::float_(*static_cast<const float*>(p));
    case DType::Float64: return py::float_(*static_cast<const double*>(p));
    case DType::Float16: return py::float_(fp16_to_float(*static_cast<const uint16_t*>(p)));
    case DType::BFloat16: return py::float_(bf16_to_float(*static_cast<const uint16_t*>(p)));
    case DType::Int32: return py::int_(*static_cast<const int32_t*>(p));
    case DType::Int64: return py::int_(*static_cast<const int64_t*>(p));
    case DType::Bool: return py::bool_(*static_cast<const bool*>(p));
  }
  return py::none();
}

}  // namespace pyllm::bindings
