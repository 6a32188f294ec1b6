// Reductions over dims. The input is viewed as (O, R, I) (kept outer dims, reduced dims, kept inner dims)
// whenever its layout allows, so that common reductions (over the last dims, or over leading batch dims
// as in bias gradients) read memory in order without a copy. Also the selections along one dim (max, min,
// argmax, topk): their values' gradients are scattered back to the positions they came from.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/index.h"
#include "cpu/reduce.h"
#include "cpu/topk.h"
#include "ops/common.h"
#include "ops/dim_split.h"

namespace pyllm::ops {

namespace {

// Sorted, deduplicated, wrapped dims; empty input means all dims.
std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<bool> reduced(std::max<int64_t>(ndim, 1), dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, ndim, op);
    PYLLM_CHECK(!reduced[w] || dims.empty(), ValueError, op << ": dim " << d << " appears more than once");
    reduced[w] = true;
  }
  std::vector<int64_t> out;
  for (int64_t d = 0; d < ndim; ++d)
    if (reduced[d]) out.push_back(d);
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    bool r = std::binary_search(dims.begin(), dims.end(), d);
    if (!r) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// x (no autograd) viewed as (O, R, I) for a reduction over sorted `dims`.
struct OriView {
  Tensor src;  // contiguous
  int64_t O = 1, R = 1, I = 1;
};

OriView ori_view(const Tensor& x, const std::vector<int64_t>& dims) {
  // Find the first and last reduced dim among dims of size > 1; if every kept dim of size > 1 lies
  // outside that span, a contiguous x is exactly (O, R, I).
  int64_t first = -1, last = -1;
  bool gap = false;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (x.shape()[d] == 1) continue;
    bool r = std::binary_search(dims.begin(), dims.end(), d);
    if (r) {
      if (first < 0) first = d;
      else if (last != d - 1 && last >= 0) {
        for (int64_t k = last + 1; k < d; ++k)
          if (x.shape()[k] != 1) gap = true;
      }
      last = d;
    }
  }
  OriView v;
  if (first < 0) {  // nothing of size > 1 is reduced: every element is its own group
    v.src = contiguous(x);
    v.O = x.numel();
    return v;
  }
  if (gap) {
    // Move the reduced dims to the end and copy: then it is (O, R, 1).
    std::vector<int64_t> order;
    for (int64_t d = 0; d < x.dim(); ++d)
      if (!std::binary_search(dims.begin(), dims.end(), d)) order.push_back(d);
    order.insert(order.end(), dims.begin(), dims.end());
    v.src = contiguous(permute(x, order));
    const int64_t kept = x.dim() - static_cast<int64_t>(dims.size());
    for (int64_t d = 0; d < x.dim(); ++d) (d < kept ? v.O : v.R) *= v.src.shape()[d];
    return v;
  }
  v.src = contiguous(x);
  for (int64_t d = 0; d < first; ++d) v.O *= x.shape()[d];
  for (int64_t d = first; d <= last; ++d) v.R *= x.shape()[d];
  for (int64_t d = last + 1; d < x.dim(); ++d) v.I *= x.shape()[d];
  return v;
}

// The raw sum (no autograd) of x over sorted `dims`, shaped with keepdim.
Tensor sum_impl(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const DType out_dtype = is_compute_float(x.dtype()) ? x.dtype() : DType::Int64;
  Shape out_shape = reduced_shape(x.shape(), dims, keepdim);
  Tensor out = empty(out_shape, out_dtype, x.device());
  if (x.device().type != DeviceType::CPU) unsupported_device("sum", x.device());
  if (x.numel() == 0 || out.numel() == 0) {
    fill_(out, 0.0);
    return out;
  }
  OriView v = ori_view(x.detach(), dims);
  if (v.R == 1) {  // a copy (reshaped, converted for ints)
    copy_(out, reshape(v.src, out_shape));
    return out;
  }
  cpu::sum_ori(v.src, v.O, v.R, v.I, out);
  return out;
}

// Gradient of a reduction: grad (shaped with or without keepdim) broadcast back to `in_shape`.
Tensor expand_back(const Tensor& grad, const Shape& in_shape, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor g = grad;
  if (!keepdim)
    for (int64_t d : dims) g = unsqueeze(g, d);  // dims ascending: each insert lands at its final place
  return expand(g, in_shape);
}

void check_numeric(const Tensor& x, const char* op) {
  check_defined(x, op);
  PYLLM_CHECK(is_compute_float(x.dtype()) || is_integral(x.dtype()), TypeError,
              op << ": not supported for " << dtype_name(x.dtype()) << " tensors"
                 << (is_floating(x.dtype()) ? " (a storage type: convert with .float())" : ""));
  if (x.device().type != DeviceType::CPU) unsupported_device(op, x.device());
}

