// The blocked GEMM driver (GotoBLAS/BLIS structure) around the micro-kernels of kernel.h:
//
//   for jc in N by NC:
//     for pc in K by KC:
//       pack alpha * B[pc:pc+kc, jc:jc+nc]   B block (KC, NC), read from L3
//       for ic in M by MC:
//         pack A[ic:ic+mc, pc:pc+kc]         A block (MC, KC), kept in L2
//         for jr in nc by NR:                B micro-panel (KC, NR), from L1/L2
//           for ir in mc by MR:              micro-kernel: an (MR, NR) tile of C in registers
//
// Packing reads any strides, so transposed and strided operands cost no copy beyond the packing every
// GEMM does anyway (the kernels pack the common layouts with SIMD transposes). The first K block applies
// beta, later ones accumulate. Blocks are split evenly (K = 768 runs as 2 x 384, not 512 + 256). Threads each take a
// rectangle of C (split along M or N in whole micro-tiles) and run the serial algorithm on it with their
// own packing buffers: no barriers, and packing the shared operand twice costs under 1% at the sizes
// where threading pays. Products with one row or one column go to a matrix-vector loop instead, which
// is memory bound and would waste most of a register tile.
#include "cpu/gemm/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <utility>

#include "cpu/cpu_features.h"
#include "cpu/gemm/kernel.h"
#include "pyllm/parallel.h"

