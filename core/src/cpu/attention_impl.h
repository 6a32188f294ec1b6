// Fused attention (FlashAttention-2 on the CPU), written once over a vector-traits type `Vt` and
// instantiated by attention_generic.cpp, attention_avx2.cpp and attention_avx512.cpp. Everything here
// sits in an anonymous namespace so each of those files keeps its own copy, compiled for its ISA.
//
// Vt provides: T (element), V (vector of W elements), R (rows per register tile), NV (vectors per
// register tile row), zero(), load(p), store(p, v), bcast(s), fma(a, b, c) = a * b + c, max, add,
// reduce_max, reduce_add (over the lanes), and transpose (a W x W block).
//
// Forward, per block of kAttnBr queries: S = scale q K^T one key block at a time, online softmax (running
// row max m and sum l), O += P V; writes O / l and lse = m + log l. The (Tq, Tk) score matrix exists
// only as a kAttnBr x kAttnBc tile.
// Backward, per (batch, kv head), so that dK and dV of a grouped-query group have one writer and dQ of
// its query heads too: for each query head of the group, each key block, each query block, recompute
// P = exp(S - lse), then dV += P^T dO, dP = dO V^T, dS = P (dP - delta) with delta = rowsum(dO O),
// dQ += scale dS K, dK += scale dS^T q (with dropout, P is dropped and rescaled where dV and dP use it).
// Operands are read in place wherever their rows are unit-stride and a whole number of vectors long
// (the usual D = 64); only K^T and V^T are always packed, since the tile products need keys contiguous.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>

