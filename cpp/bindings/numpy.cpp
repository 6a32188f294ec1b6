// NumPy interop without copies: pyllm.from_numpy(a) wraps a's memory (keeping a alive), and t.numpy() /
// np.asarray(t) wrap the tensor's memory (keeping the tensor alive). bfloat16 has no NumPy dtype.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "pyllm/autograd.h"
#include "pyllm/ops.h"
#include "registry.h"
#include "tensor_caster.h"

namespace py = pybind11;

namespace pyllm::bindings {

namespace {

// NumPy's type character for each dtype that it has ('?' bool, 'e' float16, ...).
std::optional<DType> dtype_from_numpy(const py::dtype& dt) {
  if (dt.kind() == 'f' && dt.itemsize() == 4) return DType::Float32;
  if (dt.kind() == 'f' && dt.itemsize() == 8) return DType::Float64;
  if (dt.kind() == 'f' && dt.itemsize() == 2) return DType::Float16;
  if (dt.kind() == 'i' && dt.itemsize() == 4) return DType::Int32;
  if (dt.kind() == 'i' && dt.itemsize() == 8) return DType::Int64;
  if (dt.kind() == 'b' && dt.itemsize() == 1) return DType::Bool;
  return std::nullopt;
}

const char* buffer_format(DType d) {
  switch (d) {
    case DType::Float32: return "f";
    case DType::Float64: return "d";
    case DType::Float16: return "e";
    case DType::Int32: return "i";
    case DType::Int64: return "q";
    case DType::Bool: return "?";
    case DType::BFloat16: break;
  }
  PYLLM_FAIL(TypeError, "NumPy has no bfloat16 dtype; convert with .float() first");
}

void check_exportable(const Tensor& t, const char* what) {
  PYLLM_CHECK(!t.requires_grad(), RuntimeError,
              what << ": the tensor requires grad; use tensor.detach()." << what << "() to share its memory");
  PYLLM_CHECK(t.device().type == DeviceType::CPU, TypeError,
              what << ": the tensor is on " << t.device().str() << "; move it to the CPU first");
}

std::vector<py::ssize_t> byte_strides(const Tensor& t) {
  std::vector<py::ssize_t> s;
  for (int64_t st : t.strides()) s.push_back(static_cast<py::ssize_t>(st * static_cast<int64_t>(itemsize(t.dtype()))));
  return s;
}

}  // namespace

Tensor tensor_from_numpy(const py::array& a) {
  auto dtype = dtype_from_numpy(a.dtype());
  PYLLM_CHECK(dtype.has_value(), TypeError,
              "from_numpy: unsupported NumPy dtype " << py::str(a.dtype()).cast<std::string>()
                  << "; supported: float32, float64, float16, int32, int64, bool");
  PYLLM_CHECK(a.dtype().byteorder() != '>', TypeError, "from_numpy: big-endian arrays are not supported");
  const int64_t item = static_cast<int64_t>(itemsize(*dtype));
  Shape shape(a.shape(), a.shape() + a.ndim());
  Strides strides(a.ndim());
  int64_t extent = 1;  // elements spanned from the first one
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    py::ssize_t s = a.strides()[d];
    PYLLM_CHECK(s >= 0, ValueError, "from_numpy: arrays with negative strides are not supported; pass a.copy()");
    PYLLM_CHECK(s % item == 0, ValueError, "from_numpy: stride " << s << " bytes is not a multiple of the item size");
    strides[d] = s / item;
    if (shape[d] == 0) extent = 0;
  }
  if (extent != 0)
    for (size_t d = 0; d < shape.size(); ++d) extent += (shape[d] - 1) * strides[d];
  // The storage holds a reference to the array; it is released with the GIL held.
  auto* keep = new py::object(a);
  std::shared_ptr<void> owner(keep, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
  auto storage = Storage::wrap(const_cast<void*>(a.data()), static_cast<size_t>(extent * item), cpu_device(), owner);
  return Tensor(storage, shape, strides, 0, *dtype);
}

py::array tensor_to_numpy(const Tensor& t) {
  check_exportable(t, "numpy");
  py::dtype dt(buffer_format(t.dtype()));
  auto* keep = new Tensor(t);
  py::capsule base(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(dt, std::vector<py::ssize_t>(t.shape().begin(), t.shape().end()), byte_strides(t), t.data_ptr(), base);
}

void register_numpy(py::module_& m) {
  m.def("from_numpy", [](const py::object& obj) {
    PYLLM_CHECK(py::isinstance<py::array>(obj), TypeError,
                "from_numpy: expected a numpy.ndarray, got " << py::str(py::type::of(obj)).cast<std::string>());
    return tensor_from_numpy(obj.cast<py::array>());
  }, py::arg("array"), "A tensor sharing the array's memory (no copy).");

  auto cls = py::reinterpret_borrow<py::class_<TensorImpl, std::shared_ptr<TensorImpl>>>(m.attr("Tensor"));
  cls.def("numpy", &tensor_to_numpy, "A NumPy array sharing the tensor's memory (no copy).");
  cls.def_buffer([](TensorImpl& impl) -> py::buffer_info {
    Tensor t(std::shared_ptr<TensorImpl>(std::shared_ptr<TensorImpl>{}, &impl));  // non-owning handle
    check_exportable(t, "numpy");
    return py::buffer_info(t.data_ptr(), static_cast<py::ssize_t>(itemsize(t.dtype())), buffer_format(t.dtype()),
                           t.dim(), std::vector<py::ssize_t>(t.shape().begin(), t.shape().end()), byte_strides(t));
  });
}

}  // namespace pyllm::bindings
