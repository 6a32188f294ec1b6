// contiguous, clone, to_dtype and the in-place writers copy_, fill_, zero_.
#include "cpu/copy.h"
#include "ops/common.h"

namespace pyllm::ops {

namespace {

// Byte range [first, last) that a view can touch.
std::pair<const char*, const char*> byte_span(const Tensor& t) {
  const char* base = static_cast<const char*>(t.data_ptr());
  int64_t lo = 0, hi = 0;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.shape()[d] == 0) return {base, base};
    int64_t reach = (t.shape()[d] - 1) * t.strides()[d];
    (reach < 0 ? lo : hi) += reach;
  }
  int64_t item = static_cast<int64_t>(itemsize(t.dtype()));
  return {base + lo * item, base + (hi + 1) * item};
}

bool may_overlap(const Tensor& a, const Tensor& b) {
  if (a.storage() != b.storage()) return false;
  auto [a0, a1] = byte_span(a);
  auto [b0, b1] = byte_span(b);
  return a0 < b1 && b0 < a1;
}

Tensor copy_of(const Tensor& x, DType dtype) {
  Tensor out = empty(x.shape(), dtype, x.device());
  if (x.device().type != DeviceType::CPU) unsupported_device("copy", x.device());
  cpu::copy(out, x);
  return out;
}

}  // namespace

Tensor contiguous(const Tensor& x) {
  check_defined(x, "contiguous");
  return x.is_contiguous() ? x : clone(x);
}

Tensor clone(const Tensor& x) {
  check_defined(x, "clone");
  Tensor out = copy_of(x, x.dtype());
  if (autograd::needs_grad({x})) {
    autograd::record("CloneBackward", {x}, {out}, [](std::vector<Tensor>& g) { return std::vector<Tensor>{g[0]}; });
  }
  return out;
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  check_defined(x, "to");
  if (x.dtype() == dtype) return x;
  Tensor out = copy_of(x, dtype);
  if (is_floating(dtype) && autograd::needs_grad({x})) {
    DType in_dtype = x.dtype();
    autograd::record("ToCopyBackward", {x}, {out}, [in_dtype](std::vector<Tensor>& g) {
      return std::vector<Tensor>{to_dtype(g[0], in_dtype)};
    });
  }
  return out;
}

void copy_(const Tensor& dst, const Tensor& src) {
  check_inplace(dst, "copy_", {src});
  check_defined(src, "copy_", "source");
  check_same_device(dst, src, "copy_");
  PYLLM_CHECK(broadcast_shapes(src.shape(), dst.shape(), "copy_") == dst.shape(), ValueError,
              "copy_: source of shape " << shape_str(src.shape()) << " cannot be broadcast to the destination's "
                                        << shape_str(dst.shape()));
  Tensor source = expand(src, dst.shape());
  if (may_overlap(dst, source)) source = clone(source);  // read everything before writing anything
  if (dst.device().type != DeviceType::CPU) unsupported_device("copy_", dst.device());
  cpu::copy(dst, source);
  dst.bump_version();
}

void fill_(const Tensor& dst, double value) {
  check_inplace(dst, "fill_");
  if (dst.device().type != DeviceType::CPU) unsupported_device("fill_", dst.device());
  cpu::fill(dst, value);
  dst.bump_version();
}

void zero_(const Tensor& dst) { fill_(dst, 0.0); }

}  // namespace pyllm::ops
