// What the attention kernels of each instruction set receive: raw pointers with strides, per-worker
// scratch allocated by cpu/attention.cpp, and the tile sizes. Shared by attention.cpp and the
// attention_{generic,avx2,avx512}.cpp files, which each instantiate cpu/attention_impl.h.
#pragma once

#include <algorithm>
#include <cstdint>

namespace pyllm::cpu {

// Queries per tile (rows) and keys per tile (columns). Kt/Vt rows and every padded row length are
// multiples of kAttnPad elements, so the tile kernels work in whole vectors of any width up to 16.
constexpr int64_t kAttnBr = 64;
constexpr int64_t kAttnBc = 64;
constexpr int64_t kAttnPad = 16;

inline int64_t attn_round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

struct AttnGeometry {
  int64_t B, Hq, Hkv, Tq, Tk, D, Dv;
  int64_t Dpad, Dvpad, Tkpad;  // D, Dv and Tk rounded up to kAttnPad
};

// A 4-D input (B, H, T, X) read through strides (in elements); any strides are allowed.
template <typename T>
struct AttnInput {
  const T* data;
  int64_t sb, sh, st, sx;
};

// attn_mask broadcast to (B, Hq, Tq, Tk): stride 0 on broadcast dims. data null: no mask. A bool mask
// is read as bytes (nonzero = attend); a float mask has the inputs' element type.
struct AttnMask {
  const void* data = nullptr;
  bool is_bool = false;
  int64_t sb = 0, sh = 0, si = 0, sj = 0;
};

// Dropout on the attention weights. Element (b, h, i, j) is kept iff word j % 4 of
// philox4x32(seed, offset + ((b * Hq + h) * Tq + i) * ceil(Tk / 4) + j / 4) is >= threshold; kept
// weights are scaled by 1 / (1 - p). threshold 0 (p = 0): no dropout.
struct AttnDropout {
  uint32_t threshold = 0;
  double p = 0.0;
  uint64_t seed = 0, offset = 0;
};

template <typename T>
struct AttnForwardArgs {
  AttnGeometry g;
  AttnInput<T> q, k, v;
  AttnMask mask;
  bool causal;
  T scale;
  AttnDropout drop;
  T* out;  // (B, Hq, Tq, Dv), contiguous
  T* lse;  // (B, Hq, Tq): max + log(sum of exp) of each score row; +inf for a row with no key
  T* scratch;  // slots * attn_forward_slot_size(g)
  int64_t slots;
  int64_t parts;  // work items per kv head, each taking every parts-th query block
};

template <typename T>
struct AttnBackwardArgs {
  AttnGeometry g;
  AttnInput<T> q, k, v, out, dout;
  AttnMask mask;
  bool causal;
  T scale;
  AttnDropout drop;
  const T* lse;  // (B, Hq, Tq) from the forward
  T* dq;         // (B, Hq, Tq, D), contiguous
  T* dk;         // (B, Hkv, Tk, D), contiguous
  T* dv;         // (B, Hkv, Tk, Dv), contiguous
  T* dmask;      // (B, Hq, Tq, Tk) contiguous or null: the gradient of the scores, for a float mask
  T* scratch;    // slots * attn_backward_slot_size(g)
  int64_t slots;
  // parts > 1 splits each kv head's key blocks into that many strided sets, one work item each; part p
  // then adds its dQ contribution into dq_parts (parts, B, Hq, Tq, Dpad), summed into dq at the end.
  int64_t parts;
  T* dq_parts;
};

// Per-worker scratch in elements (every region a multiple of kAttnPad elements, so all stay 64-byte
// aligned). Forward: kt (D, Tkpad) = K^T and vp (Tkpad, Dvpad), then one query block's oacc (Br, Dvpad),
// s (Br, Bc), m and l (Br each). Backward, for one kv head: kt (D, Tkpad), vt (Dv, Tkpad), kp (Tkpad,
// Dpad), dk_acc (Tkpad, Dpad), dv_acc (Tkpad, Dvpad); for one query head: qp (Tq, Dpad), dop (Tq, Dvpad),
// dq_acc (Tq, Dpad), delta (Tq padded); and p, pd, ds (Br, Bc). Regions an input can stand in for
// (unit stride, width a multiple of kAttnPad) are never touched.
inline int64_t attn_forward_slot_size(const AttnGeometry& g) {
  return g.Tkpad * (g.D + g.Dvpad) + kAttnBr * (g.Dvpad + kAttnBc) + 2 * kAttnBr;
}
inline int64_t attn_backward_slot_size(const AttnGeometry& g) {
  return g.Tkpad * (g.D + g.Dv + 2 * g.Dpad + g.Dvpad) + g.Tq * (2 * g.Dpad + g.Dvpad) +
         attn_round_up(g.Tq, kAttnPad) + 3 * kAttnBr * kAttnBc;
}

// Work items per kv head: enough for 8 workers when there are fewer than 8 kv heads, at most one per
// block of the split dimension. It depends on the shapes only, never on the thread count, so results
// are the same for any number of threads; 8 bounds backward's dq_parts at 8 times the size of dq.
inline int64_t attn_parts(int64_t kv_heads, int64_t blocks) {
  if (kv_heads <= 0) return 1;
  return std::max<int64_t>(1, std::min(blocks, (8 + kv_heads - 1) / kv_heads));
}

namespace attention_generic {
void forward(const AttnForwardArgs<float>& a);
void forward(const AttnForwardArgs<double>& a);
void backward(const AttnBackwardArgs<float>& a);
void backward(const AttnBackwardArgs<double>& a);
}  // namespace attention_generic

namespace attention_avx2 {
void forward(const AttnForwardArgs<float>& a);
void backward(const AttnBackwardArgs<float>& a);
}  // namespace attention_avx2

namespace attention_avx512 {
void forward(const AttnForwardArgs<float>& a);
void backward(const AttnBackwardArgs<float>& a);
}  // namespace attention_avx512

}  // namespace pyllm::cpu
