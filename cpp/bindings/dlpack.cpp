// DLPack exchange (https://dmlc.github.io/dlpack/latest/, and the Python array API's __dlpack__ protocol):
// Tensor.__dlpack__ / __dlpack_device__ export without a copy, _core.from_dlpack imports without one.
// A capsule named "dltensor" holds a DLManagedTensor; "dltensor_versioned" (DLPack >= 1.0, offered when the
// consumer passes max_version >= (1, 0)) holds a DLManagedTensorVersioned. The consumer renames the capsule
// "used_..." once it owns the tensor, and from then on calls its deleter itself; a capsule dropped
// unconsumed calls the deleter in its destructor. Import is zero-copy except for a producer that marks its
// memory read-only (pyllm tensors are always writable): that one is copied. CPU only for now.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "pyllm/ops.h"
#include "registry.h"
#include "tensor_caster.h"

namespace py = pybind11;

namespace pyllm::bindings {

namespace {

// ---- The DLPack ABI, written from the specification (these layouts are fixed by the standard) ----
namespace dl {

enum DeviceType : int32_t { kCPU = 1, kCUDA = 2, kCUDAHost = 3 };
enum TypeCode : uint8_t { kInt = 0, kUInt = 1, kFloat = 2, kBfloat = 4, kBool = 6 };

struct Device {
  int32_t device_type;  // a DeviceType
  int32_t device_id;
};

struct DataType {
  uint8_t code;  // a TypeCode
  uint8_t bits;
  uint16_t lanes;
};

struct Tensor {
  void* data;
  Device device;
  int32_t ndim;
  DataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; null means compact row-major
  uint64_t byte_offset;
};

struct ManagedTensor {  // the legacy (pre-1.0) struct
  Tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(ManagedTensor* self);
};

struct PackVersion {
  uint32_t major;
  uint32_t minor;
};

constexpr uint64_t kFlagReadOnly = 1ull << 0;
constexpr uint64_t kFlagIsCopied = 1ull << 1;

struct ManagedTensorVersioned {
  PackVersion version;
  void* manager_ctx;
  void (*deleter)(ManagedTensorVersioned* self);
  uint64_t flags;
  Tensor dl_tensor;
};

constexpr PackVersion kVersion{1, 0};
constexpr const char* kLegacyName = "dltensor";
constexpr const char* kVersionedName = "dltensor_versioned";
constexpr const char* kUsedLegacyName = "used_dltensor";
constexpr const char* kUsedVersionedName = "used_dltensor_versioned";

}  // namespace dl

std::optional<dl::DataType> to_dl_dtype(DType d) {
  switch (d) {
    case DType::Float32: return dl::DataType{dl::kFloat, 32, 1};
    case DType::Float64: return dl::DataType{dl::kFloat, 64, 1};
    case DType::Float16: return dl::DataType{dl::kFloat, 16, 1};
    case DType::BFloat16: return dl::DataType{dl::kBfloat, 16, 1};
    case DType::Int32: return dl::DataType{dl::kInt, 32, 1};
    case DType::Int64: return dl::DataType{dl::kInt, 64, 1};
    case DType::Bool: return dl::DataType{dl::kBool, 8, 1};
  }
  return std::nullopt;
}

std::optional<DType> from_dl_dtype(const dl::DataType& t) {
  if (t.lanes != 1) return std::nullopt;
  for (DType d : {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64,
                  DType::Bool}) {
    auto want = to_dl_dtype(d);
    if (want->code == t.code && want->bits == t.bits) return d;
  }
  return std::nullopt;
}

std::pair<int32_t, int32_t> dl_device_of(const Device& d) {
  if (d.type == DeviceType::CPU) return {dl::kCPU, 0};
  return {dl::kCUDA, static_cast<int32_t>(d.index)};
}

// ---- export ----

// What an exported capsule owns: the tensor (keeping its storage alive) and the shape/strides arrays the
// DLTensor points into. `Managed` is one of the two managed-tensor structs.
template <typename Managed>
struct ExportContext {
  pyllm::Tensor tensor;
  std::vector<int64_t> shape, strides;
  Managed managed{};
};

template <typename Managed>
Managed* make_managed(const pyllm::Tensor& t) {
  auto* ctx = new ExportContext<Managed>{t, t.shape(), t.strides()};
  dl::Tensor& d = ctx->managed.dl_tensor;
  d.data = t.data_ptr();  // the view's offset is folded into the pointer
  auto [device_type, device_id] = dl_device_of(t.device());
  d.device = dl::Device{device_type, device_id};
  d.ndim = static_cast<int32_t>(t.dim());
  d.dtype = *to_dl_dtype(t.dtype());
  d.shape = ctx->shape.data();
  d.strides = ctx->strides.data();
  d.byte_offset = 0;
  ctx->managed.manager_ctx = ctx;
  // May run on any thread without the GIL; destroying the tensor takes the GIL itself if its storage
  // belongs to a Python object (a NumPy array).
  ctx->managed.deleter = [](Managed* self) { delete static_cast<ExportContext<Managed>*>(self->manager_ctx); };
  return &ctx->managed;
}

// Capsule destructor: deletes the tensor unless a consumer took it (and renamed the capsule).
template <typename Managed>
void capsule_destructor(PyObject* capsule) {
  const char* name = std::is_same_v<Managed, dl::ManagedTensorVersioned> ? dl::kVersionedName : dl::kLegacyName;
  if (!PyCapsule_IsValid(capsule, name)) return;  // consumed: the consumer owns it now
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);  // a destructor must not disturb a pending exception
  auto* managed = static_cast<Managed*>(PyCapsule_GetPointer(capsule, name));
  if (managed != nullptr && managed->deleter != nullptr) managed->deleter(managed);
  PyErr_Restore(type, value, traceback);
}

py::object to_dlpack(const pyllm::Tensor& self, const py::object& stream, const py::object& max_version,
                     const py::object& dl_device, const py::object& copy) {
  if (self.requires_grad()) {
    // As PyTorch: the capsule cannot carry the autograd graph.
    PyErr_SetString(PyExc_BufferError, "Can't export tensors that require gradient, use tensor.detach()");
    throw py::error_already_set();
  }
  PYLLM_CHECK(self.device().type == DeviceType::CPU, RuntimeError,
              "__dlpack__: exporting " << self.device().str() << " tensors is not supported yet");
  PYLLM_CHECK(stream.is_none() || (py::isinstance<py::int_>(stream) && stream.cast<int64_t>() == -1), ValueError,
              "__dlpack__: stream must be None for a CPU tensor, got " << py::str(stream).cast<std::string>());
  if (!dl_device.is_none()) {
    auto want = dl_device.cast<std::pair<int32_t, int32_t>>();
    if (want != dl_device_of(self.device())) {
      PyErr_SetString(PyExc_BufferError, ("__dlpack__: cannot export a " + self.device().str() +
                                          " tensor to DLPack device (" + std::to_string(want.first) + ", " +
                                          std::to_string(want.second) + ")").c_str());
      throw py::error_already_set();
    }
  }
  const bool copied = !copy.is_none() && copy.cast<bool>();
  pyllm::Tensor t = self;
  if (copied) {
    py::gil_scoped_release release;
    t = ops::clone(self);
  }
  bool versioned = false;
  if (!max_version.is_none()) {
    auto v = max_version.cast<std::pair<int64_t, int64_t>>();
    versioned = v.first >= 1;
  }
  if (versioned) {
    dl::ManagedTensorVersioned* m = make_managed<dl::ManagedTensorVersioned>(t);
    m->version = dl::kVersion;
    m->flags = copied ? dl::kFlagIsCopied : 0;
    return py::reinterpret_steal<py::object>(
        PyCapsule_New(m, dl::kVersionedName, capsule_destructor<dl::ManagedTensorVersioned>));
  }
  dl::ManagedTensor* m = make_managed<dl::ManagedTensor>(t);
  return py::reinterpret_steal<py::object>(PyCapsule_New(m, dl::kLegacyName, capsule_destructor<dl::ManagedTensor>));
}

// ---- import ----

// Wraps a DLPack tensor (validated) as a pyllm tensor whose storage calls `release` when the last view goes.
pyllm::Tensor wrap_dl_tensor(const dl::Tensor& d, DType dtype, std::shared_ptr<void> release) {
  Shape shape(d.shape, d.shape + d.ndim);
  Strides strides = d.strides == nullptr ? contiguous_strides(shape) : Strides(d.strides, d.strides + d.ndim);
  int64_t extent = 1;  // elements spanned from the first one
  for (int32_t i = 0; i < d.ndim; ++i)
    if (shape[i] == 0) extent = 0;
  if (extent != 0)
    for (int32_t i = 0; i < d.ndim; ++i) extent += (shape[i] - 1) * strides[i];
  const size_t item = itemsize(dtype);
  void* data = d.data == nullptr ? nullptr : static_cast<char*>(d.data) + d.byte_offset;
  auto storage = Storage::wrap(data, static_cast<size_t>(extent) * item, cpu_device(), std::move(release));
  return pyllm::Tensor(std::move(storage), std::move(shape), std::move(strides), 0, dtype);
}

// Raises (leaving the capsule unconsumed) unless we can wrap `d`.
DType check_importable(const dl::Tensor& d) {
  PYLLM_CHECK(d.device.device_type == dl::kCPU, RuntimeError,
              "from_dlpack: only CPU tensors can be imported (DLPack device type "
                  << d.device.device_type << " given); copy the tensor to the CPU first");
  auto dtype = from_dl_dtype(d.dtype);
  PYLLM_CHECK(dtype.has_value(), TypeError,
              "from_dlpack: unsupported DLPack dtype (code " << int(d.dtype.code) << ", bits " << int(d.dtype.bits)
                  << ", lanes " << d.dtype.lanes
                  << "); supported: float32, float64, float16, bfloat16, int32, int64, bool");
  PYLLM_CHECK(d.ndim >= 0, ValueError, "from_dlpack: negative ndim " << d.ndim);
  for (int32_t i = 0; i < d.ndim; ++i) {
    PYLLM_CHECK(d.shape[i] >= 0, ValueError, "from_dlpack: negative size in dim " << i);
    PYLLM_CHECK(d.strides == nullptr || d.strides[i] >= 0 || d.shape[i] <= 1, ValueError,
                "from_dlpack: negative strides are not supported; make the array contiguous first");
  }
  return *dtype;
}

// Checks a capsule's tensor, marks the capsule used (raising, and leaving it unconsumed, if either
// fails) and wraps the tensor; from then on we own it: the storage calls its deleter when the last view
// goes.
template <typename Managed>
pyllm::Tensor adopt(PyObject* cap, Managed* m, const char* used_name) {
  DType dtype = check_importable(m->dl_tensor);
  PYLLM_CHECK(PyCapsule_SetName(cap, used_name) == 0, RuntimeError, "from_dlpack: could not mark the capsule used");
  std::shared_ptr<void> release(m, [](void* p) {
    auto* mt = static_cast<Managed*>(p);
    if (mt->deleter != nullptr) mt->deleter(mt);
  });
  return wrap_dl_tensor(m->dl_tensor, dtype, std::move(release));
}

pyllm::Tensor from_capsule(const py::capsule& capsule) {
  PyObject* cap = capsule.ptr();
  if (PyCapsule_IsValid(cap, dl::kVersionedName)) {
    auto* m = static_cast<dl::ManagedTensorVersioned*>(PyCapsule_GetPointer(cap, dl::kVersionedName));
    PYLLM_CHECK(m->version.major == dl::kVersion.major, RuntimeError,
                "from_dlpack: DLPack version " << m->version.major << "." << m->version.minor
                                               << " is not supported (this build reads 1.x)");
    pyllm::Tensor t = adopt(cap, m, dl::kUsedVersionedName);
    // pyllm tensors are always writable, so a read-only producer's memory is copied rather than shared
    // (the wrapped view, and with it the producer's tensor, is released on return).
    if (m->flags & dl::kFlagReadOnly) {
      py::gil_scoped_release nogil;
      return ops::clone(t);
    }
    return t;
  }
  if (PyCapsule_IsValid(cap, dl::kLegacyName)) {
    auto* m = static_cast<dl::ManagedTensor*>(PyCapsule_GetPointer(cap, dl::kLegacyName));
    return adopt(cap, m, dl::kUsedLegacyName);
  }
  const char* name = PyCapsule_GetName(cap);
  PyErr_Clear();
  std::string n = name == nullptr ? "" : name;
  PYLLM_CHECK(n != dl::kUsedLegacyName && n != dl::kUsedVersionedName, ValueError,
              "from_dlpack: this DLPack capsule was already consumed (a capsule can be imported only once)");
  PYLLM_FAIL(TypeError, "from_dlpack: expected a DLPack capsule, got a capsule named '" << n << "'");
}

pyllm::Tensor from_dlpack(const py::object& obj) {
  if (py::isinstance<py::capsule>(obj)) return from_capsule(obj.cast<py::capsule>());
  PYLLM_CHECK(py::hasattr(obj, "__dlpack__"), TypeError,
              "from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got "
                  << py::str(py::type::of(obj)).cast<std::string>());
  if (py::hasattr(obj, "__dlpack_device__")) {
    auto dev = obj.attr("__dlpack_device__")().cast<std::pair<int32_t, int32_t>>();
    PYLLM_CHECK(dev.first == dl::kCPU, RuntimeError,
                "from_dlpack: only CPU tensors can be imported (DLPack device type "
                    << dev.first << " given); copy the tensor to the CPU first");
  }
  py::object capsule;
  try {
    capsule = obj.attr("__dlpack__")(py::arg("max_version") = py::make_tuple(dl::kVersion.major, dl::kVersion.minor));
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;  // a producer predating DLPack 1.0 rejects max_version
    capsule = obj.attr("__dlpack__")();
  }
  PYLLM_CHECK(py::isinstance<py::capsule>(capsule), TypeError,
              "from_dlpack: __dlpack__ returned a " << py::str(py::type::of(capsule)).cast<std::string>()
                                                    << ", not a capsule");
  return from_capsule(capsule.cast<py::capsule>());
}

}  // namespace

void register_dlpack(py::module_& m) {
  auto cls = py::reinterpret_borrow<py::class_<TensorImpl, std::shared_ptr<TensorImpl>>>(m.attr("Tensor"));
  cls.def("__dlpack__", &to_dlpack, py::kw_only(), py::arg("stream") = py::none(),
          py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(), py::arg("copy") = py::none(),
          "A DLPack capsule sharing this tensor's memory (versioned when max_version >= (1, 0)).");
  cls.def("__dlpack_device__", [](const pyllm::Tensor& t) {
    auto [type, id] = dl_device_of(t.device());
    return py::make_tuple(type, id);
  }, "(DLPack device type, device id): (1, 0) for the CPU.");
  m.def("from_dlpack", &from_dlpack, py::arg("obj"),
        "A tensor sharing the memory of a DLPack producer (an object with __dlpack__, or a capsule).");
}

}  // namespace pyllm::bindings