double item(const Tensor& t) { return to_dtype(t, DType::Float64).data<double>()[0]; }

// max()/min() over everything: the gradient is shared evenly by every element equal to the result (every
// NaN when the result is NaN), as torch.
Tensor extreme_all(const Tensor& x, bool want_max, const char* op, const char* node) {
  check_numeric(x, op);
  PYLLM_CHECK(x.numel() > 0, ValueError,
              op << ": cannot reduce an empty tensor " << shape_str(x.shape()) << " without a dim; pass dim=");
  Tensor out = empty({}, x.dtype(), x.device());
  cpu::extreme_ori(contiguous(x.detach()), 1, x.numel(), 1, want_max, out, Tensor());
  if (autograd::needs_grad({x})) {
    SavedTensor sx(x), so(out);
    autograd::record(node, {x}, {out}, [sx, so, op](std::vector<Tensor>& g) {
      Tensor xv = sx.unpack(op), m = so.unpack(op);
      Tensor hit = to_dtype(std::isnan(item(m)) ? ne(xv, xv) : eq(xv, m), xv.dtype());
      return std::vector<Tensor>{mul(hit, div(g[0], sum(hit)))};
    });
  }
  return out;
}

// x viewed as (O, R, I) around `dim`, checked non-empty along it.
DimSplit split_nonempty(const Tensor& x, int64_t dim, const char* op) {
  const int64_t d = wrap_dim(dim, x.dim(), op);
  const DimSplit s = split_at(x.shape(), d);
  PYLLM_CHECK(s.size > 0, IndexError,
              op << ": cannot reduce over dim " << d << " of " << shape_str(x.shape()) << ": it is empty");
  return s;
}

// Gradient of values picked along a dim: g (O, K, I) scattered to the saved positions in (O, R, I).
Tensor scatter_back(const Tensor& g, const Tensor& positions, const Shape& in_shape, const DimSplit& s) {
  Tensor gx = zeros(in_shape, g.dtype(), g.device());
  if (g.numel() > 0)
    cpu::scatter_add_along(contiguous(g), positions, gx, s.outer, s.size, positions.numel() / (s.outer * s.inner),
                           s.inner);
  return gx;
}

std::pair<Tensor, Tensor> extreme_dim(const Tensor& x, int64_t dim, bool keepdim, bool want_max, const char* op,
                                      const char* node) {
  check_numeric(x, op);
  const DimSplit s = split_nonempty(x, dim, op);
  const Shape out_shape = reduced_shape(x.shape(), {wrap_dim(dim, x.dim(), op)}, keepdim);
  Tensor values = empty(out_shape, x.dtype(), x.device());
  Tensor indices = empty(out_shape, DType::Int64, x.device());
  if (values.numel() > 0) cpu::extreme_ori(contiguous(x.detach()), s.outer, s.size, s.inner, want_max, values, indices);
  if (autograd::needs_grad({x})) {
    SavedTensor sidx(indices);
    autograd::record(node, {x}, {values}, [sidx, s, op, shape = x.shape()](std::vector<Tensor>& g) {
      return std::vector<Tensor>{scatter_back(g[0], sidx.unpack(op), shape, s)};
    });
  }
  return {values, indices};
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_defined(x, "sum");
  PYLLM_CHECK(is_compute_float(x.dtype()) || is_integral(x.dtype()) || x.dtype() == DType::Bool, TypeError,
              "sum: not supported for " << dtype_name(x.dtype()) << " tensors; convert with .float()");
  std::vector<int64_t> nd = normalize_dims(dims, x.dim(), "sum");
  Tensor out = sum_impl(x, nd, keepdim);
  if (autograd::needs_grad({x})) {
    autograd::record("SumBackward", {x}, {out}, [in_shape = x.shape(), nd, keepdim](std::vector<Tensor>& g) {
      return std::vector<Tensor>{expand_back(g[0], in_shape, nd, keepdim)};
    });
  }
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_float(x, "mean");
  std::vector<int64_t> nd = normalize_dims(dims, x.dim(), "mean");
  int64_t count = 1;
  for (int64_t d : nd) count *= x.shape()[d];
  Tensor out = sum_impl(x, nd, keepdim);
  // An empty reduction gives NaN, as in PyTorch.
  mul_(out, count == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / static_cast<double>(count));
  if (autograd::needs_grad({x})) {
    autograd::record("MeanBackward", {x}, {out}, [in_shape = x.shape(), nd, keepdim, count](std::vector<Tensor>& g) {
      Tensor scaled = mul(g[0], scalar_tensor(1.0 / static_cast<double>(std::max<int64_t>(count, 1)), g[0].dtype(),
                                              g[0].device()));
      return std::vector<Tensor>{expand_back(scaled, in_shape, nd, keepdim)};
    });
  }
  return out;
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  check_float(x, "var");
  std::vector<int64_t> nd = normalize_dims(dims, x.dim(), "var");
  int64_t count = 1;
  for (int64_t d : nd) count *= x.shape()[d];
  const Shape out_shape = reduced_shape(x.shape(), nd, keepdim);
  Tensor out = empty(out_shape, x.dtype(), x.device());
  Tensor mu = empty(out_shape, x.dtype(), x.device());
  if (x.device().type != DeviceType::CPU) unsupported_device("var", x.device());
  if (out.numel() > 0 && count == 0) {  // an empty reduction gives NaN, as torch
    fill_(out, std::numeric_limits<double>::quiet_NaN());
    fill_(mu, std::numeric_limits<double>::quiet_NaN());
  } else if (out.numel() > 0) {
    OriView v = ori_view(x.detach(), nd);
    cpu::var_ori(v.src, v.O, v.R, v.I, correction, out, mu);
  }
  if (autograd::needs_grad({x})) {
    SavedTensor sx(x), smu(mu);
    autograd::record("VarBackward", {x}, {out}, [sx, smu, nd, keepdim, count, correction](std::vector<Tensor>& g) {
      // d var / dx = 2 (x - mean) / (N - correction); unclamped, as torch's backward.
      Tensor xv = sx.unpack("var");
      Tensor centered = sub(xv, expand_back(smu.unpack("var"), xv.shape(), nd, keepdim));
      Tensor scale = scalar_tensor(2.0 / (static_cast<double>(count) - correction), xv.dtype(), xv.device());
      return std::vector<Tensor>{mul(centered, mul(expand_back(g[0], xv.shape(), nd, keepdim), scale))};
    });
  }
  return out;
}

