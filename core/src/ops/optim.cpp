// Optimizer ops: the fused AdamW step and the norm of many tensors taken together. Both work outside
// autograd: adamw_step writes parameters that require grad without recording anything, as torch.optim
// does under no_grad, and bumps the version of every tensor it writes so saved-for-backward copies of
// them are caught.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cpu/optim.h"
#include "ops/common.h"

namespace pyllm::ops {

namespace {

constexpr const char* kLists[4] = {"params", "grads", "exp_avgs", "exp_avg_sqs"};
constexpr int kGrads = 1;

// Entry i of list `list` against params[i]: defined, float, same dtype, shape and device, contiguous.
void check_entry(const Tensor& t, const Tensor& param, int list, size_t i) {
  PYLLM_CHECK(t.defined(), ValueError, "adamw_step: " << kLists[list] << "[" << i << "] is None");
  if (list == 0) {
    PYLLM_CHECK(is_compute_float(t.dtype()), TypeError,
                "adamw_step: params[" << i << "] is " << dtype_name(t.dtype()) << "; expected float32 or float64");
  } else {
    PYLLM_CHECK(t.dtype() == param.dtype(), TypeError,
                "adamw_step: " << kLists[list] << "[" << i << "] is " << dtype_name(t.dtype()) << " but params["
                               << i << "] is " << dtype_name(param.dtype()));
    PYLLM_CHECK(t.shape() == param.shape(), ValueError,
                "adamw_step: " << kLists[list] << "[" << i << "] has shape " << shape_str(t.shape())
                               << " but params[" << i << "] has shape " << shape_str(param.shape()));
    check_same_device(t, param, "adamw_step");
  }
  if (t.device().type != DeviceType::CPU) unsupported_device("adamw_step", t.device());
  PYLLM_CHECK(t.is_contiguous(), ValueError,
              "adamw_step: " << kLists[list] << "[" << i << "] of shape " << shape_str(t.shape())
                             << " is not contiguous; call .contiguous() first");
}

// The kernel writes params, exp_avgs and exp_avg_sqs from many threads at once: none of them may share
// memory with any other tensor of the call (grads, which are only read, may share with each other).
void check_no_overlap(const std::vector<const std::vector<Tensor>*>& lists) {
  struct Span {
    uintptr_t begin, end;
    int list;
    size_t index;
  };
  std::vector<Span> spans;
  for (int l = 0; l < 4; ++l) {
    for (size_t i = 0; i < lists[l]->size(); ++i) {
      const Tensor& t = (*lists[l])[i];
      if (t.numel() == 0) continue;
      const auto begin = reinterpret_cast<uintptr_t>(t.data_ptr());
      spans.push_back({begin, begin + static_cast<uintptr_t>(t.numel()) * itemsize(t.dtype()), l, i});
    }
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  // Sorted by start, a span overlaps an earlier one exactly when some earlier one ends past its start.
  const Span* furthest_any = nullptr;
  const Span* furthest_written = nullptr;
  for (const Span& s : spans) {
    const bool written = s.list != kGrads;
    const Span* earlier = written ? furthest_any : furthest_written;
    PYLLM_CHECK(earlier == nullptr || earlier->end <= s.begin, ValueError,
                "adamw_step: " << kLists[earlier->list] << "[" << earlier->index << "] and " << kLists[s.list] << "["
                               << s.index << "] overlap in memory; parameters and optimizer state need memory of "
                                             "their own");
    if (furthest_any == nullptr || s.end > furthest_any->end) furthest_any = &s;
    if (written && (furthest_written == nullptr || s.end > furthest_written->end)) furthest_written = &s;
  }
}

}  // namespace

void adamw_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs, double lr,
                double beta1, double beta2, double eps, double weight_decay, int64_t step) {
  const std::vector<const std::vector<Tensor>*> lists = {&params, &grads, &exp_avgs, &exp_avg_sqs};
  PYLLM_CHECK(grads.size() == params.size() && exp_avgs.size() == params.size() &&
                  exp_avg_sqs.size() == params.size(),
              ValueError,
              "adamw_step: got " << params.size() << " params, " << grads.size() << " grads, " << exp_avgs.size()
                                 << " exp_avgs and " << exp_avg_sqs.size()
                                 << " exp_avg_sqs; the lists must have equal length");
  // Negated comparisons so that NaN fails too.
  PYLLM_CHECK(!(lr < 0.0) && !std::isnan(lr), ValueError, "adamw_step: invalid learning rate " << lr);
  PYLLM_CHECK(!(eps < 0.0) && !std::isnan(eps), ValueError, "adamw_step: invalid epsilon " << eps);
  PYLLM_CHECK(beta1 >= 0.0 && beta1 < 1.0, ValueError, "adamw_step: beta1 must be in [0, 1), got " << beta1);
  PYLLM_CHECK(beta2 >= 0.0 && beta2 < 1.0, ValueError, "adamw_step: beta2 must be in [0, 1), got " << beta2);
  PYLLM_CHECK(!(weight_decay < 0.0) && !std::isnan(weight_decay), ValueError,
              "adamw_step: invalid weight_decay " << weight_decay);
  PYLLM_CHECK(step >= 1, ValueError, "adamw_step: step is the 1-based count after this update, got " << step);
  for (size_t i = 0; i < params.size(); ++i) {
    check_entry(params[i], params[i], 0, i);
    for (int l = 1; l < 4; ++l) check_entry((*lists[l])[i], params[i], l, i);
  }
  check_no_overlap(lists);

  cpu::adamw_step(params, grads, exp_avgs, exp_avg_sqs, {lr, beta1, beta2, eps, weight_decay, step});
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].bump_version();
    exp_avgs[i].bump_version();
    exp_avg_sqs[i].bump_version();
  }
}

double global_norm(const std::vector<Tensor>& tensors, double norm_type) {
  cpu::NormKind kind;
  if (norm_type == 2.0) kind = cpu::NormKind::L2;
  else if (norm_type == 1.0) kind = cpu::NormKind::L1;
  else if (std::isinf(norm_type) && norm_type > 0) kind = cpu::NormKind::Inf;
  else PYLLM_FAIL(ValueError, "global_norm: norm_type must be 1, 2 or inf, got " << norm_type);

  std::vector<Tensor> flat;
  flat.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    PYLLM_CHECK(t.defined(), ValueError, "global_norm: tensors[" << i << "] is None");
    PYLLM_CHECK(is_compute_float(t.dtype()), TypeError,
                "global_norm: tensors[" << i << "] is " << dtype_name(t.dtype()) << "; expected float32 or float64");
    if (t.device().type != DeviceType::CPU) unsupported_device("global_norm", t.device());
    flat.push_back(contiguous(t.detach()));
  }
  const double total = cpu::norm_reduce(flat, kind);
  return kind == cpu::NormKind::L2 ? std::sqrt(total) : total;
}

}  // namespace pyllm::ops
