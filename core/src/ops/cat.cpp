// Joining (cat, stack: one copy into a fresh tensor) and splitting (split, chunk: views of the input).
// cat's backward hands each input a slice of the gradient; the split ops record one node for all their
// outputs, whose backward fills zeros for the outputs that received no gradient and concatenates.
#include <algorithm>

#include "cpu/cat.h"
#include "cpu/copy.h"
#include "ops/common.h"

namespace pyllm::ops {

namespace {

// PyTorch still accepts 1-D empty tensors of shape (0,) in cat whatever the other shapes are, and skips them.
bool is_legacy_empty(const Tensor& t) { return t.dim() == 1 && t.shape()[0] == 0; }

// Checks the inputs of cat/stack and returns the output shape; `dim` is wrapped in place. stack passes
// `new_dim`: the inputs are joined along a new dim (and must all have the same shape).
Shape joined_shape(const std::vector<Tensor>& tensors, int64_t& dim, bool new_dim, const char* op) {
  PYLLM_CHECK(!tensors.empty(), ValueError, op << ": expected a non-empty list of tensors");
  for (size_t i = 0; i < tensors.size(); ++i) {
    PYLLM_CHECK(tensors[i].defined(), ValueError, op << ": tensor " << i << " is None");
    check_same_dtype(tensors[0], tensors[i], op);
    check_same_device(tensors[0], tensors[i], op);
    PYLLM_CHECK(new_dim || tensors[i].dim() > 0, ValueError,
                op << ": tensor " << i << " is 0-d and cannot be concatenated; unsqueeze it or use stack()");
  }
  if (new_dim) {
    const Shape& shape = tensors[0].shape();
    for (size_t i = 1; i < tensors.size(); ++i)
      PYLLM_CHECK(tensors[i].shape() == shape, ValueError,
                  op << ": expects tensors of equal shape, but tensor 0 is " << shape_str(shape) << " and tensor "
                     << i << " is " << shape_str(tensors[i].shape()));
    dim = wrap_dim(dim, tensors[0].dim() + 1, op);
    Shape out = shape;
    out.insert(out.begin() + dim, static_cast<int64_t>(tensors.size()));
    return out;
  }
  // The first tensor that is not a legacy empty one sets the rank and the sizes of the other dims.
  const Tensor* ref = nullptr;
  size_t ref_index = 0;
  for (size_t i = 0; i < tensors.size() && ref == nullptr; ++i) {
    if (!is_legacy_empty(tensors[i])) {
      ref = &tensors[i];
      ref_index = i;
    }
  }
  if (ref == nullptr) {  // only (0,) tensors: the result is one too
    dim = wrap_dim(dim, 1, op);
    return Shape{0};
  }
  dim = wrap_dim(dim, ref->dim(), op);
  Shape out = ref->shape();
  out[dim] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (is_legacy_empty(t)) continue;
    bool match = t.dim() == ref->dim();
    for (int64_t d = 0; match && d < t.dim(); ++d) match = d == dim || t.shape()[d] == ref->shape()[d];
    PYLLM_CHECK(match, ValueError,
                op << ": tensor " << i << " has shape " << shape_str(t.shape()) << " but tensor " << ref_index
                   << " has shape " << shape_str(ref->shape()) << "; sizes must match except in dim " << dim);
    out[dim] += t.shape()[dim];
  }
  return out;
}

// Copies each (validated) input into its slab of a fresh `shape` tensor along `dim`; stack views each
// input with a size-1 `dim` inserted. No autograd.
Tensor join(const std::vector<Tensor>& tensors, int64_t dim, const Shape& shape, bool new_dim, const char* op) {
  Tensor out = empty(shape, tensors[0].dtype(), tensors[0].device());
  if (out.device().type != DeviceType::CPU) unsupported_device(op, out.device());
  if (out.numel() == 0) return out;
  std::vector<const Tensor*> inputs;  // those with elements to copy ((0,) tensors may lack `dim`)
  bool all_contiguous = true;
  for (const Tensor& t : tensors) {
    if (t.numel() == 0) continue;
    inputs.push_back(&t);
    all_contiguous = all_contiguous && t.is_contiguous();
  }
  if (all_contiguous) {
    // The output is (outer, row) with outer the dims before `dim`, each input (outer, its part of a row):
    // one pass of memcpy over the output, without a view per input (stacking many small tensors).
    int64_t outer = 1;
    for (int64_t d = 0; d < dim; ++d) outer *= shape[d];
    std::vector<const char*> data;
    std::vector<int64_t> row_bytes;
    for (const Tensor* t : inputs) {
      data.push_back(static_cast<const char*>(t->data_ptr()));
      row_bytes.push_back(t->numel() / outer * static_cast<int64_t>(itemsize(t->dtype())));
    }
    cpu::cat_contiguous(data, row_bytes, outer, static_cast<char*>(out.data_ptr()));
    return out;
  }
  int64_t offset = 0;
  for (const Tensor* input : inputs) {
    const Tensor& t = *input;
    Tensor src = new_dim ? unsqueeze(t.detach(), dim) : t.detach();
    const int64_t n = src.shape()[dim];
    cpu::copy(slice(out, dim, offset, offset + n), src);  // strided copy: contiguous runs become memcpy
    offset += n;
  }
  return out;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  Shape shape = joined_shape(tensors, dim, /*new_dim=*/false, "cat");
  Tensor out = join(tensors, dim, shape, /*new_dim=*/false, "cat");
  if (autograd::needs_grad(tensors)) {
    // Where each input's slab starts along dim (skipped (0,) inputs get empty gradients).
    std::vector<int64_t> starts, lengths;
    int64_t offset = 0;
    for (const Tensor& t : tensors) {
      const int64_t n = is_legacy_empty(t) ? -1 : t.shape()[dim];
      starts.push_back(offset);
      lengths.push_back(n);
      offset += std::max<int64_t>(n, 0);
    }
    autograd::record("CatBackward", tensors, {out}, [starts, lengths, dim](std::vector<Tensor>& g) {
      std::vector<Tensor> grads;
      for (size_t i = 0; i < starts.size(); ++i) {
        grads.push_back(lengths[i] < 0 ? zeros({0}, g[0].dtype(), g[0].device())
                                       : slice(g[0], dim, starts[i], starts[i] + lengths[i]));
      }
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  Shape shape = joined_shape(tensors, dim, /*new_dim=*/true, "stack");
  Tensor out = join(tensors, dim, shape, /*new_dim=*/true, "stack");
  if (autograd::needs_grad(tensors)) {
    const int64_t n = static_cast<int64_t>(tensors.size());
    autograd::record("StackBackward", tensors, {out}, [n, dim](std::vector<Tensor>& g) {
      std::vector<Tensor> grads;
      for (int64_t i = 0; i < n; ++i) grads.push_back(select(g[0], dim, i));
      return grads;
    });
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  check_defined(x, "split");
  PYLLM_CHECK(x.dim() > 0, ValueError, "split: expected a tensor with at least 1 dim, got a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "split");
  PYLLM_CHECK(!sizes.empty(), ValueError, "split: expected at least one section size");
  int64_t total = 0;
  for (int64_t s : sizes) {
    PYLLM_CHECK(s >= 0, ValueError, "split: section sizes must be non-negative, got " << shape_str(sizes));
    total += s;
  }
  PYLLM_CHECK(total == x.shape()[dim], ValueError,
              "split: section sizes " << shape_str(sizes) << " sum to " << total << " but dim " << dim
                                      << " of the input " << shape_str(x.shape()) << " has size "
                                      << x.shape()[dim]);
  std::vector<Tensor> outs;
  Tensor base = x.detach();
  int64_t offset = 0;
  for (int64_t s : sizes) {
    outs.push_back(slice(base, dim, offset, offset + s));
    offset += s;
  }
  if (autograd::needs_grad({x})) {
    autograd::record("SplitBackward", {x}, outs, [sizes, dim, in_shape = x.shape()](std::vector<Tensor>& g) {
      // Backward runs only when some output got a gradient: it gives the dtype and device of the zeros.
      const Tensor& any = *std::find_if(g.begin(), g.end(), [](const Tensor& t) { return t.defined(); });
      std::vector<Tensor> parts;
      for (size_t i = 0; i < sizes.size(); ++i) {
        if (g[i].defined()) {
          parts.push_back(g[i]);
        } else {
          Shape shape = in_shape;
          shape[dim] = sizes[i];
          parts.push_back(zeros(shape, any.dtype(), any.device()));
        }
      }
      return std::vector<Tensor>{cat(parts, dim)};
    });
  }
  return outs;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  check_defined(x, "split");
  PYLLM_CHECK(x.dim() > 0, ValueError, "split: expected a tensor with at least 1 dim, got a 0-d tensor");
  const int64_t size = x.shape()[wrap_dim(dim, x.dim(), "split")];
  PYLLM_CHECK(split_size > 0 || (split_size == 0 && size == 0), ValueError,
              "split: split_size must be positive (0 only for an empty dim), got " << split_size
                                                                                   << " for a dim of size " << size);
  // ceil(size / split_size) sections, the last one shorter; an empty dim gives one empty section.
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < size; start += split_size) sizes.push_back(std::min(split_size, size - start));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  check_defined(x, "chunk");
  PYLLM_CHECK(chunks > 0, ValueError, "chunk: chunks must be positive, got " << chunks);
  PYLLM_CHECK(x.dim() > 0, ValueError, "chunk: expected a tensor with at least 1 dim, got a 0-d tensor");
  const int64_t size = x.shape()[wrap_dim(dim, x.dim(), "chunk")];
  // As PyTorch: sections of ceil(size / chunks), so there may be fewer than `chunks`; an empty dim
  // gives `chunks` empty sections.
  if (size == 0) return split(x, std::vector<int64_t>(chunks, 0), dim);
  return split(x, (size + chunks - 1) / chunks, dim);
}

}  // namespace pyllm::ops
