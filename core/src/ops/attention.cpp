// scaled_dot_product_attention: validation, the fused kernel (cpu/attention.h) and its backward node.
// Semantics follow torch.nn.functional.scaled_dot_product_attention; a query row that sees no key (all
// masked) gives 0 and passes no gradient, as PyTorch's CPU kernel does.
#include <cmath>
#include <sstream>

#include "cpu/attention.h"
#include "ops/common.h"

namespace pyllm::ops {

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

std::string shapes(const Tensor& q, const Tensor& k, const Tensor& v) {
  std::ostringstream s;
  s << "query " << shape_str(q.shape()) << ", key " << shape_str(k.shape()) << ", value " << shape_str(v.shape());
  return s.str();
}

// attn_mask (bool or the inputs' float dtype) as a view broadcast to `target`, then made 4-D.
Tensor broadcast_mask(const Tensor& mask, const Tensor& q, const Shape& target) {
  PYLLM_CHECK(mask.dtype() == DType::Bool || mask.dtype() == q.dtype(), TypeError,
              kOp << ": attn_mask must be bool or " << dtype_name(q.dtype()) << " like the query, got "
                  << dtype_name(mask.dtype()));
  const int64_t lead = static_cast<int64_t>(target.size()) - mask.dim();
  bool ok = lead >= 0;
  for (int64_t d = 0; ok && d < mask.dim(); ++d) ok = mask.shape()[d] == 1 || mask.shape()[d] == target[lead + d];
  PYLLM_CHECK(ok, ValueError,
              kOp << ": attn_mask of shape " << shape_str(mask.shape()) << " does not broadcast to the scores' shape "
                  << shape_str(target));
  Tensor m = expand(mask.detach(), target);
  return target.size() == 3 ? unsqueeze(m, 1) : m;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                    bool is_causal, std::optional<double> scale, double dropout_p, Generator* gen) {
  check_defined(q, kOp, "query");
  check_defined(k, kOp, "key");
  check_defined(v, kOp, "value");
  check_float(q, kOp, "query");
  PYLLM_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), TypeError,
              kOp << ": query, key and value must have one dtype, got " << dtype_name(q.dtype()) << ", "
                  << dtype_name(k.dtype()) << " and " << dtype_name(v.dtype()));
  check_same_device(q, k, kOp);
  check_same_device(q, v, kOp);
  const int64_t nd = q.dim();
  PYLLM_CHECK((nd == 3 || nd == 4) && k.dim() == nd && v.dim() == nd, ValueError,
              kOp << ": expected query, key and value all 3-D (B, T, D) or all 4-D (B, H, T, D), got "
                  << shapes(q, k, v));
  // 3-D inputs are one head: work on 4-D views throughout.
  const Tensor q4 = nd == 3 ? unsqueeze(q.detach(), 1) : q.detach();
  const Tensor k4 = nd == 3 ? unsqueeze(k.detach(), 1) : k.detach();
  const Tensor v4 = nd == 3 ? unsqueeze(v.detach(), 1) : v.detach();
  const int64_t B = q4.shape()[0], Hq = q4.shape()[1], Tq = q4.shape()[2], D = q4.shape()[3];
  const int64_t Hkv = k4.shape()[1], Tk = k4.shape()[2], Dv = v4.shape()[3];
  PYLLM_CHECK(k4.shape()[0] == B && v4.shape()[0] == B, ValueError, kOp << ": batch sizes differ: " << shapes(q, k, v));
  PYLLM_CHECK(k4.shape()[3] == D, ValueError,
              kOp << ": query and key feature sizes differ (" << D << " and " << k4.shape()[3] << "): " << shapes(q, k, v));
  PYLLM_CHECK(v4.shape()[2] == Tk, ValueError, kOp << ": key and value lengths differ: " << shapes(q, k, v));
  PYLLM_CHECK(v4.shape()[1] == Hkv, ValueError, kOp << ": key and value head counts differ: " << shapes(q, k, v));
  PYLLM_CHECK(Hkv > 0 && Hq % Hkv == 0, ValueError,
              kOp << ": " << Hq << " query heads are not a multiple of " << Hkv << " key/value heads: " << shapes(q, k, v));
  PYLLM_CHECK(!(is_causal && attn_mask.defined()), ValueError,
              kOp << ": pass either attn_mask or is_causal=True, not both (PyTorch refuses the combination too)");
  PYLLM_CHECK(dropout_p >= 0.0 && dropout_p < 1.0, ValueError, kOp << ": dropout_p must be in [0, 1), got " << dropout_p);
  if (q.device().type != DeviceType::CPU) unsupported_device(kOp, q.device());

  cpu::AttentionConfig cfg;
  if (attn_mask.defined()) {
    check_same_device(q, attn_mask, kOp);
    cfg.mask = broadcast_mask(attn_mask, q, nd == 3 ? Shape{B, Tq, Tk} : Shape{B, Hq, Tq, Tk});
  }
  cfg.causal = is_causal;
  cfg.scale = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(D));
  if (dropout_p > 0.0) {
    // Reserve the counters now: backward regenerates the same mask from (seed, offset).
    Generator& g = gen ? *gen : Generator::default_generator();
    cfg.dropout_p = dropout_p;
    cfg.seed = g.seed();
    cfg.offset = g.reserve(cpu::attention_dropout_counters(B, Hq, Tq, Tk));
  }
  Tensor out = empty({B, Hq, Tq, Dv}, q.dtype(), q.device());
  Tensor lse = empty({B, Hq, Tq}, q.dtype(), q.device());
  cpu::attention_forward(q4, k4, v4, cfg, out, lse);
  Tensor result = nd == 3 ? view(out, {B, Tq, Dv}) : out;

  // A float mask that requires grad gets d(loss)/d(scores), summed over its broadcast dims.
  const bool mask_grad = attn_mask.defined() && attn_mask.requires_grad();
  std::vector<Tensor> inputs{q, k, v};
  if (mask_grad) inputs.push_back(attn_mask);
  if (autograd::needs_grad(inputs)) {
    SavedTensor sq(q4), sk(k4), sv(v4), so(out), slse(lse), smask(cfg.mask);
    cpu::AttentionConfig saved_cfg = cfg;
    saved_cfg.mask = Tensor();
    autograd::record("ScaledDotProductAttentionBackward", inputs, {result},
                     [sq, sk, sv, so, slse, smask, saved_cfg, mask_grad, nd, q_shape = q.shape(), k_shape = k.shape(),
                      v_shape = v.shape(), mask_shape = mask_grad ? attn_mask.shape() : Shape{}](std::vector<Tensor>& g) {
      Tensor qv = sq.unpack(kOp), kv = sk.unpack(kOp), vv = sv.unpack(kOp), ov = so.unpack(kOp);
      cpu::AttentionConfig c = saved_cfg;
      c.mask = smask.unpack(kOp);
      Tensor dout = nd == 3 ? unsqueeze(g[0], 1) : g[0];
      Tensor dq = empty(qv.shape(), qv.dtype(), qv.device());
      Tensor dk = empty(kv.shape(), kv.dtype(), kv.device());
      Tensor dv = empty(vv.shape(), vv.dtype(), vv.device());
      const Shape& os = ov.shape();
      Tensor dmask = mask_grad ? empty({os[0], os[1], os[2], kv.shape()[2]}, qv.dtype(), qv.device()) : Tensor();
      cpu::attention_backward(qv, kv, vv, ov, slse.unpack(kOp), dout, c, dq, dk, dv, dmask);
      std::vector<Tensor> grads{view(dq, q_shape), view(dk, k_shape), view(dv, v_shape)};
      if (mask_grad) grads.push_back(sum_to(nd == 3 ? view(dmask, {os[0], os[2], kv.shape()[2]}) : dmask, mask_shape));
      return grads;
    });
  }
  return result;
}

}  // namespace pyllm::ops