#include "cpu/attention_kernels.h"
#include "cpu/vec_math.h"
#include "pyllm/generator.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {
namespace {

// ---- register-tiled products ----

// c (R x NV*W) = alpha * A (R x K) B (K x NV*W) [+ c], with A(r, k) = a[r * a_rs + k * a_ks] (so A may
// be read transposed or strided) and row k of B at b + k * ldb. The accumulators stay in registers for
// the whole K loop.
template <class Vt, int R, int NV>
inline void micro_tile(const typename Vt::T* a, int64_t a_rs, int64_t a_ks, const typename Vt::T* b, int64_t ldb,
                       int64_t K, typename Vt::T alpha, typename Vt::T* c, int64_t ldc, bool accumulate) {
  using V = typename Vt::V;
  constexpr int W = Vt::W;
  V acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = Vt::zero();
  for (int64_t k = 0; k < K; ++k) {
    const typename Vt::T* bk = b + k * ldb;
    const typename Vt::T* ak = a + k * a_ks;
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = Vt::load(bk + v * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      V av = Vt::bcast(ak[r * a_rs]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = Vt::fma(av, bv[v], acc[r][v]);
    }
  }
  const V al = Vt::bcast(alpha);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      typename Vt::T* cp = c + r * ldc + v * W;
      Vt::store(cp, Vt::fma(acc[r][v], al, accumulate ? Vt::load(cp) : Vt::zero()));
    }
}

// The last vectors of a row block: nv (< Vt::NV) chosen at run time.
template <class Vt, int R, int NV>
inline void micro_tail(int64_t nv, const typename Vt::T* a, int64_t a_rs, int64_t a_ks, const typename Vt::T* b,
                       int64_t ldb, int64_t K, typename Vt::T alpha, typename Vt::T* c, int64_t ldc, bool accumulate) {
  if constexpr (NV > 0) {
    if (nv == NV) micro_tile<Vt, R, NV>(a, a_rs, a_ks, b, ldb, K, alpha, c, ldc, accumulate);
    else micro_tail<Vt, R, NV - 1>(nv, a, a_rs, a_ks, b, ldb, K, alpha, c, ldc, accumulate);
  }
}

// c (rows x N) = alpha * A (rows x K) B (K x N) [+ c] for rows <= Vt::R and N a multiple of Vt::W.
template <class Vt, int R = Vt::R>
inline void tile(int64_t rows, const typename Vt::T* a, int64_t a_rs, int64_t a_ks, const typename Vt::T* b,
                 int64_t ldb, int64_t K, typename Vt::T alpha, typename Vt::T* c, int64_t ldc, int64_t N,
                 bool accumulate) {
  if constexpr (R > 0) {
    if (rows != R) return tile<Vt, R - 1>(rows, a, a_rs, a_ks, b, ldb, K, alpha, c, ldc, N, accumulate);
    constexpr int64_t chunk = Vt::NV * Vt::W;
    int64_t n0 = 0;
    for (; n0 + chunk <= N; n0 += chunk)
      micro_tile<Vt, R, Vt::NV>(a, a_rs, a_ks, b + n0, ldb, K, alpha, c + n0, ldc, accumulate);
    if (n0 < N)
      micro_tail<Vt, R, Vt::NV - 1>((N - n0) / Vt::W, a, a_rs, a_ks, b + n0, ldb, K, alpha, c + n0, ldc, accumulate);
  }
}

// ---- row operations on score tiles (lengths are multiples of kAttnPad, so of W) ----

template <typename T>
constexpr T kNegInf = -std::numeric_limits<T>::infinity();

template <class Vt>
inline typename Vt::T row_max(const typename Vt::T* x, int64_t n) {
  typename Vt::V m = Vt::load(x);
  for (int64_t j = Vt::W; j < n; j += Vt::W) m = Vt::max(m, Vt::load(x + j));
  return Vt::reduce_max(m);
}

// x = exp(x - shift) in place (exp_fast, vectorized by GCC); returns the sum.
template <class Vt>
inline typename Vt::T exp_sum(typename Vt::T* x, int64_t n, typename Vt::T shift) {
  for (int64_t j = 0; j < n; ++j) x[j] = exp_fast(x[j] - shift);
  typename Vt::V s = Vt::load(x);
  for (int64_t j = Vt::W; j < n; j += Vt::W) s = Vt::add(s, Vt::load(x + j));
  return Vt::reduce_add(s);
}

// Scores s[0, n) of query row (b, h, i) at keys j0 + j: adds a float mask, or sets -inf where a bool
// mask is false.
template <typename T>
inline void apply_mask(T* s, int64_t n, const AttnMask& m, int64_t b, int64_t h, int64_t i, int64_t j0) {
  const int64_t base = b * m.sb + h * m.sh + i * m.si + j0 * m.sj;
  if (m.is_bool) {
    const uint8_t* mp = static_cast<const uint8_t*>(m.data) + base;
    for (int64_t j = 0; j < n; ++j) s[j] = mp[j * m.sj] ? s[j] : kNegInf<T>;
  } else {
    const T* mp = static_cast<const T*>(m.data) + base;
    if (m.sj == 1) {
      for (int64_t j = 0; j < n; ++j) s[j] += mp[j];
    } else {
      for (int64_t j = 0; j < n; ++j) s[j] += mp[j * m.sj];
    }
  }
}

// pd[j] = p[j] * keep_scale where weight (row, j0 + j) is kept, else 0, for j < n (pd may be p).
// `row_counter` is the Philox counter of the row's first key; j0 is a multiple of 4.
template <typename T>
inline void dropout_row(const T* p, T* pd, int64_t n, const AttnDropout& d, uint64_t row_counter, int64_t j0,
                        T keep_scale) {
  for (int64_t j = 0; j < n; j += 4) {
    std::array<uint32_t, 4> w = philox4x32(d.seed, row_counter + static_cast<uint64_t>((j0 + j) / 4));
    for (int64_t l = 0; l < 4 && j + l < n; ++l) pd[j + l] = w[l] >= d.threshold ? p[j + l] * keep_scale : T(0);
  }
}

inline uint64_t dropout_row_counter(const AttnDropout& d, const AttnGeometry& g, int64_t bh, int64_t i) {
  return d.offset + static_cast<uint64_t>((bh * g.Tq + i) * ((g.Tk + 3) / 4));
}

// Runs f(slot, item) for every item in [0, n_items), handing items out dynamically (so a thread slowed
// by other work on the machine takes fewer) to `slots` workers, each owning one scratch slot.
template <typename F>
void run_items(int64_t n_items, int64_t slots, const F& f) {
  std::atomic<int64_t> next{0};
  parallel_for(0, slots, 1, [&](int64_t sb, int64_t se) {
    for (int64_t slot = sb; slot < se; ++slot)
      for (int64_t it = next.fetch_add(1); it < n_items; it = next.fetch_add(1)) f(slot, it);
  });
}

// ---- operands: an input read in place, or its packed copy ----

// A row-major matrix: row r at p + r * ld, a whole number of vectors wide.
template <typename T>
struct Rows {
  T* p;
  int64_t ld;
};

// Whether rows of `width` elements with element stride `sx` can be a B operand as they are.
inline bool usable_in_place(int64_t width, int64_t sx) { return sx == 1 && width % kAttnPad == 0; }

// Rows [0, rows) of a (T, X) head view as a B operand: in place when possible, else copied into `buf`
// (rows, xpad) with zero padding.
template <typename T>
Rows<const T> rows_operand(const T* src, int64_t st, int64_t sx, int64_t rows, int64_t X, int64_t xpad, T* buf) {
  if (usable_in_place(X, sx)) return {src, st};
  for (int64_t r = 0; r < rows; ++r) {
    T* d = buf + r * xpad;
    for (int64_t x = 0; x < X; ++x) d[x] = src[r * st + x * sx];
    std::fill(d + X, d + xpad, T(0));
  }
  return {buf, xpad};
}

// dst (cols, ld) = src^T over the first rows_pad (a multiple of kAttnPad) columns: src rows (rows_valid
// of `cols` elements) zero-padded to rows_pad. Whole W x W blocks of a row-contiguous src go through the
// vector transpose.
template <class Vt>
void pack_transposed(typename Vt::T* dst, int64_t ld, int64_t rows_pad, const typename Vt::T* src, int64_t s_row,
                     int64_t s_col, int64_t rows_valid, int64_t cols) {
  using T = typename Vt::T;
  constexpr int64_t W = Vt::W;
  for (int64_t r0 = 0; r0 < rows_pad; r0 += W) {
    const int64_t rn = std::max<int64_t>(0, std::min(W, rows_valid - r0));
    int64_t c0 = 0;
    if (rn == W && s_col == 1)
      for (; c0 + W <= cols; c0 += W) Vt::transpose(src + r0 * s_row + c0, s_row, dst + c0 * ld + r0, ld);
    for (int64_t c = c0; c < cols; ++c) {
      T* d = dst + c * ld + r0;
      for (int64_t r = 0; r < rn; ++r) d[r] = src[(r0 + r) * s_row + c * s_col];
      for (int64_t r = rn; r < W; ++r) d[r] = T(0);
    }
  }
}

template <typename T>
const T* head_ptr(const AttnInput<T>& x, int64_t b, int64_t h) {
  return x.data + b * x.sb + h * x.sh;
}

// ---- forward ----

// One block of queries of head bh, with kt = K^T (D, Tkpad) and v the V rows of its kv head.
template <class Vt>
void forward_block(const AttnForwardArgs<typename Vt::T>& a, const typename Vt::T* kt, Rows<const typename Vt::T> v,
                   typename Vt::T* scratch, int64_t bh, int64_t qb) {
  using T = typename Vt::T;
  constexpr int64_t R = Vt::R;
  const AttnGeometry& g = a.g;
  const int64_t b = bh / g.Hq, h = bh % g.Hq;
  const int64_t i0 = qb * kAttnBr, rn = std::min(kAttnBr, g.Tq - i0);
  T* oacc = scratch;                    // (Br, Dvpad): unnormalized output
  T* s = oacc + kAttnBr * g.Dvpad;      // (Br, Bc): scores, then weights
  T* m = s + kAttnBr * kAttnBc;         // (Br): running max
  T* l = m + kAttnBr;                   // (Br): running sum
  const T* q = head_ptr(a.q, b, h) + i0 * a.q.st;
  std::fill(oacc, oacc + rn * g.Dvpad, T(0));
  std::fill(m, m + rn, kNegInf<T>);
  std::fill(l, l + rn, T(0));
  const int64_t kv_end = a.causal ? std::min(g.Tk, i0 + rn) : g.Tk;
  for (int64_t j0 = 0; j0 < kv_end; j0 += kAttnBc) {
    const int64_t jn = std::min(kAttnBc, kv_end - j0);
    for (int64_t g0 = 0; g0 < rn; g0 += R) {
      const int64_t gr = std::min(R, rn - g0);
      // Causal: the group's last row sees the most keys; the group skips this block if it sees none.
      const int64_t limit_g = a.causal ? std::min(jn, i0 + g0 + gr - j0) : jn;
      if (limit_g <= 0) continue;
      const int64_t wg = attn_round_up(limit_g, kAttnPad);
      T* sg = s + g0 * kAttnBc;
      tile<Vt>(gr, q + g0 * a.q.st, a.q.st, a.q.sx, kt + j0, g.Tkpad, g.D, a.scale, sg, kAttnBc, wg, false);
      for (int64_t r = g0; r < g0 + gr; ++r) {
        const int64_t i = i0 + r;
        T* sr = s + r * kAttnBc;
        const int64_t limit = std::max<int64_t>(0, a.causal ? std::min(jn, i + 1 - j0) : jn);
        if (a.mask.data) apply_mask(sr, limit, a.mask, b, h, i, j0);
        std::fill(sr + limit, sr + wg, kNegInf<T>);
        const T m_new = std::max(m[r], row_max<Vt>(sr, wg));
        // A row that has seen no key yet keeps m = -inf; shift by 0 then so that exp gives 0, not NaN.
        const T shift = m_new == kNegInf<T> ? T(0) : m_new;
        const T alpha = exp_fast(m[r] - shift);
        l[r] = l[r] * alpha + exp_sum<Vt>(sr, wg, shift);
        m[r] = m_new;
        if (alpha != T(1)) {
          T* o = oacc + r * g.Dvpad;
          for (int64_t x = 0; x < g.Dvpad; ++x) o[x] *= alpha;
        }
        if (a.drop.threshold) dropout_row(sr, sr, limit, a.drop, dropout_row_counter(a.drop, g, bh, i), j0, T(1));
      }
      // Weights past limit_g are 0: the product stops there, so V is never read past Tk.
      tile<Vt>(gr, sg, kAttnBc, 1, v.p + j0 * v.ld, v.ld, limit_g, T(1), oacc + g0 * g.Dvpad, g.Dvpad, g.Dvpad, true);
    }
  }
  const T keep_scale = a.drop.threshold ? T(1.0 / (1.0 - a.drop.p)) : T(1);
  for (int64_t r = 0; r < rn; ++r) {
    const int64_t i = i0 + r;
    // A row with no visible key (fully masked) gives 0 and lse = +inf, which makes backward's P = 0.
    const bool empty = l[r] == T(0);
    const T inv = empty ? T(0) : keep_scale / l[r];
    T* o = a.out + (bh * g.Tq + i) * g.Dv;
    const T* src = oacc + r * g.Dvpad;
    for (int64_t x = 0; x < g.Dv; ++x) o[x] = src[x] * inv;
    a.lse[bh * g.Tq + i] = empty ? std::numeric_limits<T>::infinity() : m[r] + std::log(l[r]);
  }
}

// Work items are (kv head, part): each packs its kv head's K^T (and V if needed) into its own scratch,
// then runs query blocks part, part + parts, ... of every query head in the group. parts > 1 only when
// there are few kv heads (strided, so that causal parts cost about the same).
template <class Vt>
void forward_impl(const AttnForwardArgs<typename Vt::T>& a) {
  using T = typename Vt::T;
  const AttnGeometry& g = a.g;
  const int64_t kv_heads = g.B * g.Hkv, group = g.Hq / g.Hkv;
  const int64_t nqb = (g.Tq + kAttnBr - 1) / kAttnBr, parts = a.parts;
  const int64_t slot_size = attn_forward_slot_size(g);
  run_items(kv_heads * parts, a.slots, [&](int64_t slot, int64_t item) {
    const int64_t kvh = item / parts, part = item % parts;
    const int64_t b = kvh / g.Hkv, hk = kvh % g.Hkv;
    T* kt = a.scratch + slot * slot_size;
    T* vbuf = kt + g.D * g.Tkpad;
    T* block = vbuf + g.Tkpad * g.Dvpad;
    // Causal: the part's last query block bounds the keys it can see.
    const int64_t last_qb = part + (nqb - 1 - part) / parts * parts;
    const int64_t keys = a.causal ? std::min(g.Tk, (last_qb + 1) * kAttnBr) : g.Tk;
    pack_transposed<Vt>(kt, g.Tkpad, attn_round_up(keys, kAttnPad), head_ptr(a.k, b, hk), a.k.st, a.k.sx, keys, g.D);
    Rows<const T> v = rows_operand(head_ptr(a.v, b, hk), a.v.st, a.v.sx, keys, g.Dv, g.Dvpad, vbuf);
    for (int64_t qb = part; qb < nqb; qb += parts)
      for (int64_t hh = 0; hh < group; ++hh) forward_block<Vt>(a, kt, v, block, b * g.Hq + hk * group + hh, qb);
  });
}

// ---- backward ----

// Key blocks part, part + parts, ... of kv head (b, hk): packs K^T and V^T, then for each query head of
// the group sweeps those key blocks (outer) and query blocks (inner). dK and dV (and dQ when parts = 1)
// accumulate in the outputs themselves when their rows are a whole number of vectors, else in padded
// scratch copied out at the end; with parts > 1, dQ goes to this part's slice of dq_parts.
template <class Vt>
void backward_kv_head(const AttnBackwardArgs<typename Vt::T>& a, typename Vt::T* scratch, int64_t b, int64_t hk,
                      int64_t part) {
  using T = typename Vt::T;
  constexpr int64_t R = Vt::R;
  const AttnGeometry& g = a.g;
  const int64_t group = g.Hq / g.Hkv, kvh = b * g.Hkv + hk;
  const bool dropout = a.drop.threshold != 0;
  T* kt = scratch;                                // (D, Tkpad): K^T
  T* vt = kt + g.D * g.Tkpad;                     // (Dv, Tkpad): V^T
  T* kbuf = vt + g.Dv * g.Tkpad;                  // (Tkpad, Dpad): K, if not usable in place
  T* dk_buf = kbuf + g.Tkpad * g.Dpad;            // (Tkpad, Dpad)
  T* dv_buf = dk_buf + g.Tkpad * g.Dpad;          // (Tkpad, Dvpad)
  T* qbuf = dv_buf + g.Tkpad * g.Dvpad;           // (Tq, Dpad): q, if not usable in place
  T* dobuf = qbuf + g.Tq * g.Dpad;                // (Tq, Dvpad): dO, if not usable in place
  T* dq_buf = dobuf + g.Tq * g.Dvpad;             // (Tq, Dpad)
  T* delta = dq_buf + g.Tq * g.Dpad;              // (Tq): rowsum(dO * O)
  T* p = delta + attn_round_up(g.Tq, kAttnPad);   // (Br, Bc): softmax weights P
  T* pd = dropout ? p + kAttnBr * kAttnBc : p;    // (Br, Bc): P with dropout applied (P itself without)
  T* ds = p + 2 * kAttnBr * kAttnBc;              // (Br, Bc): dP, then dS

  const T* k = head_ptr(a.k, b, hk);
  pack_transposed<Vt>(kt, g.Tkpad, g.Tkpad, k, a.k.st, a.k.sx, g.Tk, g.D);
  pack_transposed<Vt>(vt, g.Tkpad, g.Tkpad, head_ptr(a.v, b, hk), a.v.st, a.v.sx, g.Tk, g.Dv);
  const Rows<const T> kr = rows_operand(k, a.k.st, a.k.sx, g.Tk, g.D, g.Dpad, kbuf);
  // Accumulators: the (contiguous) outputs themselves when rows are whole vectors.
  const bool d_direct = g.D % kAttnPad == 0, dv_direct = g.Dv % kAttnPad == 0;
  const Rows<T> dk = d_direct ? Rows<T>{a.dk + kvh * g.Tk * g.D, g.D} : Rows<T>{dk_buf, g.Dpad};
  const Rows<T> dv = dv_direct ? Rows<T>{a.dv + kvh * g.Tk * g.Dv, g.Dv} : Rows<T>{dv_buf, g.Dvpad};
  const int64_t nkb = (g.Tk + kAttnBc - 1) / kAttnBc;
  // Calls f(j0, jn) for each key block of this part.
  auto for_blocks = [&](auto&& f) {
    for (int64_t kb = part; kb < nkb; kb += a.parts) f(kb * kAttnBc, std::min(kAttnBc, g.Tk - kb * kAttnBc));
  };
  for_blocks([&](int64_t j0, int64_t jn) {
    for (int64_t j = j0; j < j0 + jn; ++j) {
      std::fill(dk.p + j * dk.ld, dk.p + j * dk.ld + g.Dpad, T(0));
      std::fill(dv.p + j * dv.ld, dv.p + j * dv.ld + g.Dvpad, T(0));
    }
  });
  const T keep_scale = dropout ? T(1.0 / (1.0 - a.drop.p)) : T(1);

  for (int64_t hh = 0; hh < group; ++hh) {
    const int64_t h = hk * group + hh, bh = b * g.Hq + h;
    const T* q = head_ptr(a.q, b, h);
    const T* dout = head_ptr(a.dout, b, h);
    const Rows<const T> qr = rows_operand(q, a.q.st, a.q.sx, g.Tq, g.D, g.Dpad, qbuf);
    const Rows<const T> dor = rows_operand(dout, a.dout.st, a.dout.sx, g.Tq, g.Dv, g.Dvpad, dobuf);
    const Rows<T> dq = a.parts > 1 ? Rows<T>{a.dq_parts + (part * g.B * g.Hq + bh) * g.Tq * g.Dpad, g.Dpad}
                       : d_direct  ? Rows<T>{a.dq + bh * g.Tq * g.D, g.D}
                                   : Rows<T>{dq_buf, g.Dpad};
    const T* o = head_ptr(a.out, b, h);
    for (int64_t i = 0; i < g.Tq; ++i) {
      std::fill(dq.p + i * dq.ld, dq.p + i * dq.ld + g.Dpad, T(0));
      T acc = 0;
      for (int64_t x = 0; x < g.Dv; ++x) acc += dout[i * a.dout.st + x * a.dout.sx] * o[i * a.out.st + x * a.out.sx];
      delta[i] = acc;
    }
    const T* lse = a.lse + bh * g.Tq;
    for_blocks([&](int64_t j0, int64_t jn) {
      const int64_t jpad = attn_round_up(jn, kAttnPad);
      // Causal: queries before j0 see no key of this block.
      for (int64_t i0 = a.causal ? j0 : 0; i0 < g.Tq; i0 += kAttnBr) {
        const int64_t rn = std::min(kAttnBr, g.Tq - i0);
        for (int64_t g0 = 0; g0 < rn; g0 += R) {
          const int64_t gr = std::min(R, rn - g0), ig = i0 + g0;
          const int64_t limit_g = a.causal ? std::min(jn, ig + gr - j0) : jn;
          const int64_t wg = attn_round_up(limit_g, kAttnPad);
          tile<Vt>(gr, q + ig * a.q.st, a.q.st, a.q.sx, kt + j0, g.Tkpad, g.D, a.scale, p + g0 * kAttnBc, kAttnBc, wg,
                   false);
          tile<Vt>(gr, dout + ig * a.dout.st, a.dout.st, a.dout.sx, vt + j0, g.Tkpad, g.Dv, T(1), ds + g0 * kAttnBc,
                   kAttnBc, wg, false);
          for (int64_t r = g0; r < g0 + gr; ++r) {
            const int64_t i = i0 + r;
            T* pr = p + r * kAttnBc;
            T* pdr = pd + r * kAttnBc;
            T* dsr = ds + r * kAttnBc;
            const int64_t limit = a.causal ? std::min(jn, i + 1 - j0) : jn;
            if (a.mask.data) apply_mask(pr, limit, a.mask, b, h, i, j0);
            std::fill(pr + limit, pr + wg, kNegInf<T>);
            exp_sum<Vt>(pr, wg, lse[i]);
            if (dropout) {
              dropout_row(pr, pdr, limit, a.drop, dropout_row_counter(a.drop, g, bh, i), j0, keep_scale);
              std::fill(pdr + limit, pdr + jpad, T(0));
            }
            // d(scores) = P * (dP * keep / (1 - p) - delta) = Pd * dP - P * delta.
            const T di = delta[i];
            for (int64_t j = 0; j < wg; ++j) dsr[j] = pdr[j] * dsr[j] - pr[j] * di;
            if (a.dmask) std::copy(dsr, dsr + jn, a.dmask + (bh * g.Tq + i) * g.Tk + j0);
            std::fill(pr + wg, pr + jpad, T(0));
            std::fill(dsr + wg, dsr + jpad, T(0));
          }
          // dQ += scale dS K (scale folded into the product; K read up to limit_g only).
          tile<Vt>(gr, ds + g0 * kAttnBc, kAttnBc, 1, kr.p + j0 * kr.ld, kr.ld, limit_g, a.scale, dq.p + ig * dq.ld,
                   dq.ld, g.Dpad, true);
        }
        for (int64_t c0 = 0; c0 < jn; c0 += R) {
          const int64_t cr = std::min(R, jn - c0);
          // Causal: query rows before key j0 + c0 have zero weight on this column group.
          const int64_t k0 = a.causal ? std::max<int64_t>(0, j0 + c0 - i0) : 0;
          if (k0 >= rn) break;
          tile<Vt>(cr, pd + k0 * kAttnBc + c0, 1, kAttnBc, dor.p + (i0 + k0) * dor.ld, dor.ld, rn - k0, T(1),
                   dv.p + (j0 + c0) * dv.ld, dv.ld, g.Dvpad, true);
          tile<Vt>(cr, ds + k0 * kAttnBc + c0, 1, kAttnBc, qr.p + (i0 + k0) * qr.ld, qr.ld, rn - k0, a.scale,
                   dk.p + (j0 + c0) * dk.ld, dk.ld, g.Dpad, true);
        }
      }
    });
    if (a.parts == 1 && !d_direct)
      for (int64_t i = 0; i < g.Tq; ++i) std::copy(dq.p + i * dq.ld, dq.p + i * dq.ld + g.D, a.dq + (bh * g.Tq + i) * g.D);
  }
  for_blocks([&](int64_t j0, int64_t jn) {
    for (int64_t j = j0; j < j0 + jn; ++j) {
      if (!d_direct) std::copy(dk.p + j * dk.ld, dk.p + j * dk.ld + g.D, a.dk + (kvh * g.Tk + j) * g.D);
      if (!dv_direct) std::copy(dv.p + j * dv.ld, dv.p + j * dv.ld + g.Dv, a.dv + (kvh * g.Tk + j) * g.Dv);
    }
  });
}

template <class Vt>
void backward_impl(const AttnBackwardArgs<typename Vt::T>& a) {
  using T = typename Vt::T;
  const AttnGeometry& g = a.g;
  const int64_t slot_size = attn_backward_slot_size(g);
  run_items(g.B * g.Hkv * a.parts, a.slots, [&](int64_t slot, int64_t item) {
    const int64_t kvh = item / a.parts;
    backward_kv_head<Vt>(a, a.scratch + slot * slot_size, kvh / g.Hkv, kvh % g.Hkv, item % a.parts);
  });
  if (a.parts == 1) return;
  // dQ = the sum of the parts' contributions, in part order (the same for any thread count).
  const int64_t rows = g.B * g.Hq * g.Tq, part_stride = rows * g.Dpad;
  parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, a.parts * g.Dpad)), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      T* out = a.dq + row * g.D;
      std::copy(a.dq_parts + row * g.Dpad, a.dq_parts + row * g.Dpad + g.D, out);
      for (int64_t p = 1; p < a.parts; ++p) {
        const T* src = a.dq_parts + p * part_stride + row * g.Dpad;
        for (int64_t d = 0; d < g.D; ++d) out[d] += src[d];
      }
    }
  });
}

}  // namespace
}  // namespace pyllm::cpu