Tensor max(const Tensor& x) { return extreme_all(x, true, "max", "MaxBackward"); }
Tensor min(const Tensor& x) { return extreme_all(x, false, "min", "MinBackward"); }

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_dim(x, dim, keepdim, true, "max", "MaxBackward");
}

std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_dim(x, dim, keepdim, false, "min", "MinBackward");
}

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  check_numeric(x, "argmax");
  if (!dim) {  // over everything, as if flattened; keepdim keeps every dim as size 1
    PYLLM_CHECK(x.numel() > 0, ValueError, "argmax: cannot reduce an empty tensor " << shape_str(x.shape()));
    Tensor out = empty(keepdim ? Shape(x.dim(), 1) : Shape{}, DType::Int64, x.device());
    cpu::extreme_ori(contiguous(x.detach()), 1, x.numel(), 1, true, Tensor(), out);
    return out;
  }
  const DimSplit s = split_nonempty(x, *dim, "argmax");
  Tensor out = empty(reduced_shape(x.shape(), {wrap_dim(*dim, x.dim(), "argmax")}, keepdim), DType::Int64, x.device());
  if (out.numel() > 0) cpu::extreme_ori(contiguous(x.detach()), s.outer, s.size, s.inner, true, Tensor(), out);
  return out;
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  check_numeric(x, "topk");
  const int64_t d = wrap_dim(dim, x.dim(), "topk");
  const DimSplit s = split_at(x.shape(), d);
  PYLLM_CHECK(k >= 0 && k <= s.size && (x.dim() > 0 || k == 1), ValueError,
              "topk: k (" << k << ") is out of range for dim " << d << " of size " << s.size << " in "
                          << shape_str(x.shape()));
  Shape out_shape = x.shape();
  if (x.dim() > 0) out_shape[d] = k;
  Tensor values = empty(out_shape, x.dtype(), x.device());
  Tensor indices = empty(out_shape, DType::Int64, x.device());
  if (values.numel() > 0)
    cpu::topk_ori(contiguous(x.detach()), s.outer, s.size, s.inner, k, largest, sorted, values, indices);
  if (autograd::needs_grad({x})) {
    SavedTensor sidx(indices);
    autograd::record("TopkBackward", {x}, {values}, [sidx, s, shape = x.shape()](std::vector<Tensor>& g) {
      return std::vector<Tensor>{scatter_back(g[0], sidx.unpack("topk"), shape, s)};
    });
  }
  return {values, indices};
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(shape.size());
  PYLLM_CHECK(lead >= 0, ValueError, "sum_to: cannot reduce " << shape_str(grad.shape()) << " to " << shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < grad.dim(); ++d) {
    if (d < lead) dims.push_back(d);
    else if (shape[d - lead] == 1 && grad.shape()[d] != 1) dims.push_back(d);
  }
  Tensor reduced = dims.empty() ? grad : sum(grad, dims, /*keepdim=*/true);
  return reshape(reduced, shape);
}

}  // namespace pyllm::ops
