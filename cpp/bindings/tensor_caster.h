// Python sees one object per tensor: the bound class is TensorImpl held by std::shared_ptr, and this
// caster converts between it and the core's handle type `pyllm::Tensor` (None <-> undefined tensor).
// Because pybind11 keeps one Python object per live C++ pointer, `t.grad is t.grad` holds, as in PyTorch.
#pragma once

#include <pybind11/pybind11.h>

#include "pyllm/tensor.h"

namespace pybind11::detail {

template <>
struct type_caster<pyllm::Tensor> {
 public:
  PYBIND11_TYPE_CASTER(pyllm::Tensor, const_name("pyllm.Tensor"));

  bool load(handle src, bool convert) {
    if (src.is_none()) {
      value = pyllm::Tensor();
      return true;
    }
    make_caster<std::shared_ptr<pyllm::TensorImpl>> holder;
    if (!holder.load(src, convert)) return false;
    value = pyllm::Tensor(cast_op<std::shared_ptr<pyllm::TensorImpl>>(holder));
    return true;
  }

  static handle cast(const pyllm::Tensor& t, return_value_policy policy, handle parent) {
    if (!t.defined()) return none().release();
    return make_caster<std::shared_ptr<pyllm::TensorImpl>>::cast(t.impl_ptr(), policy, parent);
  }
};

}  // namespace pybind11::detail
