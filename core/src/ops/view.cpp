// Views: new shape/strides/offset over the same storage, no data copied. Their backward formulas undo
// the view on the gradient.
#include <numeric>

#include "ops/common.h"

namespace pyllm::ops {

namespace {

Tensor make_view(const Tensor& x, Shape shape, Strides strides, int64_t offset) {
  return Tensor(x.storage(), std::move(shape), std::move(strides), offset, x.dtype());
}

// Replaces a single -1 by the size that keeps numel; ValueError if impossible.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      PYLLM_CHECK(infer_at < 0, ValueError, op << ": only one dimension can be -1, got " << shape_str(shape));
      infer_at = static_cast<int64_t>(i);
    } else {
      PYLLM_CHECK(out[i] >= 0, ValueError, op << ": invalid shape " << shape_str(shape));
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    PYLLM_CHECK(known != 0 && numel % known == 0, ValueError,
                op << ": shape " << shape_str(shape) << " is invalid for input of size " << numel);
    out[infer_at] = numel / known;
  }
  PYLLM_CHECK(numel_of(out) == numel, ValueError,
              op << ": shape " << shape_str(shape) << " is invalid for input of size " << numel);
  return out;
}

// Strides that let `new_shape` view memory laid out as (old_shape, old_strides), if any: dims can be
// split or merged only within runs that are contiguous with each other (PyTorch's rule).
bool view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& new_shape, Strides& out) {
  out.assign(new_shape.size(), 0);
  if (numel_of(old_shape) == 0 || old_shape.empty()) {
    out = contiguous_strides(new_shape);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t tensor_d = static_cast<int64_t>(old_shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[tensor_d];
    bool chunk_ends = tensor_d == 0 || (old_shape[tensor_d - 1] != 1 &&
                                        old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
      out[view_d] = view_numel * chunk_base_stride;
      view_numel *= new_shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return false;
    if (tensor_d > 0) {
      chunk_base_stride = old_strides[tensor_d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  return view_d == -1;
}

void record_reshape_backward(const char* name, const Tensor& x, const Tensor& out) {
  if (!autograd::needs_grad({x})) return;
  Shape in_shape = x.shape();
  autograd::record(name, {x}, {out}, [in_shape](std::vector<Tensor>& g) {
    return std::vector<Tensor>{reshape(g[0], in_shape)};
  });
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    PYLLM_CHECK(da == db || da == 1 || db == 1, ValueError,
                op << ": shapes " << shape_str(a) << " and " << shape_str(b) << " cannot be broadcast (dim "
                   << i << ": " << da << " vs " << db << ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor view(const Tensor& x, const Shape& shape) {
  check_defined(x, "view");
  Shape new_shape = infer_shape(shape, x.numel(), "view");
  Strides strides;
  PYLLM_CHECK(view_strides(x.shape(), x.strides(), new_shape, strides), ValueError,
              "view: shape " << shape_str(new_shape) << " is not compatible with the input's shape "
                             << shape_str(x.shape()) << " and strides " << shape_str(x.strides())
                             << "; use reshape() (which copies when it must)");
  Tensor out = make_view(x, new_shape, strides, x.offset());
  record_reshape_backward("ViewBackward", x, out);
  return out;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_defined(x, "reshape");
  Shape new_shape = infer_shape(shape, x.numel(), "reshape");
  Strides strides;
  if (view_strides(x.shape(), x.strides(), new_shape, strides)) {
    Tensor out = make_view(x, new_shape, strides, x.offset());
    record_reshape_backward("ReshapeBackward", x, out);
    return out;
  }
  return view(clone(x), new_shape);  // clone records its own backward
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  check_defined(x, "permute");
  const int64_t n = x.dim();
  PYLLM_CHECK(static_cast<int64_t>(dims.size()) == n, ValueError,
              "permute: got " << dims.size() << " dims for a " << n << "-d tensor");
  std::vector<int64_t> perm(n), inverse(n);
  std::vector<bool> used(n, false);
  Shape shape(n);
  Strides strides(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t d = wrap_dim(dims[i], n, "permute");
    PYLLM_CHECK(!used[d], ValueError, "permute: dim " << d << " appears twice in " << shape_str(dims));
    used[d] = true;
    perm[i] = d;
    inverse[d] = i;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  if (autograd::needs_grad({x})) {
    autograd::record("PermuteBackward", {x}, {out}, [inverse](std::vector<Tensor>& g) {
      return std::vector<Tensor>{permute(g[0], inverse)};
    });
  }
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  check_defined(x, "transpose");
  const int64_t d0 = wrap_dim(dim0, x.dim(), "transpose"), d1 = wrap_dim(dim1, x.dim(), "transpose");
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  if (x.dim() > 0) std::swap(dims[d0], dims[d1]);  // a 0-d tensor accepts dims 0 and -1
  return permute(x, dims);
}

Tensor slice(const Tensor& x, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end, int64_t step) {
  check_defined(x, "slice");
  PYLLM_CHECK(x.dim() > 0, IndexError, "slice: cannot slice a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "slice");
  PYLLM_CHECK(step > 0, ValueError, "slice: step must be positive, got " << step);
  const int64_t size = x.shape()[dim];
  auto clamp_index = [size](int64_t i) {
    if (i < 0) i += size;
    return std::min(std::max<int64_t>(i, 0), size);
  };
  int64_t b = start ? clamp_index(*start) : 0;
  int64_t e = end ? clamp_index(*end) : size;
  int64_t len = e > b ? (e - b + step - 1) / step : 0;
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape[dim] = len;
  strides[dim] *= step;
  Tensor out = make_view(x, shape, strides, x.offset() + b * x.strides()[dim]);
  if (autograd::needs_grad({x})) {
    Shape in_shape = x.shape();
    autograd::record("SliceBackward", {x}, {out}, [in_shape, dim, b, e, step](std::vector<Tensor>& g) {
      Tensor grad_in = zeros(in_shape, g[0].dtype(), g[0].device());
      copy_(slice(grad_in, dim, b, e, step), g[0]);
      return std::vector<Tensor>{grad_in};
    });
  }
  return out;
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  check_defined(x, "select");
  PYLLM_CHECK(x.dim() > 0, IndexError, "select: cannot index a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "select");
  const int64_t size = x.shape()[dim];
  PYLLM_CHECK(index >= -size && index < size, IndexError,
              "index " << index << " is out of bounds for dim " << dim << " with size " << size);
  if (index < 0) index += size;
  Shape shape = x.shape();
  Strides strides = x.strides();
  int64_t offset = x.offset() + index * strides[dim];
  shape.erase(shape.begin() + dim);
  strides.erase(strides.begin() + dim);
  Tensor out = make_view(x, shape, strides, offset);
  if (autograd::needs_grad({x})) {
    Shape in_shape = x.shape();
    autograd::record("SelectBackward", {x}, {out}, [in_shape, dim, index](std::vector<Tensor>& g) {
      Tensor grad_in = zeros(in_shape, g[0].dtype(), g[0].device());
      copy_(select(grad_in, dim, index), g[0]);
      return std::vector<Tensor>{grad_in};
    });
  }
  return out;
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  check_defined(x, "unsqueeze");
  dim = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  Strides strides = x.strides();
  int64_t stride = dim < x.dim() ? strides[dim] * shape[dim] : 1;
  shape.insert(shape.begin() + dim, 1);
  strides.insert(strides.begin() + dim, stride);
  Tensor out = make_view(x, shape, strides, x.offset());
  record_reshape_backward("UnsqueezeBackward", x, out);
  return out;
}

Tensor squeeze(const Tensor& x, std::optional<int64_t> dim) {
  check_defined(x, "squeeze");
  Shape shape;
  Strides strides;
  int64_t only = dim ? wrap_dim(*dim, x.dim(), "squeeze") : -1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    bool drop = x.shape()[d] == 1 && (only < 0 || d == only);
    if (drop) continue;
    shape.push_back(x.shape()[d]);
    strides.push_back(x.strides()[d]);
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  record_reshape_backward("SqueezeBackward", x, out);
  return out;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  check_defined(x, "expand");
  const int64_t n = static_cast<int64_t>(shape.size());
  PYLLM_CHECK(n >= x.dim(), ValueError,
              "expand: the target " << shape_str(shape) << " has fewer dims than the input " << shape_str(x.shape()));
  Shape out_shape(n);
  Strides out_strides(n);
  for (int64_t i = n - 1; i >= 0; --i) {
    int64_t xd = i - (n - x.dim());
    int64_t want = shape[i];
    if (xd < 0) {
      PYLLM_CHECK(want >= 0, ValueError, "expand: -1 is not allowed for a new leading dim in " << shape_str(shape));
      out_shape[i] = want;
      out_strides[i] = 0;
      continue;
    }
    int64_t have = x.shape()[xd];
    if (want == -1) want = have;
    PYLLM_CHECK(want >= 0, ValueError, "expand: invalid size " << want << " in " << shape_str(shape));
    PYLLM_CHECK(have == want || have == 1, ValueError,
                "expand: cannot expand " << shape_str(x.shape()) << " to " << shape_str(shape) << " (dim " << i
                                         << ": " << have << " vs " << want << ")");
    out_shape[i] = want;
    out_strides[i] = have == want ? x.strides()[xd] : 0;
  }
  if (out_shape == x.shape()) return x;
  Tensor out = make_view(x, out_shape, out_strides, x.offset());
  if (autograd::needs_grad({x})) {
    Shape in_shape = x.shape();
    autograd::record("ExpandBackward", {x}, {out}, [in_shape](std::vector<Tensor>& g) {
      return std::vector<Tensor>{sum_to(g[0], in_shape)};
    });
  }
  return out;
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  check_defined(x, "flatten");
  if (x.dim() == 0) return reshape(x, {1});
  start_dim = wrap_dim(start_dim, x.dim(), "flatten");
  end_dim = wrap_dim(end_dim, x.dim(), "flatten");
  PYLLM_CHECK(start_dim <= end_dim, ValueError, "flatten: start_dim " << start_dim << " is after end_dim " << end_dim);
  Shape shape(x.shape().begin(), x.shape().begin() + start_dim);
  int64_t merged = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + end_dim + 1, x.shape().end());
  return reshape(x, shape);
}

}  // namespace pyllm::ops
