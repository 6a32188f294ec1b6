// Reductions over dims. The input is viewed as (O, R, I) (kept outer dims, reduced dims, kept inner dims)
// whenever its layout allows, so that common reductions (over the last dims, or over leading batch dims
// as in bias gradients) read memory in order without a copy.
#include <algorithm>
#include <limits>

#include "cpu/reduce.h"
#include "ops/common.h"

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
  // Find the first and last reduced dim among dims of size > 1; if every kept dim of size > 1 lies
  // outside that span, a contiguous x is exactly (O, R, I).
  Tensor src = x.detach();
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
  if (first < 0) {  // nothing of size > 1 is reduced: a copy (reshaped, converted for ints)
    copy_(out, reshape(src, out_shape));
    return out;
  }
  if (gap) {
    // Move the reduced dims to the end and copy: then it is (O, R, 1).
    std::vector<int64_t> order;
    for (int64_t d = 0; d < x.dim(); ++d)
      if (!std::binary_search(dims.begin(), dims.end(), d)) order.push_back(d);
    order.insert(order.end(), dims.begin(), dims.end());
    src = contiguous(permute(src, order));
    first = x.dim() - static_cast<int64_t>(dims.size());
    last = x.dim() - 1;
    Shape permuted = src.shape();
    int64_t O = 1, R = 1;
    for (int64_t d = 0; d < first; ++d) O *= permuted[d];
    for (int64_t d = first; d <= last; ++d) R *= permuted[d];
    cpu::sum_ori(src, O, R, 1, out);
    return out;
  }
  src = contiguous(src);
  int64_t O = 1, R = 1, I = 1;
  for (int64_t d = 0; d < first; ++d) O *= x.shape()[d];
  for (int64_t d = first; d <= last; ++d) R *= x.shape()[d];
  for (int64_t d = last + 1; d < x.dim(); ++d) I *= x.shape()[d];
  cpu::sum_ori(src, O, R, I, out);
  return out;
}

// Gradient of a reduction: grad (shaped with or without keepdim) broadcast back to `in_shape`.
Tensor expand_back(const Tensor& grad, const Shape& in_shape, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor g = grad;
  if (!keepdim)
    for (int64_t d : dims) g = unsqueeze(g, d);  // dims ascending: each insert lands at its final place
  return expand(g, in_shape);
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
