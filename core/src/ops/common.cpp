#include "ops/common.h"

namespace pyllm::ops {

void check_defined(const Tensor& x, const char* op, const char* arg) {
  PYLLM_CHECK(x.defined(), ValueError, op << ": " << arg << " is None");
}

void check_float(const Tensor& x, const char* op, const char* arg) {
  check_defined(x, op, arg);
  PYLLM_CHECK(is_compute_float(x.dtype()), TypeError,
              op << ": expected " << arg << " to be float32 or float64, got " << dtype_name(x.dtype())
                 << (is_floating(x.dtype()) ? " (a storage type: convert with .float())" : ""));
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  PYLLM_CHECK(a.dtype() == b.dtype(), TypeError,
              op << ": dtypes " << dtype_name(a.dtype()) << " and " << dtype_name(b.dtype())
                 << " differ; convert one with .to()");
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  PYLLM_CHECK(a.device() == b.device(), ValueError,
              op << ": tensors are on different devices, " << a.device().str() << " and " << b.device().str());
}

void unsupported_device(const char* op, Device device) {
  PYLLM_FAIL(RuntimeError, op << ": no kernel for device " << device.str() << " in this build");
}

void check_inplace(const Tensor& dst, const char* op, std::initializer_list<Tensor> sources) {
  check_defined(dst, op, "destination");
  PYLLM_CHECK(!autograd::grad_enabled() || !dst.requires_grad(), RuntimeError,
              op << ": in-place write to a tensor that requires grad; wrap it in pyllm.no_grad() or use "
                    "the out-of-place op");
  for (const Tensor& src : sources) {
    PYLLM_CHECK(!autograd::grad_enabled() || !src.defined() || !src.requires_grad(), RuntimeError,
                op << ": the source requires grad but in-place ops are not recorded by autograd; wrap it in "
                      "pyllm.no_grad() or use an out-of-place op");
  }
  for (int64_t d = 0; d < dst.dim(); ++d) {
    PYLLM_CHECK(dst.strides()[d] != 0 || dst.shape()[d] <= 1, RuntimeError,
                op << ": the destination " << shape_str(dst.shape())
                   << " is an expanded view whose elements share memory; clone() it first");
  }
}

}  // namespace pyllm::ops
