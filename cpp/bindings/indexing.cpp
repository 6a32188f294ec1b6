// Python indexing: t[1], t[:, 1:5], t[..., -1], t[None], t[idx_tensor] (basic indexing makes views;
// an integer tensor or list selects along its dim). Assignment t[...] = value writes through the view.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "pyllm/ops.h"
#include "registry.h"
#include "tensor_caster.h"

namespace py = pybind11;

namespace pyllm::bindings {

namespace {

bool is_int_like(const py::handle& h) {
  return !PyBool_Check(h.ptr()) && (PyLong_Check(h.ptr()) || (PyIndex_Check(h.ptr()) && !py::isinstance<TensorImpl>(h)));
}

// An integer index tensor from a tensor, list or array-like entry; undefined if `h` is not one.
Tensor as_index_tensor(const py::handle& h) {
  if (py::isinstance<TensorImpl>(h)) {
    Tensor t = h.cast<Tensor>();
    PYLLM_CHECK(t.dtype() != DType::Bool, IndexError,
                "boolean mask indexing is not supported; use masked_fill() or where()");
    PYLLM_CHECK(is_integral(t.dtype()), IndexError,
                "tensors used as indices must be int32 or int64, got " << dtype_name(t.dtype()));
    return t;
  }
  if (py::isinstance<py::list>(h)) {
    std::vector<int64_t> ids;
    for (py::handle item : h) {
      PYLLM_CHECK(is_int_like(item), IndexError, "list indices must contain only integers");
      ids.push_back(py::int_(py::reinterpret_borrow<py::object>(item)).cast<int64_t>());
    }
    Tensor t = ops::empty({static_cast<int64_t>(ids.size())}, DType::Int64);
    std::copy(ids.begin(), ids.end(), t.data<int64_t>());
    return t;
  }
  return Tensor();
}

// Applies an index expression; `allow_advanced` is false for assignment targets, which must be views.
Tensor apply_index(const Tensor& self, const py::handle& index, bool allow_advanced) {
  std::vector<py::handle> items;
  if (py::isinstance<py::tuple>(index)) {
    for (py::handle h : index) items.push_back(h);
  } else {
    items.push_back(index);
  }
  // Dims the expression consumes (None consumes none, ... stands for the rest).
  int64_t consumed = 0;
  bool has_ellipsis = false;
  for (const py::handle& h : items) {
    if (h.is_none()) continue;
    if (h.ptr() == Py_Ellipsis) {
      PYLLM_CHECK(!has_ellipsis, IndexError, "an index can only have a single ellipsis ('...')");
      has_ellipsis = true;
      continue;
    }
    ++consumed;
  }
  PYLLM_CHECK(consumed <= self.dim(), IndexError,
              "too many indices for a tensor of dimension " << self.dim() << " (got " << consumed << ")");

  Tensor result = self;
  int64_t d = 0;         // the dim of `result` the next item applies to
  int64_t self_dim = 0;  // the same dim counted in `self`, for error messages
  bool used_advanced = false;
  for (const py::handle& h : items) {
    if (!h.is_none()) ++self_dim;
    if (h.is_none()) {
      result = ops::unsqueeze(result, d++);
    } else if (h.ptr() == Py_Ellipsis) {
      d += self.dim() - consumed;
      self_dim += self.dim() - consumed - 1;
    } else if (is_int_like(h)) {
      const int64_t i = py::int_(py::reinterpret_borrow<py::object>(h)).cast<int64_t>(), size = result.shape()[d];
      PYLLM_CHECK(i >= -size && i < size, IndexError,
                  "index " << i << " is out of bounds for dim " << self_dim - 1 << " with size " << size);
      result = ops::select(result, d, i);
    } else if (py::isinstance<py::slice>(h)) {
      auto s = py::reinterpret_borrow<py::slice>(h);
      auto get = [](py::object o) -> std::optional<int64_t> {
        if (o.is_none()) return std::nullopt;
        return py::int_(o).cast<int64_t>();
      };
      std::optional<int64_t> step = get(s.attr("step"));
      result = ops::slice(result, d, get(s.attr("start")), get(s.attr("stop")), step.value_or(1));
      ++d;
    } else {
      Tensor idx = as_index_tensor(h);
      PYLLM_CHECK(idx.defined(), IndexError,
                  "unsupported index of type " << py::str(py::type::of(h)).cast<std::string>()
                      << "; use ints, slices, None, ..., integer tensors or lists");
      PYLLM_CHECK(allow_advanced, IndexError,
                  "assignment through an integer-tensor index is not supported; index with ints and slices");
      PYLLM_CHECK(!used_advanced, IndexError, "only one integer-tensor index per expression is supported");
      used_advanced = true;
      // (..., n, ...) indexed by idx of shape S along dim d -> (..., *S, ...)
      Shape out_shape(result.shape().begin(), result.shape().begin() + d);
      out_shape.insert(out_shape.end(), idx.shape().begin(), idx.shape().end());
      out_shape.insert(out_shape.end(), result.shape().begin() + d + 1, result.shape().end());
      // Negative entries count from the end, as in Python indexing (index_select itself rejects them).
      Tensor size = ops::scalar_tensor(static_cast<double>(result.shape()[d]), idx.dtype());
      Tensor zero = ops::scalar_tensor(0.0, idx.dtype());
      idx = ops::where(ops::lt(idx, zero), ops::add(idx, size), idx);
      result = ops::reshape(ops::index_select(result, d, ops::reshape(idx, {-1})), out_shape);
      d += idx.dim();
    }
  }
  return result;
}

}  // namespace

void register_indexing(py::module_& m) {
  auto cls = py::reinterpret_borrow<py::class_<TensorImpl, std::shared_ptr<TensorImpl>>>(m.attr("Tensor"));
  cls.def("__getitem__", [](const Tensor& self, const py::object& index) { return apply_index(self, index, true); });
  cls.def("__setitem__", [](const Tensor& self, const py::object& index, const py::object& value) {
    Tensor target = apply_index(self, index, false);
    if (py::isinstance<TensorImpl>(value)) {
      Tensor src = value.cast<Tensor>();
      py::gil_scoped_release release;
      ops::copy_(target, src);
    } else {
      double v = py::float_(value).cast<double>();
      py::gil_scoped_release release;
      ops::fill_(target, v);
    }
  });
}

}  // namespace pyllm::bindings
