// The tensor: a strided view (shape, strides, offset, in elements) onto shared storage, plus the autograd
// fields. `Tensor` is a cheap handle (a shared pointer); copies alias the same tensor, as in PyTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "pyllm/device.h"
#include "pyllm/dtype.h"
#include "pyllm/error.h"

namespace pyllm {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

class Node;
class TensorImpl;

// Bytes on one device. Views share it; `version` counts in-place writes so that autograd can refuse a
// tensor it saved for backward that was overwritten since.
struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  std::shared_ptr<void> owner;  // frees (or releases a foreign owner of) the memory when the last view goes
  uint64_t version = 0;

  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
  // Wraps memory owned elsewhere (a NumPy array, a DLPack tensor); `owner` keeps it alive.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner);
};

class Tensor {
 public:
  Tensor() = default;  // undefined: no tensor (Python sees None)
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  // A fresh tensor of `shape` over `storage` starting at element `offset`.
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset, DType dtype);

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

  // Geometry.
  const Shape& shape() const;
  const Strides& strides() const;
  int64_t offset() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end; IndexError if out of range
  int64_t numel() const;
  bool is_contiguous() const;
  DType dtype() const;
  Device device() const;
  const std::shared_ptr<Storage>& storage() const;

  // Raw data at this view's offset. data<T>() checks T against the dtype.
  void* data_ptr() const;
  template <typename T> T* data() const {
    PYLLM_CHECK(dtype_of<T>::value == dtype(), TypeError,
                "expected a " << dtype_name(dtype_of<T>::value) << " tensor, got " << dtype_name(dtype()));
    return static_cast<T*>(data_ptr());
  }

  // Autograd.
  bool requires_grad() const;
  void set_requires_grad(bool value) const;  // leaves only, floating dtypes only
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;   // checks shape and dtype; undefined clears it
  const std::shared_ptr<Node>& grad_fn() const;
  uint32_t output_nr() const;
  bool is_leaf() const { return grad_fn() == nullptr; }
  // A tensor sharing this one's storage with no autograd history.
  Tensor detach() const;
  // Runs backward from this tensor; `gradient` may be undefined only for a one-element tensor.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

  // In-place writes must call this (it invalidates saved-for-backward copies of the storage).
  void bump_version() const;
  uint64_t version() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

class TensorImpl {
 public:
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;
  DType dtype = DType::Float32;

  // Autograd fields. A leaf that requires grad gets an AccumulateGrad node on first use (held weakly here
  // because the node holds the tensor).
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  uint32_t output_nr = 0;
  std::weak_ptr<Node> grad_accumulator;
};

// Shape helpers shared by ops.
int64_t numel_of(const Shape& shape);
Strides contiguous_strides(const Shape& shape);
// Wraps a possibly negative dim into [0, ndim); IndexError naming `op` if out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace pyllm
