// matmul, bmm and linear, forward and backward. Every product runs through cpu::matmul_into, which
// reads transposed, strided and broadcast operands in place: no operand is copied to make it
// contiguous, in the forward or the backward (dA = dC @ B^T and dB = A^T @ dC read B and A through
// transposed views). The gradient of an operand broadcast over batch dims is summed inside the product
// (into an output view with stride 0 over those dims, or as one product whose inner dimension runs over
// the batch) rather than materialized at the broadcast shape and reduced with sum_to.
#include <algorithm>

#include "cpu/copy.h"
#include "cpu/matmul.h"
#include "ops/common.h"

namespace pyllm::ops {

namespace {

void check_operands(const char* op, const Tensor& a, const Tensor& b, const char* a_name, const char* b_name) {
  check_defined(a, op, a_name);
  check_defined(b, op, b_name);
  check_same_device(a, b, op);
  PYLLM_CHECK(is_compute_float(a.dtype()) && is_compute_float(b.dtype()), TypeError,
              op << ": expected float32 or float64 operands, got " << dtype_name(a.dtype()) << " and "
                 << dtype_name(b.dtype()));
  check_same_dtype(a, b, op);
  if (a.device().type != DeviceType::CPU) unsupported_device(op, a.device());
}

Tensor transposed(const Tensor& x) { return transpose(x, -1, -2); }

Shape batch_of(const Tensor& x) { return Shape(x.shape().begin(), x.shape().end() - 2); }

Shape with_matrix(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

// 1-D operands as matrices, as torch.matmul promotes them: a (K) -> (1, K), b (K) -> (K, 1).
Tensor as_left_matrix(const Tensor& a) { return a.dim() == 1 ? unsqueeze(a, 0) : a; }
Tensor as_right_matrix(const Tensor& b) { return b.dim() == 1 ? unsqueeze(b, 1) : b; }

// am: (*, M, K), bm: (*, K, N) with batch dims broadcasting to `batch`: a fresh (*batch, M, N).
Tensor product(const Tensor& am, const Tensor& bm, const Shape& batch) {
  const int64_t M = am.size(-2), K = am.size(-1), N = bm.size(-1);
  Tensor out = empty(with_matrix(batch, M, N), am.dtype(), am.device());
  cpu::matmul_into(expand(am, with_matrix(batch, M, K)), expand(bm, with_matrix(batch, K, N)), out, false);
  return out;
}

// The two products of the backward formulas, summed over the batch dims down to `shape` (the
// operand's shape as a matrix). x @ y^T: x (*, M, N), y (*, K, N) -> (*, M, K); x^T @ y: x (*, M, K),
// y (*, M, N) -> (*, K, N). Both read the transposed operand in place.
Tensor times_transposed(const Tensor& x, const Tensor& y, const Shape& shape, const Shape& batch) {
  const int64_t M = x.size(-2), N = x.size(-1), K = y.size(-2);
  if (numel_of(batch) == 0) return zeros(shape, x.dtype(), x.device());
  Tensor out = empty(shape, x.dtype(), x.device());
  cpu::matmul_into(expand(x, with_matrix(batch, M, N)), expand(transposed(y), with_matrix(batch, N, K)),
                   expand(out, with_matrix(batch, M, K)), false);
  return out;
}

Tensor transposed_times(const Tensor& x, const Tensor& y, const Shape& shape, const Shape& batch) {
  const int64_t M = x.size(-2), K = x.size(-1), N = y.size(-1);
  if (numel_of(batch) == 0) return zeros(shape, x.dtype(), x.device());
  Tensor out = empty(shape, x.dtype(), x.device());
  cpu::matmul_into(expand(transposed(x), with_matrix(batch, K, M)), expand(y, with_matrix(batch, M, N)),
                   expand(out, with_matrix(batch, K, N)), false);
  return out;
}

// The product with torch.matmul's handling of 1-D operands, recorded as `node`. a and b are validated.
Tensor matmul_impl(const char* op, const char* node, const Tensor& a, const Tensor& b) {
  const Tensor am = as_left_matrix(a.detach()), bm = as_right_matrix(b.detach());
  const Shape batch = broadcast_shapes(batch_of(am), batch_of(bm), op);
  const Tensor full = product(am, bm, batch);
  // Drop the unit dims that 1-D operands got.
  Shape shape = batch;
  if (a.dim() > 1) shape.push_back(am.size(-2));
  if (b.dim() > 1) shape.push_back(bm.size(-1));
  const Tensor out = view(full, shape);
  if (autograd::needs_grad({a, b})) {
    const bool ra = a.requires_grad(), rb = b.requires_grad();
    SavedTensor sa(rb ? a : Tensor()), sb(ra ? b : Tensor());
    autograd::record(node, {a, b}, {out}, [sa, sb, ra, rb, batch, a_shape = a.shape(), b_shape = b.shape(),
                                           a_vec = a.dim() == 1, b_vec = b.dim() == 1, op](std::vector<Tensor>& g) {
      Tensor gm = g[0];
      if (b_vec) gm = unsqueeze(gm, gm.dim());
      if (a_vec) gm = unsqueeze(gm, gm.dim() - 1);
      Tensor ga, gb;
      if (ra) {
        const Tensor bm = as_right_matrix(sb.unpack(op));
        const Shape am_shape = a_vec ? Shape{1, a_shape[0]} : a_shape;
        ga = view(times_transposed(gm, bm, am_shape, batch), a_shape);  // dC @ B^T
      }
      if (rb) {
        const Tensor am = as_left_matrix(sa.unpack(op));
        const Shape bm_shape = b_vec ? Shape{b_shape[0], 1} : b_shape;
        gb = view(transposed_times(am, gm, bm_shape, batch), b_shape);  // A^T @ dC
      }
      return std::vector<Tensor>{ga, gb};
    });
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands("matmul", a, b, "first operand", "second operand");
  PYLLM_CHECK(a.dim() >= 1 && b.dim() >= 1, ValueError,
              "matmul: " << shape_str(a.shape()) << " @ " << shape_str(b.shape())
                         << ": both operands must be at least 1-D");
  const int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  PYLLM_CHECK(ka == kb, ValueError,
              "matmul: " << shape_str(a.shape()) << " @ " << shape_str(b.shape()) << ": inner dimensions " << ka
                         << " and " << kb << " differ");
  const Shape ba(a.shape().begin(), a.shape().end() - std::min<int64_t>(a.dim(), 2));
  const Shape bb(b.shape().begin(), b.shape().end() - std::min<int64_t>(b.dim(), 2));
  for (size_t i = 1; i <= std::min(ba.size(), bb.size()); ++i) {
    const int64_t x = ba[ba.size() - i], y = bb[bb.size() - i];
    PYLLM_CHECK(x == y || x == 1 || y == 1, ValueError,
                "matmul: " << shape_str(a.shape()) << " @ " << shape_str(b.shape()) << ": batch dimensions "
                           << shape_str(ba) << " and " << shape_str(bb) << " do not broadcast");
  }
  return matmul_impl("matmul", "MatmulBackward", a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_operands("bmm", a, b, "input", "mat2");
  PYLLM_CHECK(a.dim() == 3 && b.dim() == 3, ValueError,
              "bmm: " << shape_str(a.shape()) << " @ " << shape_str(b.shape()) << ": expected 3-D tensors");
  PYLLM_CHECK(a.size(0) == b.size(0), ValueError,
              "bmm: " << shape_str(a.shape()) << " @ " << shape_str(b.shape()) << ": batch sizes " << a.size(0)
                      << " and " << b.size(0) << " differ");
  PYLLM_CHECK(a.size(2) == b.size(1), ValueError,
              "bmm: " << shape_str(a.shape()) << " @ " << shape_str(b.shape()) << ": inner dimensions "
                      << a.size(2) << " and " << b.size(1) << " differ");
  return matmul_impl("bmm", "BmmBackward", a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_operands("linear", x, weight, "input", "weight");
  PYLLM_CHECK(weight.dim() == 2, ValueError,
              "linear: weight must be 2-D (out_features, in_features), got " << shape_str(weight.shape()));
  PYLLM_CHECK(x.dim() >= 1, ValueError, "linear: input must be at least 1-D, got " << shape_str(x.shape()));
  const int64_t in = weight.size(1), out_features = weight.size(0);
  PYLLM_CHECK(x.size(-1) == in, ValueError,
              "linear: input " << shape_str(x.shape()) << " and weight " << shape_str(weight.shape())
                               << ": in_features " << x.size(-1) << " and " << in << " differ");
  if (bias.defined()) {
    check_same_device(x, bias, "linear");
    check_same_dtype(x, bias, "linear");
    PYLLM_CHECK(bias.dim() == 1 && bias.size(0) == out_features, ValueError,
                "linear: bias " << shape_str(bias.shape()) << " does not match out_features " << out_features);
  }
  // x: (*, M, in) @ weight^T: (in, out), the weight's transpose read in place and shared by the batch;
  // the bias is written into the output first and the product added onto it.
  const Tensor xm = as_left_matrix(x.detach());
  const Shape batch = batch_of(xm);
  const int64_t M = xm.size(-2);
  Tensor full = empty(with_matrix(batch, M, out_features), x.dtype(), x.device());
  if (bias.defined()) cpu::copy(full, expand(bias.detach(), full.shape()));
  cpu::matmul_into(xm, expand(transposed(weight.detach()), with_matrix(batch, in, out_features)), full,
                   bias.defined());
  Shape shape = batch;
  if (x.dim() > 1) shape.push_back(M);
  shape.push_back(out_features);
  const Tensor out = view(full, shape);
  if (autograd::needs_grad({x, weight, bias})) {
    const bool rx = x.requires_grad(), rw = weight.requires_grad(), rb = bias.defined() && bias.requires_grad();
    SavedTensor sx(rw ? x : Tensor()), sw(rx ? weight : Tensor());
    autograd::record("LinearBackward", {x, weight, bias}, {out},
                     [sx, sw, rx, rw, rb, batch, x_shape = x.shape(),
                      w_shape = weight.shape()](std::vector<Tensor>& g) {
      const Tensor gm = x_shape.size() == 1 ? unsqueeze(g[0], 0) : g[0];  // (*batch, M, out)
      Tensor gx, gw, gb;
      if (rx) {
        const Shape xm_shape = x_shape.size() == 1 ? Shape{1, x_shape[0]} : x_shape;
        gx = view(times_transposed(gm, transposed(sw.unpack("linear")), xm_shape, batch), x_shape);  // dY @ W
      }
      if (rw) gw = transposed_times(gm, as_left_matrix(sx.unpack("linear")), w_shape, batch);  // dY^T @ x
      if (rb) {
        std::vector<int64_t> lead(gm.dim() - 1);
        for (size_t d = 0; d < lead.size(); ++d) lead[d] = static_cast<int64_t>(d);
        gb = sum(gm, lead);
      }
      return std::vector<Tensor>{gx, gw, gb};
    });
  }
  return out;
}

}  // namespace pyllm::ops
