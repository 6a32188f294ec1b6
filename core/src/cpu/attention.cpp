// Sets up the attention kernels: geometry, strides, work buffers, and the choice of instruction set
// (float32: the best the CPU has; float64: the portable kernels).
#include "cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "cpu/attention_kernels.h"
#include "cpu/cpu_features.h"
#include "pyllm/ops.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

namespace {

AttnGeometry geometry(const Tensor& q, const Tensor& k, const Tensor& v) {
  AttnGeometry g;
  g.B = q.shape()[0];
  g.Hq = q.shape()[1];
  g.Tq = q.shape()[2];
  g.D = q.shape()[3];
  g.Hkv = k.shape()[1];
  g.Tk = k.shape()[2];
  g.Dv = v.shape()[3];
  g.Dpad = attn_round_up(g.D, kAttnPad);
  g.Dvpad = attn_round_up(g.Dv, kAttnPad);
  g.Tkpad = attn_round_up(g.Tk, kAttnPad);
  return g;
}

template <typename T>
AttnInput<T> input(const Tensor& x) {
  const Strides& s = x.strides();
  return {static_cast<const T*>(x.data_ptr()), s[0], s[1], s[2], s[3]};
}

AttnMask mask_of(const Tensor& mask) {
  AttnMask m;
  if (!mask.defined()) return m;
  const Strides& s = mask.strides();
  m.data = mask.data_ptr();
  m.is_bool = mask.dtype() == DType::Bool;
  m.sb = s[0];
  m.sh = s[1];
  m.si = s[2];
  m.sj = s[3];
  return m;
}

AttnDropout dropout_of(const AttentionConfig& cfg) {
  AttnDropout d;
  if (cfg.dropout_p <= 0.0) return d;
  d.p = cfg.dropout_p;
  // A word below p * 2^32 drops its weight; at least 1 so that a tiny p still means "dropout on".
  d.threshold = static_cast<uint32_t>(std::clamp(std::ceil(cfg.dropout_p * 4294967296.0), 1.0, 4294967295.0));
  d.seed = cfg.seed;
  d.offset = cfg.offset;
  return d;
}

int64_t slots_for(int64_t items) { return std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), items)); }

// Per-worker scratch (64-byte aligned, as every tensor).
Tensor scratch_buffer(int64_t slots, int64_t slot_size, DType dtype) {
  return ops::empty({std::max<int64_t>(1, slots * slot_size)}, dtype);
}

// The fields forward and backward share: geometry, inputs, mask, scale and dropout.
template <typename T, typename Args>
void set_common(Args& a, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionConfig& cfg) {
  a.g = geometry(q, k, v);
  a.q = input<T>(q);
  a.k = input<T>(k);
  a.v = input<T>(v);
  a.mask = mask_of(cfg.mask);
  a.causal = cfg.causal;
  a.scale = static_cast<T>(cfg.scale);
  a.drop = dropout_of(cfg);
}

template <typename T>
void forward_typed(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionConfig& cfg, const Tensor& out,
                   const Tensor& lse) {
  AttnForwardArgs<T> a;
  set_common<T>(a, q, k, v, cfg);
  const AttnGeometry& g = a.g;
  a.out = static_cast<T*>(out.data_ptr());
  a.lse = static_cast<T*>(lse.data_ptr());
  a.parts = attn_parts(g.B * g.Hkv, (g.Tq + kAttnBr - 1) / kAttnBr);
  a.slots = slots_for(g.B * g.Hkv * a.parts);
  Tensor scratch = scratch_buffer(a.slots, attn_forward_slot_size(g), q.dtype());
  a.scratch = static_cast<T*>(scratch.data_ptr());
  if constexpr (std::is_same_v<T, float>) {
    switch (best_isa()) {
      case Isa::Avx512: return attention_avx512::forward(a);
      case Isa::Avx2: return attention_avx2::forward(a);
      case Isa::Generic: break;
    }
  }
  attention_generic::forward(a);
}

template <typename T>
void backward_typed(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                    const Tensor& dout, const AttentionConfig& cfg, const Tensor& dq, const Tensor& dk,
                    const Tensor& dv, const Tensor& dmask) {
  AttnBackwardArgs<T> a;
  set_common<T>(a, q, k, v, cfg);
  const AttnGeometry& g = a.g;
  a.out = input<T>(out);
  a.dout = input<T>(dout);
  a.lse = static_cast<const T*>(lse.data_ptr());
  a.dq = static_cast<T*>(dq.data_ptr());
  a.dk = static_cast<T*>(dk.data_ptr());
  a.dv = static_cast<T*>(dv.data_ptr());
  a.dmask = dmask.defined() ? static_cast<T*>(dmask.data_ptr()) : nullptr;
  a.parts = attn_parts(g.B * g.Hkv, (g.Tk + kAttnBc - 1) / kAttnBc);
  a.slots = slots_for(g.B * g.Hkv * a.parts);
  Tensor scratch = scratch_buffer(a.slots, attn_backward_slot_size(g), q.dtype());
  a.scratch = static_cast<T*>(scratch.data_ptr());
  Tensor dq_parts = a.parts > 1 ? ops::empty({a.parts * g.B * g.Hq * g.Tq * g.Dpad}, q.dtype()) : Tensor();
  a.dq_parts = a.parts > 1 ? static_cast<T*>(dq_parts.data_ptr()) : nullptr;
  if constexpr (std::is_same_v<T, float>) {
    switch (best_isa()) {
      case Isa::Avx512: return attention_avx512::backward(a);
      case Isa::Avx2: return attention_avx2::backward(a);
      case Isa::Generic: break;
    }
  }
  attention_generic::backward(a);
}

}  // namespace

uint64_t attention_dropout_counters(int64_t B, int64_t Hq, int64_t Tq, int64_t Tk) {
  return static_cast<uint64_t>(B * Hq * Tq * ((Tk + 3) / 4));
}

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionConfig& cfg,
                       const Tensor& out, const Tensor& lse) {
  if (q.dtype() == DType::Float32) forward_typed<float>(q, k, v, cfg, out, lse);
  else forward_typed<double>(q, k, v, cfg, out, lse);
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                        const Tensor& dout, const AttentionConfig& cfg, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv, const Tensor& dmask) {
  if (q.dtype() == DType::Float32) backward_typed<float>(q, k, v, out, lse, dout, cfg, dq, dk, dv, dmask);
  else backward_typed<double>(q, k, v, out, lse, dout, cfg, dq, dk, dv, dmask);
}

}  // namespace pyllm::cpu
