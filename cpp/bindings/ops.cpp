// The functional ops, one binding each, all with the GIL released. pyllm/nn/functional.py gives them
// PyTorch's signatures (Python scalars, optional arguments).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "pyllm/ops.h"
#include "registry.h"
#include "tensor_caster.h"

namespace py = pybind11;

namespace pyllm::bindings {

namespace {

ops::Reduction parse_reduction(const std::string& r) {
  if (r == "mean") return ops::Reduction::Mean;
  if (r == "sum") return ops::Reduction::Sum;
  if (r == "none") return ops::Reduction::None;
  PYLLM_FAIL(ValueError, "reduction must be 'mean', 'sum' or 'none', got '" << r << "'");
}

}  // namespace

void register_ops(py::module_& m) {
  auto nogil = py::call_guard<py::gil_scoped_release>();
  using py::arg;

  // creation
  m.def("empty", &ops::empty, arg("shape"), arg("dtype") = DType::Float32, arg("device") = cpu_device(), nogil);
  m.def("zeros", &ops::zeros, arg("shape"), arg("dtype") = DType::Float32, arg("device") = cpu_device(), nogil);
  m.def("ones", &ops::ones, arg("shape"), arg("dtype") = DType::Float32, arg("device") = cpu_device(), nogil);
  m.def("full", &ops::full, arg("shape"), arg("fill_value"), arg("dtype") = DType::Float32, arg("device") = cpu_device(), nogil);
  m.def("arange", &ops::arange, arg("start"), arg("end"), arg("step"), arg("dtype"), arg("device") = cpu_device(), nogil);

  // views
  m.def("view", &ops::view, arg("input"), arg("shape"), nogil);
  m.def("reshape", &ops::reshape, arg("input"), arg("shape"), nogil);
  m.def("permute", &ops::permute, arg("input"), arg("dims"), nogil);
  m.def("transpose", &ops::transpose, arg("input"), arg("dim0"), arg("dim1"), nogil);
  m.def("slice", &ops::slice, arg("input"), arg("dim"), arg("start"), arg("end"), arg("step") = 1, nogil);
  m.def("select", &ops::select, arg("input"), arg("dim"), arg("index"), nogil);
  m.def("unsqueeze", &ops::unsqueeze, arg("input"), arg("dim"), nogil);
  m.def("squeeze", &ops::squeeze, arg("input"), arg("dim") = py::none(), nogil);
  m.def("expand", &ops::expand, arg("input"), arg("shape"), nogil);
  m.def("flatten", &ops::flatten, arg("input"), arg("start_dim") = 0, arg("end_dim") = -1, nogil);
  m.def("broadcast_shapes", [](const Shape& a, const Shape& b) { return ops::broadcast_shapes(a, b, "broadcast_shapes"); });

  // elementwise
  m.def("add", &ops::add, arg("input"), arg("other"), nogil);
  m.def("sub", &ops::sub, arg("input"), arg("other"), nogil);
  m.def("mul", &ops::mul, arg("input"), arg("other"), nogil);
  m.def("div", &ops::div, arg("input"), arg("other"), nogil);
  m.def("pow", py::overload_cast<const Tensor&, const Tensor&>(&ops::pow), arg("input"), arg("exponent"), nogil);
  m.def("pow_scalar", py::overload_cast<const Tensor&, double>(&ops::pow), arg("input"), arg("exponent"), nogil);
  m.def("maximum", &ops::maximum, arg("input"), arg("other"), nogil);
  m.def("minimum", &ops::minimum, arg("input"), arg("other"), nogil);
  m.def("eq", &ops::eq, arg("input"), arg("other"), nogil);
  m.def("ne", &ops::ne, arg("input"), arg("other"), nogil);
  m.def("lt", &ops::lt, arg("input"), arg("other"), nogil);
  m.def("le", &ops::le, arg("input"), arg("other"), nogil);
  m.def("gt", &ops::gt, arg("input"), arg("other"), nogil);
  m.def("ge", &ops::ge, arg("input"), arg("other"), nogil);
  m.def("logical_not", &ops::logical_not, arg("input"), nogil);
  m.def("neg", &ops::neg, arg("input"), nogil);
  m.def("exp", &ops::exp, arg("input"), nogil);
  m.def("log", &ops::log, arg("input"), nogil);
  m.def("sqrt", &ops::sqrt, arg("input"), nogil);
  m.def("rsqrt", &ops::rsqrt, arg("input"), nogil);
  m.def("abs", &ops::abs, arg("input"), nogil);
  m.def("sin", &ops::sin, arg("input"), nogil);
  m.def("cos", &ops::cos, arg("input"), nogil);
  m.def("tanh", &ops::tanh, arg("input"), nogil);
  m.def("sigmoid", &ops::sigmoid, arg("input"), nogil);
  m.def("relu", &ops::relu, arg("input"), nogil);
  m.def("gelu", &ops::gelu, arg("input"), arg("tanh_approximation") = false, nogil);
  m.def("silu", &ops::silu, arg("input"), nogil);
  m.def("clamp", &ops::clamp, arg("input"), arg("min") = py::none(), arg("max") = py::none(), nogil);

  // reductions
  m.def("sum", &ops::sum, arg("input"), arg("dims"), arg("keepdim") = false, nogil);
  m.def("mean", &ops::mean, arg("input"), arg("dims"), arg("keepdim") = false, nogil);
  m.def("var", &ops::var, arg("input"), arg("dims"), arg("correction") = 1.0, arg("keepdim") = false, nogil);
  m.def("max_all", py::overload_cast<const Tensor&>(&ops::max), arg("input"), nogil);
  m.def("max_dim", py::overload_cast<const Tensor&, int64_t, bool>(&ops::max), arg("input"), arg("dim"),
        arg("keepdim") = false, nogil);
  m.def("min_all", py::overload_cast<const Tensor&>(&ops::min), arg("input"), nogil);
  m.def("min_dim", py::overload_cast<const Tensor&, int64_t, bool>(&ops::min), arg("input"), arg("dim"),
        arg("keepdim") = false, nogil);
  m.def("argmax", &ops::argmax, arg("input"), arg("dim") = py::none(), arg("keepdim") = false, nogil);
  m.def("topk", &ops::topk, arg("input"), arg("k"), arg("dim") = -1, arg("largest") = true, arg("sorted") = true, nogil);

  // normalization
  m.def("softmax", &ops::softmax, arg("input"), arg("dim"), nogil);
  m.def("log_softmax", &ops::log_softmax, arg("input"), arg("dim"), nogil);
  m.def("layer_norm", &ops::layer_norm, arg("input"), arg("normalized_shape"), arg("weight") = py::none(),
        arg("bias") = py::none(), arg("eps") = 1e-5, nogil);
  m.def("rms_norm", &ops::rms_norm, arg("input"), arg("normalized_shape"), arg("weight") = py::none(),
        arg("eps") = py::none(), nogil);

  // indexing, joining
  m.def("embedding", &ops::embedding, arg("input"), arg("weight"), arg("padding_idx") = py::none(), nogil);
  m.def("index_select", &ops::index_select, arg("input"), arg("dim"), arg("index"), nogil);
  m.def("masked_fill", &ops::masked_fill, arg("input"), arg("mask"), arg("value"), nogil);
  m.def("where", &ops::where, arg("condition"), arg("input"), arg("other"), nogil);
  m.def("cat", &ops::cat, arg("tensors"), arg("dim") = 0, nogil);
  m.def("stack", &ops::stack, arg("tensors"), arg("dim") = 0, nogil);
  m.def("split", py::overload_cast<const Tensor&, int64_t, int64_t>(&ops::split), arg("input"), arg("split_size"),
        arg("dim") = 0, nogil);
  m.def("split_sizes", py::overload_cast<const Tensor&, const std::vector<int64_t>&, int64_t>(&ops::split),
        arg("input"), arg("sizes"), arg("dim") = 0, nogil);
  m.def("chunk", &ops::chunk, arg("input"), arg("chunks"), arg("dim") = 0, nogil);

  // losses, dropout
  m.def("cross_entropy", [](const Tensor& logits, const Tensor& target, int64_t ignore_index, double label_smoothing,
                            const std::string& reduction) {
    ops::Reduction r = parse_reduction(reduction);
    py::gil_scoped_release release;
    return ops::cross_entropy(logits, target, ignore_index, label_smoothing, r);
  }, arg("input"), arg("target"), arg("ignore_index") = -100, arg("label_smoothing") = 0.0, arg("reduction") = "mean");
  m.def("dropout", &ops::dropout, arg("input"), arg("p") = 0.5, arg("training") = true, arg("generator") = nullptr, nogil);

  // products, attention
  m.def("matmul", &ops::matmul, arg("input"), arg("other"), nogil);
  m.def("bmm", &ops::bmm, arg("input"), arg("mat2"), nogil);
  m.def("linear", &ops::linear, arg("input"), arg("weight"), arg("bias") = py::none(), nogil);
  m.def("scaled_dot_product_attention", &ops::scaled_dot_product_attention, arg("query"), arg("key"), arg("value"),
        arg("attn_mask") = py::none(), arg("is_causal") = false, arg("scale") = py::none(), arg("dropout_p") = 0.0,
        arg("generator") = nullptr, nogil);

  // optimizer kernels
  m.def("adamw_step", &ops::adamw_step, arg("params"), arg("grads"), arg("exp_avgs"), arg("exp_avg_sqs"), arg("lr"),
        arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay"), arg("step"), nogil);
  m.def("global_norm", &ops::global_norm, arg("tensors"), arg("norm_type") = 2.0, nogil);
}

}  // namespace pyllm::bindings
