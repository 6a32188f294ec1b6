// embedding: rows of a (V, C) table picked by ids of any shape. Backward scatter-adds the output gradient
// into a dense (V, C) gradient (cpu/index.h, shared with index_select); the padding row gets none.
#include "cpu/index.h"
#include "ops/common.h"

namespace pyllm::ops {

Tensor embedding(const Tensor& ids, const Tensor& weight, std::optional<int64_t> padding_idx) {
  check_defined(ids, "embedding", "input");
  check_float(weight, "embedding", "weight");
  check_same_device(ids, weight, "embedding");
  PYLLM_CHECK(is_integral(ids.dtype()), TypeError,
              "embedding: input must hold int32 or int64 ids, got " << dtype_name(ids.dtype()));
  PYLLM_CHECK(weight.dim() == 2, ValueError,
              "embedding: weight must be 2-D (num_embeddings, embedding_dim), got " << shape_str(weight.shape()));
  const int64_t V = weight.shape()[0], C = weight.shape()[1];
  std::optional<int64_t> pad;
  if (padding_idx) {
    PYLLM_CHECK(*padding_idx >= -V && *padding_idx < V, ValueError,
                "embedding: padding_idx " << *padding_idx << " is out of range for a weight with " << V << " rows");
    pad = *padding_idx < 0 ? *padding_idx + V : *padding_idx;
  }
  if (weight.device().type != DeviceType::CPU) unsupported_device("embedding", weight.device());
  Tensor index = contiguous(ids.detach());
  const cpu::IdScan scan = cpu::scan_ids(index, V);
  PYLLM_CHECK(!scan.first_bad, IndexError,
              "embedding: id " << *scan.first_bad << " is out of range for a weight with " << V
                               << " rows (ids must be in [0, " << V << "))");

  Shape out_shape = ids.shape();
  out_shape.push_back(C);
  Tensor out = empty(out_shape, weight.dtype(), weight.device());
  if (out.numel() > 0) cpu::gather_rows(contiguous(weight.detach()), index, out, 1, V, C);
  if (autograd::needs_grad({weight})) {
    SavedTensor sindex(index);
    autograd::record("EmbeddingBackward", {weight}, {out}, [sindex, V, C, pad](std::vector<Tensor>& g) {
      Tensor idx = sindex.unpack("embedding");
      Tensor gw = empty({V, C}, g[0].dtype(), g[0].device());
      if (gw.numel() > 0) cpu::scatter_add_rows(contiguous(g[0]), idx, gw, 1, V, C, pad);  // zero-fills gw first
      return std::vector<Tensor>{gw};
    });
  }
  return out;
}

}  // namespace pyllm::ops
