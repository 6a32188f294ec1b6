// The Tensor class: geometry, autograd fields, conversions and Python operators. Ops release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "pyllm/autograd.h"
#include "pyllm/ops.h"
#include "registry.h"
#include "scalars.h"
#include "tensor_caster.h"

namespace py = pybind11;

namespace pyllm::bindings {

namespace {

py::tuple to_tuple(const std::vector<int64_t>& v) {
  py::tuple t(v.size());
  for (size_t i = 0; i < v.size(); ++i) t[i] = py::int_(v[i]);
  return t;
}

using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

// `tensor OP other` (reflected: `other OP tensor`); NotImplemented for operand types we do not take.
template <BinaryFn fn, bool reflected = false>
py::object binary_operator(const Tensor& self, const py::object& other) {
  auto operands = tensor_and_operand(self, other);
  if (!operands) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  auto [a, b] = *operands;
  Tensor out;
  {
    py::gil_scoped_release release;
    out = reflected ? fn(b, a) : fn(a, b);
  }
  return py::cast(out);
}

// `tensor OP= other`: computes out of place, then writes into the tensor (its identity is kept).
template <BinaryFn fn>
py::object inplace_operator(const Tensor& self, const py::object& other) {
  auto operands = tensor_and_operand(self, other);
  if (!operands) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  auto [a, b] = *operands;
  {
    py::gil_scoped_release release;
    Tensor result = fn(a, b);
    PYLLM_CHECK(result.shape() == self.shape(), ValueError,
                "in-place operation: the result's shape " << shape_str(result.shape())
                    << " differs from the tensor's " << shape_str(self.shape()));
    ops::copy_(self, ops::to_dtype(result, self.dtype()));
  }
  return py::cast(self);
}

Tensor pow_op(const Tensor& a, const Tensor& b) { return ops::pow(a, b); }

}  // namespace

void register_tensor(py::module_& m) {
  py::class_<TensorImpl, std::shared_ptr<TensorImpl>> cls(m, "Tensor", py::buffer_protocol(), py::dynamic_attr(),
                                                          "An n-dimensional array with autograd.");
  cls.def(py::init([](const Tensor& data, bool requires_grad) {
            // A new tensor object sharing `data`'s storage (no history); used by nn.Parameter.
            Tensor t = data.detach();
            t.set_requires_grad(requires_grad);
            return t.impl_ptr();
          }),
          py::arg("data"), py::arg("requires_grad") = false);

  cls.def_property_readonly("shape", [](const Tensor& t) { return to_tuple(t.shape()); });
  cls.def_property_readonly("dtype", [](const Tensor& t) { return t.dtype(); });
  cls.def_property_readonly("device", [](const Tensor& t) { return t.device(); });
  cls.def_property_readonly("ndim", [](const Tensor& t) { return t.dim(); });
  cls.def("dim", [](const Tensor& t) { return t.dim(); });
  cls.def("numel", [](const Tensor& t) { return t.numel(); });
  cls.def("size", [](const Tensor& t, std::optional<int64_t> d) -> py::object {
    if (d) return py::int_(t.size(*d));
    return to_tuple(t.shape());
  }, py::arg("dim") = py::none());
  cls.def("stride", [](const Tensor& t, std::optional<int64_t> d) -> py::object {
    if (d) return py::int_(t.strides()[wrap_dim(*d, t.dim(), "stride")]);
    return to_tuple(t.strides());
  }, py::arg("dim") = py::none());
  cls.def("is_contiguous", [](const Tensor& t) { return t.is_contiguous(); });
  cls.def("storage_offset", [](const Tensor& t) { return t.offset(); });
  cls.def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()); });
  cls.def("element_size", [](const Tensor& t) { return itemsize(t.dtype()); });
  cls.def_property_readonly("itemsize", [](const Tensor& t) { return itemsize(t.dtype()); });
  cls.def_property_readonly("nbytes", [](const Tensor& t) { return t.numel() * static_cast<int64_t>(itemsize(t.dtype())); });
  cls.def_property_readonly("_version", [](const Tensor& t) { return t.version(); });
  cls.def("__len__", [](const Tensor& t) {
    PYLLM_CHECK(t.dim() > 0, TypeError, "len() of a 0-d tensor");
    return t.shape()[0];
  });

  // Autograd.
  cls.def_property("requires_grad", [](const Tensor& t) { return t.requires_grad(); },
                   [](const Tensor& t, bool value) { t.set_requires_grad(value); });
  cls.def("requires_grad_", [](const Tensor& t, bool value) { t.set_requires_grad(value); return t; },
          py::arg("requires_grad") = true);
  cls.def_property("grad", [](const Tensor& t) { return t.grad(); },
                   [](const Tensor& t, const Tensor& g) { t.set_grad(g); });
  cls.def_property_readonly("grad_fn", [](const Tensor& t) { return t.grad_fn(); });
  cls.def_property_readonly("is_leaf", [](const Tensor& t) { return t.is_leaf(); });
  cls.def("detach", [](const Tensor& t) { return t.detach(); });
  cls.def("backward", [](const Tensor& t, const Tensor& gradient, bool retain_graph) {
    py::gil_scoped_release release;
    t.backward(gradient, retain_graph);
  }, py::arg("gradient") = py::none(), py::arg("retain_graph") = false,
     "Accumulates d(self)/d(leaf) into every leaf's .grad. retain_graph=True keeps the graph for another "
     "backward.");

  // Copies and conversion.
  cls.def("contiguous", [](const Tensor& t) { py::gil_scoped_release r; return ops::contiguous(t); });
  cls.def("clone", [](const Tensor& t) { py::gil_scoped_release r; return ops::clone(t); });
  cls.def("_to_dtype", [](const Tensor& t, DType d) { py::gil_scoped_release r; return ops::to_dtype(t, d); });
  // t.view(dtype): the same bytes read as another dtype of the same size (e.g. uint16-coded bfloat16 weights
  // from a file), sharing storage and its version counter, detached as in PyTorch.
  cls.def("_view_dtype", [](const Tensor& t, DType d) {
    PYLLM_CHECK(itemsize(d) == itemsize(t.dtype()), TypeError,
                "view: cannot view a " << dtype_name(t.dtype()) << " tensor as " << dtype_name(d)
                                       << ": their element sizes differ");
    return Tensor(t.storage(), t.shape(), t.strides(), t.offset(), d);
  });
  cls.def("copy_", [](const Tensor& t, const Tensor& src) { py::gil_scoped_release r; ops::copy_(t, src); return t; });
  cls.def("fill_", [](const Tensor& t, double v) { py::gil_scoped_release r; ops::fill_(t, v); return t; });
  cls.def("zero_", [](const Tensor& t) { py::gil_scoped_release r; ops::zero_(t); return t; });
  cls.def("mul_", [](const Tensor& t, double v) { py::gil_scoped_release r; ops::mul_(t, v); return t; });
  cls.def("item", [](const Tensor& t) { return item(t); });

  // Operators: tensor or Python scalar on either side.
  cls.def("__add__", &binary_operator<&ops::add>);
  cls.def("__radd__", &binary_operator<&ops::add, true>);
  cls.def("__sub__", &binary_operator<&ops::sub>);
  cls.def("__rsub__", &binary_operator<&ops::sub, true>);
  cls.def("__mul__", &binary_operator<&ops::mul>);
  cls.def("__rmul__", &binary_operator<&ops::mul, true>);
  cls.def("__truediv__", &binary_operator<&ops::div>);
  cls.def("__rtruediv__", &binary_operator<&ops::div, true>);
  cls.def("__pow__", &binary_operator<&pow_op>);
  cls.def("__rpow__", &binary_operator<&pow_op, true>);
  cls.def("__matmul__", &binary_operator<&ops::matmul>);
  cls.def("__rmatmul__", &binary_operator<&ops::matmul, true>);
  cls.def("__eq__", &binary_operator<&ops::eq>);
  cls.def("__ne__", &binary_operator<&ops::ne>);
  cls.def("__lt__", &binary_operator<&ops::lt>);
  cls.def("__le__", &binary_operator<&ops::le>);
  cls.def("__gt__", &binary_operator<&ops::gt>);
  cls.def("__ge__", &binary_operator<&ops::ge>);
  cls.def("__iadd__", &inplace_operator<&ops::add>);
  cls.def("__isub__", &inplace_operator<&ops::sub>);
  cls.def("__imul__", &inplace_operator<&ops::mul>);
  cls.def("__itruediv__", &inplace_operator<&ops::div>);
  cls.def("__neg__", [](const Tensor& t) { py::gil_scoped_release r; return ops::neg(t); });
  cls.def("__invert__", [](const Tensor& t) { py::gil_scoped_release r; return ops::logical_not(t); });
  cls.def("__hash__", [](py::handle self) { return reinterpret_cast<intptr_t>(self.ptr()); });
  cls.def("__bool__", [](const Tensor& t) {
    PYLLM_CHECK(t.numel() == 1, RuntimeError,
                "the truth value of a tensor with " << t.numel() << " elements is ambiguous");
    return py::bool_(item(t));
  });
  cls.def("__float__", [](const Tensor& t) {
    PYLLM_CHECK(t.numel() == 1, TypeError, "only one-element tensors can be converted to Python scalars");
    return py::float_(item(t));
  });
  cls.def("__int__", [](const Tensor& t) {
    PYLLM_CHECK(t.numel() == 1, TypeError, "only one-element tensors can be converted to Python scalars");
    return py::int_(item(t));
  });
  cls.def("__index__", [](const Tensor& t) {
    PYLLM_CHECK(t.numel() == 1 && is_integral(t.dtype()), TypeError,
                "only one-element integer tensors can be used as an index");
    return py::int_(item(t));
  });

  py::class_<Node, std::shared_ptr<Node>>(m, "Node", "A backward function in the autograd graph.")
      .def("name", &Node::name)
      .def_property_readonly("next_functions", [](const Node& n) {
        py::list out;
        for (const Edge& e : n.next_edges) out.append(py::make_tuple(e.fn, e.input_nr));
        return py::tuple(out);
      })
      .def("__repr__", [](const Node& n) { return "<" + n.name() + ">"; });
}

}  // namespace pyllm::bindings
