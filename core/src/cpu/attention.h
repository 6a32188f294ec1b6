// The fused attention kernels (FlashAttention-2 style, cpu/attention_impl.h) behind
// ops::scaled_dot_product_attention. Inputs are read through their strides, never copied whole.
#pragma once

#include <cstdint>

#include "pyllm/tensor.h"

namespace pyllm::cpu {

struct AttentionConfig {
  Tensor mask;             // undefined, or attn_mask expanded to (B, Hq, Tq, Tk): bool or the inputs' dtype
  bool causal = false;     // query i sees keys j <= i
  double scale = 1.0;
  double dropout_p = 0.0;  // in [0, 1); the mask is drawn from Philox counters offset, offset + 1, ...
  uint64_t seed = 0, offset = 0;
};

// Philox counters one call consumes: one per 4 attention weights of each query row.
uint64_t attention_dropout_counters(int64_t B, int64_t Hq, int64_t Tq, int64_t Tk);

// q: (B, Hq, Tq, D), k: (B, Hkv, Tk, D), v: (B, Hkv, Tk, Dv), float32 or float64, any strides.
// out: (B, Hq, Tq, Dv) and lse: (B, Hq, Tq), contiguous, written.
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionConfig& cfg,
                       const Tensor& out, const Tensor& lse);

// out, lse: the forward's; dout like out (any strides). dq, dk, dv: contiguous, shaped like q, k, v,
// written. dmask: undefined or (B, Hq, Tq, Tk) contiguous, written with the gradient of the scores.
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                        const Tensor& dout, const AttentionConfig& cfg, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv, const Tensor& dmask);

}  // namespace pyllm::cpu