namespace pyllm::cpu {

namespace {

using gemm_kernels::Kernel;

template <typename T>
struct Matrix {
  const T* p;
  int64_t rs, cs;
  const T* at(int64_t i, int64_t j) const { return p + i * rs + j * cs; }
};

template <typename T>
struct Product {
  int64_t M, N, K;
  T alpha;
  Matrix<T> A, B;
  T beta;
  T* C;
  int64_t rsc, csc;
};

const Kernel<float>& kernel_for(float*) {
  static const Kernel<float> k = best_isa() == Isa::Avx512 ? gemm_kernels::avx512_f32()
                                 : best_isa() == Isa::Avx2 ? gemm_kernels::avx2_f32()
                                                           : gemm_kernels::generic_f32();
  return k;
}
const Kernel<double>& kernel_for(double*) {
  static const Kernel<double> k = gemm_kernels::generic_f64();
  return k;
}
template <typename T>
const Kernel<T>& kernel() {
  return kernel_for(static_cast<T*>(nullptr));
}

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// Splits n into equal blocks of at most max_block (a multiple of unit), rounded up to unit: K = 768
// with KC = 512 becomes two passes of 384, not 512 + 256. Never more than min(max_block, round_up(n)),
// which is what the buffers are sized for.
int64_t even_block(int64_t n, int64_t max_block, int64_t unit) {
  const int64_t blocks = (n + max_block - 1) / max_block;
  return round_up((n + blocks - 1) / blocks, unit);
}

// Packing-buffer sizes (elements) for one thread working on an (M, N, K) product; multiples of 16 so
// that consecutive buffers stay 64-byte aligned.
template <typename T>
int64_t a_buffer_size(const Kernel<T>& ker, int64_t M, int64_t K) {
  return round_up(round_up(std::min(ker.mc, M), ker.mr) * std::min(ker.kc, K) + gemm_kernels::kPackSlack, 16);
}
template <typename T>
int64_t b_buffer_size(const Kernel<T>& ker, int64_t N, int64_t K) {
  return round_up(std::min(ker.kc, K) * round_up(std::min(ker.nc, N), ker.nr), 16);
}

// The calling thread's packing memory, grown when a call needs more and reused after. Allocated before
// any parallel region (the workers get slices of it), so a failure raises MemoryError in the caller.
class Scratch {
 public:
  ~Scratch() { std::free(data_); }
  void* get(size_t bytes) {
    if (bytes > size_) {
      std::free(data_);
      size_ = 0;
      data_ = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (data_ == nullptr) throw std::bad_alloc();
      size_ = bytes;
    }
    return data_;
  }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

template <typename T>
T* scratch(int64_t elements) {
  thread_local Scratch s;
  return static_cast<T*>(s.get(static_cast<size_t>(std::max<int64_t>(elements, 1)) * sizeof(T)));
}

// C = beta * C, for products with nothing to add (K == 0 or alpha == 0).
template <typename T>
void scale_c(const Product<T>& p) {
  for (int64_t i = 0; i < p.M; ++i)
    for (int64_t j = 0; j < p.N; ++j) {
      T& c = p.C[i * p.rsc + j * p.csc];
      c = p.beta == T(0) ? T(0) : p.beta * c;
    }
}

// Sum over k of x[k] * y[k] for contiguous x and y: independent lanes so that the compiler vectorizes.
template <typename T>
T dot_contiguous(const T* x, const T* y, int64_t n) {
  constexpr int kLanes = 16;
  T lanes[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += x[k + l] * y[k + l];
  T sum = 0;
  for (int l = 0; l < kLanes; ++l) sum += lanes[l];
  for (; k < n; ++k) sum += x[k] * y[k];
  return sum;
}

// Columns of a matrix-vector product accumulated at a time: their sums stay in L1.
constexpr int64_t kGemvChunk = 2048;

// One row of output (M == 1): c = alpha * a @ B + beta * c, with `acc` scratch of at least `chunk`.
template <typename T>
void gemv_row(const Product<T>& p, T* acc, int64_t chunk) {
  const Matrix<T>& a = p.A;
  const Matrix<T>& B = p.B;
  auto finish = [&](int64_t j, T sum) {
    T& c = p.C[j * p.csc];
    c = p.beta == T(0) ? p.alpha * sum : p.alpha * sum + p.beta * c;
  };
  if (B.cs == 1) {  // rows of B are contiguous: accumulate a[k] * B[k, :] over k, a chunk of columns at a time
    for (int64_t j0 = 0; j0 < p.N; j0 += chunk) {
      const int64_t n = std::min(chunk, p.N - j0);
      std::fill(acc, acc + n, T(0));
      for (int64_t k = 0; k < p.K; ++k) {
        const T ak = *a.at(0, k);
        const T* row = B.at(k, j0);
        for (int64_t j = 0; j < n; ++j) acc[j] += ak * row[j];
      }
      for (int64_t j = 0; j < n; ++j) finish(j0 + j, acc[j]);
    }
    return;
  }
  for (int64_t j = 0; j < p.N; ++j) {  // columns of B: one dot product each
    T sum = 0;
    if (a.cs == 1 && B.rs == 1) {
      sum = dot_contiguous(a.p, B.at(0, j), p.K);
    } else {
      for (int64_t k = 0; k < p.K; ++k) sum += *a.at(0, k) * *B.at(k, j);
    }
    finish(j, sum);
  }
}

// The whole blocked algorithm on one thread. abuf/bbuf: a_buffer_size / b_buffer_size elements.
template <typename T>
void serial_product(const Kernel<T>& ker, const Product<T>& p, T* abuf, T* bbuf) {
  if (p.M == 0 || p.N == 0) return;
  if (p.K == 0 || p.alpha == T(0)) return scale_c(p);
  const int64_t bcap = b_buffer_size(ker, p.N, p.K);  // at least min(NC, N)
  if (p.N == 1 && p.M > 1) {  // one column: the transposed product has one row
    Product<T> t{1, p.M, p.K, p.alpha, {p.B.p, p.B.cs, p.B.rs}, {p.A.p, p.A.cs, p.A.rs}, p.beta, p.C, p.csc, p.rsc};
    return gemv_row(t, bbuf, std::min<int64_t>(bcap, kGemvChunk));
  }
  if (p.M == 1) return gemv_row(p, bbuf, std::min<int64_t>(bcap, kGemvChunk));
  const int64_t NC = even_block(p.N, ker.nc, ker.nr), KC = even_block(p.K, ker.kc, 1);
  const int64_t MC = even_block(p.M, ker.mc, ker.mr);
  for (int64_t jc = 0; jc < p.N; jc += NC) {
    const int64_t nc = std::min(NC, p.N - jc);
    for (int64_t pc = 0; pc < p.K; pc += KC) {
      const int64_t kc = std::min(KC, p.K - pc);
      ker.pack_b(kc, nc, p.B.at(pc, jc), p.B.rs, p.B.cs, p.alpha, bbuf);
      const T beta = pc == 0 ? p.beta : T(1);
      for (int64_t ic = 0; ic < p.M; ic += MC) {
        const int64_t mc = std::min(MC, p.M - ic);
        // Packing A pays off when its micro-panels meet several B micro-panels; against a single one
        // each A element is read once, and the kernel reads it in place.
        const T* a = p.A.at(ic, pc);
        int64_t a_rs = p.A.rs, a_cs = p.A.cs, a_panel = ker.mr * p.A.rs;
        if (nc > ker.nr) {
          ker.pack_a(mc, kc, a, p.A.rs, p.A.cs, abuf);
          a = abuf, a_rs = 1, a_cs = ker.mr, a_panel = ker.mr * kc;
        }
        for (int64_t jr = 0; jr < nc; jr += ker.nr) {
          const int nr = static_cast<int>(std::min<int64_t>(ker.nr, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += ker.mr) {
            const int mr = static_cast<int>(std::min<int64_t>(ker.mr, mc - ir));
            ker.run(kc, a + ir / ker.mr * a_panel, a_rs, a_cs, bbuf + jr * kc, beta,
                    p.C + (ic + ir) * p.rsc + (jc + jr) * p.csc, p.rsc, p.csc, mr, nr);
          }
        }
      }
    }
  }
}

// Below this many multiply-adds per thread (about 10 us of work), waking threads costs more than it saves.
constexpr int64_t kMinWorkPerThread = int64_t(1) << 20;

int threads_for(int64_t work) {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  return static_cast<int>(std::clamp<int64_t>(work / kMinWorkPerThread, 1, get_num_threads()));
}

// [begin, end) of part `i` of `parts` near-equal pieces of n items, cut at multiples of `unit`.
std::pair<int64_t, int64_t> part_range(int64_t n, int64_t unit, int64_t parts, int64_t i) {
  const int64_t units = (n + unit - 1) / unit;
  auto cut = [&](int64_t k) { return std::min(n, (units * k / parts) * unit); };
  return {cut(i), cut(i + 1)};
}

// The largest piece part_range makes.
int64_t part_max(int64_t n, int64_t unit, int64_t parts) {
  const int64_t units = (n + unit - 1) / unit;
  return (units + parts - 1) / parts * unit;
}

template <typename T>
void parallel_product(const Product<T>& p) {
  const Kernel<T>& ker = kernel<T>();
  const int nt = threads_for(p.M * p.N * p.K);
  // Split C into tm x tn rectangles of whole micro-tiles, the more of them along the longer side.
  const int64_t tiles_m = (p.M + ker.mr - 1) / ker.mr, tiles_n = (p.N + ker.nr - 1) / ker.nr;
  int64_t tm = 1, tn = 1;
  for (int64_t cand = 1; cand <= nt; ++cand) {
    if (nt % cand != 0) continue;
    const int64_t cm = std::min(cand, tiles_m), cn = std::min<int64_t>(nt / cand, tiles_n);
    const bool more = cm * cn > tm * tn;
    const bool squarer = cm * cn == tm * tn && p.M / cm + p.N / cn < p.M / tm + p.N / tn;
    if (more || squarer) tm = cm, tn = cn;
  }
  const int64_t sub_m = part_max(p.M, ker.mr, tm), sub_n = part_max(p.N, ker.nr, tn);
  const int64_t asz = a_buffer_size(ker, sub_m, p.K), bsz = b_buffer_size(ker, sub_n, p.K);
  T* buffers = scratch<T>((asz + bsz) * tm * tn);
  parallel_for(0, tm * tn, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      auto [i0, i1] = part_range(p.M, ker.mr, tm, t / tn);
      auto [j0, j1] = part_range(p.N, ker.nr, tn, t % tn);
      Product<T> sub = p;
      sub.M = i1 - i0;
      sub.N = j1 - j0;
      sub.A.p = p.A.at(i0, 0);
      sub.B.p = p.B.at(0, j0);
      sub.C = p.C + i0 * p.rsc + j0 * p.csc;
      T* abuf = buffers + t * (asz + bsz);
      serial_product(ker, sub, abuf, abuf + asz);
    }
  });
}

template <typename T>
void batched(int64_t batch, const Product<T>& p, int64_t bsa, int64_t bsb, int64_t bsc) {
  if (batch <= 0 || p.M == 0 || p.N == 0) return;
  auto nth = [&](int64_t i) {
    Product<T> q = p;
    q.A.p += i * bsa;
    q.B.p += i * bsb;
    q.C += i * bsc;
    return q;
  };
  const int64_t work = p.M * p.N * std::max<int64_t>(p.K, 1);
  const int nt = threads_for(work * batch);
  // Whole products per thread when they share out evenly (or are many); otherwise each one in parallel.
  // Products are dealt one at a time, so a thread slowed by other load on its core takes fewer.
  if (nt > 1 && (batch % nt == 0 || batch >= 4 * nt)) {
    const Kernel<T>& ker = kernel<T>();
    const int64_t asz = a_buffer_size(ker, p.M, p.K), bsz = b_buffer_size(ker, p.N, p.K);
    T* buffers = scratch<T>((asz + bsz) * nt);
    std::atomic<int64_t> next{0};
    parallel_for(0, nt, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        T* abuf = buffers + t * (asz + bsz);
        for (int64_t i = next++; i < batch; i = next++) serial_product(ker, nth(i), abuf, abuf + asz);
      }
    });
    return;
  }
  for (int64_t i = 0; i < batch; ++i) parallel_product(nth(i));
}

}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rsa, int64_t csa,
          const float* B, int64_t rsb, int64_t csb, float beta, float* C, int64_t rsc, int64_t csc) {
  parallel_product(Product<float>{M, N, K, alpha, {A, rsa, csa}, {B, rsb, csb}, beta, C, rsc, csc});
}

void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rsa, int64_t csa,
          const double* B, int64_t rsb, int64_t csb, double beta, double* C, int64_t rsc, int64_t csc) {
  parallel_product(Product<double>{M, N, K, alpha, {A, rsa, csa}, {B, rsb, csb}, beta, C, rsc, csc});
}

void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t bsa,
                  int64_t rsa, int64_t csa, const float* B, int64_t bsb, int64_t rsb, int64_t csb, float beta,
                  float* C, int64_t bsc, int64_t rsc, int64_t csc) {
  batched(batch, Product<float>{M, N, K, alpha, {A, rsa, csa}, {B, rsb, csb}, beta, C, rsc, csc}, bsa, bsb, bsc);
}

void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t bsa,
                  int64_t rsa, int64_t csa, const double* B, int64_t bsb, int64_t rsb, int64_t csb, double beta,
                  double* C, int64_t bsc, int64_t rsc, int64_t csc) {
  batched(batch, Product<double>{M, N, K, alpha, {A, rsa, csa}, {B, rsb, csb}, beta, C, rsc, csc}, bsa, bsb, bsc);
}

}  // namespace pyllm::cpu
