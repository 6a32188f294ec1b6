#include "pyllm/tensor.h"

#include "pyllm/autograd.h"
#include "pyllm/ops.h"

namespace pyllm {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + ")";
}

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1, as in PyTorch
  PYLLM_CHECK(dim >= -n && dim < n, IndexError,
              op << ": dim " << dim << " is out of range for a " << ndim << "-d tensor");
  return dim < 0 ? dim + n : dim;
}

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset, DType dtype)
    : impl_(std::make_shared<TensorImpl>()) {
  impl_->storage = std::move(storage);
  impl_->shape = std::move(shape);
  impl_->strides = std::move(strides);
  impl_->offset = offset;
  impl_->dtype = dtype;
}

#define PYLLM_REQUIRE_DEFINED() PYLLM_CHECK(impl_, RuntimeError, "use of an undefined tensor")

const Shape& Tensor::shape() const { PYLLM_REQUIRE_DEFINED(); return impl_->shape; }
const Strides& Tensor::strides() const { PYLLM_REQUIRE_DEFINED(); return impl_->strides; }
int64_t Tensor::offset() const { PYLLM_REQUIRE_DEFINED(); return impl_->offset; }
DType Tensor::dtype() const { PYLLM_REQUIRE_DEFINED(); return impl_->dtype; }
Device Tensor::device() const { PYLLM_REQUIRE_DEFINED(); return impl_->storage->device; }
const std::shared_ptr<Storage>& Tensor::storage() const { PYLLM_REQUIRE_DEFINED(); return impl_->storage; }
int64_t Tensor::numel() const { return numel_of(shape()); }

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  const Shape& sh = shape();
  const Strides& st = strides();
  if (numel() == 0) return true;  // no element to lay out, as in PyTorch
  int64_t expected = 1;
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;  // the stride of a size-1 dim never matters
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

void* Tensor::data_ptr() const {
  PYLLM_REQUIRE_DEFINED();
  return static_cast<char*>(impl_->storage->data) + impl_->offset * static_cast<int64_t>(itemsize(impl_->dtype));
}

bool Tensor::requires_grad() const { PYLLM_REQUIRE_DEFINED(); return impl_->requires_grad; }

void Tensor::set_requires_grad(bool value) const {
  PYLLM_REQUIRE_DEFINED();
  PYLLM_CHECK(is_leaf() || value, RuntimeError,
              "requires_grad can only be turned off on leaf tensors; use detach() on a non-leaf");
  PYLLM_CHECK(!value || is_floating(dtype()), TypeError,
              "only floating-point tensors can require gradients, not " << dtype_name(dtype()));
  impl_->requires_grad = value;
}

Tensor Tensor::grad() const { PYLLM_REQUIRE_DEFINED(); return impl_->grad; }

void Tensor::set_grad(const Tensor& grad) const {
  PYLLM_REQUIRE_DEFINED();
  if (grad.defined()) {
    PYLLM_CHECK(grad.shape() == shape(), ValueError,
                "assigned grad has shape " << shape_str(grad.shape()) << " but the tensor has shape "
                                           << shape_str(shape()));
    PYLLM_CHECK(grad.dtype() == dtype(), TypeError,
                "assigned grad has dtype " << dtype_name(grad.dtype()) << " but the tensor has dtype "
                                           << dtype_name(dtype()));
    PYLLM_CHECK(grad.device() == device(), ValueError,
                "assigned grad is on " << grad.device().str() << " but the tensor is on " << device().str());
  }
  impl_->grad = grad;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { PYLLM_REQUIRE_DEFINED(); return impl_->grad_fn; }
uint32_t Tensor::output_nr() const { PYLLM_REQUIRE_DEFINED(); return impl_->output_nr; }

Tensor Tensor::detach() const {
  PYLLM_REQUIRE_DEFINED();
  return Tensor(impl_->storage, impl_->shape, impl_->strides, impl_->offset, impl_->dtype);
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  PYLLM_REQUIRE_DEFINED();
  Tensor seed = gradient;
  if (!seed.defined()) {
    PYLLM_CHECK(numel() == 1, RuntimeError,
                "backward: grad can be implicitly created only for one-element outputs, but the output has "
                "shape " << shape_str(shape()) << "; pass a gradient");
    seed = ops::ones(shape(), dtype(), device());
  } else {
    PYLLM_CHECK(seed.shape() == shape(), ValueError,
                "backward: gradient has shape " << shape_str(seed.shape()) << " but the output has shape "
                                                << shape_str(shape()));
    PYLLM_CHECK(seed.dtype() == dtype(), TypeError,
                "backward: gradient has dtype " << dtype_name(seed.dtype()) << " but the output has dtype "
                                                << dtype_name(dtype()));
  }
  autograd::run_backward({*this}, {seed}, retain_graph);
}

void Tensor::bump_version() const { PYLLM_REQUIRE_DEFINED(); ++impl_->storage->version; }
uint64_t Tensor::version() const { PYLLM_REQUIRE_DEFINED(); return impl_->storage->version; }

}  // namespace pyllm
