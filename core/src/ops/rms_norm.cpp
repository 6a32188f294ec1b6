// rms_norm: y = x / sqrt(mean(x^2) + eps) * weight over the normalized dims; LayerNorm's kernel without
// centering (ops/norm.h).
#include <limits>

#include "ops/common.h"
#include "ops/norm.h"

namespace pyllm::ops {

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, std::optional<double> eps) {
  check_float(x, "rms_norm");
  // Unset eps: the machine epsilon of x's dtype, as torch.nn.functional.rms_norm.
  const double e = eps ? *eps
                       : x.dtype() == DType::Float32 ? static_cast<double>(std::numeric_limits<float>::epsilon())
                                                     : std::numeric_limits<double>::epsilon();
  return normalize("rms_norm", "RmsNormBackward", false, x, normalized_shape, weight, Tensor(), e);
}

}  // namespace pyllm::ops
