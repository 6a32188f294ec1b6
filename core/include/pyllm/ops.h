// The op API: every op validates its inputs once (raising ValueError / TypeError / IndexError naming the op
// and the shapes), dispatches on device and dtype to a kernel, and records its backward when needed.
// Names and semantics follow PyTorch. Each op lives in core/src/ops/<name>.cpp, its CPU kernel in
// core/src/cpu/<name>.cpp.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "pyllm/generator.h"
#include "pyllm/tensor.h"

namespace pyllm::ops {

// ---- creation (ops/creation.cpp) ----
Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = cpu_device());
Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = cpu_device());
Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = cpu_device());
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = cpu_device());
Tensor scalar_tensor(double value, DType dtype, Device device = cpu_device());  // 0-d
Tensor arange(double start, double end, double step, DType dtype, Device device = cpu_device());
// Random: counter-based, so results depend on the seed and the draw order only, not on thread count.
Tensor rand(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);   // U[0,1)
Tensor randn(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);  // N(0,1)
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::Int64,
               Generator* gen = nullptr);  // uniform integers in [low, high)

// ---- copies and conversion (ops/copy.cpp) ----
Tensor contiguous(const Tensor& x);           // x itself if already contiguous
Tensor clone(const Tensor& x);                // always a fresh contiguous copy (differentiable)
Tensor to_dtype(const Tensor& x, DType dtype);  // differentiable between floating types
void copy_(const Tensor& dst, const Tensor& src);  // src broadcast to dst's shape, dtype converted
void fill_(const Tensor& dst, double value);
void zero_(const Tensor& dst);

// ---- views: share storage, no copy (ops/view.cpp) ----
Tensor view(const Tensor& x, const Shape& shape);     // -1 infers one dim; ValueError if strides forbid
Tensor reshape(const Tensor& x, const Shape& shape);  // a view when possible, else a copy
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor slice(const Tensor& x, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end,
             int64_t step = 1);                        // Python slice rules (clamped, negative from end)
Tensor select(const Tensor& x, int64_t dim, int64_t index);  // drops `dim`; IndexError if out of range
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x, std::optional<int64_t> dim = std::nullopt);
Tensor expand(const Tensor& x, const Shape& shape);   // -1 keeps a dim; size-1 dims broadcast
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);  // ValueError naming op if not
// Sums `grad` down to `shape` (the inverse of broadcasting); used by backward formulas.
Tensor sum_to(const Tensor& grad, const Shape& shape);

// ---- elementwise binary with broadcasting (ops/binary.cpp) ----
// Both operands must have the same dtype (Python scalars are converted to the tensor's dtype first).
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// Comparisons give bool tensors (no grad).
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);
void add_(const Tensor& dst, const Tensor& src, double alpha = 1.0);  // dst += alpha * src, in place
void mul_(const Tensor& dst, double value);                          // dst *= value, in place

// ---- elementwise unary (ops/unary.cpp) ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x, bool tanh_approximation = false);  // approximate="none" | "tanh"
Tensor silu(const Tensor& x);
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);

// ---- reductions (ops/reduce.cpp); empty `dims` means all dims ----
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1.0,
           bool keepdim = false);
Tensor max(const Tensor& x);  // over everything, 0-d
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);  // values, int64 indices
Tensor min(const Tensor& x);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true,
                               bool sorted = true);

// ---- normalization and activations over a dim (ops/softmax.cpp, ops/layer_norm.cpp, ops/rms_norm.cpp) ----
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// x: (..., *normalized_shape); weight and bias: normalized_shape or undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps = 1e-5);
// eps unset: machine epsilon of x's dtype, as torch.nn.functional.rms_norm.
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                std::optional<double> eps = std::nullopt);

// ---- indexing and masking (ops/embedding.cpp, ops/index.cpp, ops/where.cpp) ----
// ids: any shape, int32/int64; weight: (V, C); out: (*ids.shape, C). Backward scatter-adds into weight.
Tensor embedding(const Tensor& ids, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);  // mask: bool, broadcast to x
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// ---- joining and splitting (ops/cat.cpp) ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

// ---- losses and regularization (ops/cross_entropy.cpp, ops/dropout.cpp) ----
enum class Reduction { None, Mean, Sum };
// logits: (N, C) or (C) or (N, C, d1, ...); target: int class ids shaped like logits without dim 1.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100,
                     double label_smoothing = 0.0, Reduction reduction = Reduction::Mean);
Tensor dropout(const Tensor& x, double p, bool training = true, Generator* gen = nullptr);

// ---- matrix products (ops/matmul.cpp), attention (ops/attention.cpp) ----
Tensor matmul(const Tensor& a, const Tensor& b);  // torch.matmul rules: 1-D promotion, broadcast batch dims
Tensor bmm(const Tensor& a, const Tensor& b);     // (B,M,K) @ (B,K,N) -> (B,M,N)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);  // x @ weight^T + bias
// q: (B,Hq,Tq,D), k: (B,Hkv,Tk,D), v: (B,Hkv,Tk,Dv) with Hq % Hkv == 0 (grouped-query); 3-D inputs have
// no head dim. attn_mask: bool (true = attend) or float (added to scores), broadcastable to
// (B,Hq,Tq,Tk). is_causal: query i sees keys j <= i (top-left aligned, as PyTorch). scale: 1/sqrt(D) if
// unset. dropout_p: attention-weight dropout drawn from `gen` (Philox, so backward regenerates the
// same mask). Fused and tiled: the (Tq,Tk) score matrix is never materialized; backward recomputes it.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& attn_mask = Tensor(), bool is_causal = false,
                                    std::optional<double> scale = std::nullopt, double dropout_p = 0.0,
                                    Generator* gen = nullptr);

// ---- optimizer kernels (ops/optim.cpp) ----
// One fused AdamW step (decoupled weight decay, bias-corrected) over every parameter, in place.
// `step` is the 1-based step count after this update.
void adamw_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs, double lr,
                double beta1, double beta2, double eps, double weight_decay, int64_t step);
// The norm of all tensors taken together, as if concatenated (norm_type 2, 1 or inf).
double global_norm(const std::vector<Tensor>& tensors, double norm_type = 2.0);

}  // namespace pyllm::ops
