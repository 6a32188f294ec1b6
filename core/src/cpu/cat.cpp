#include "cpu/cat.h"

#include <algorithm>
#include <cstring>

#include "pyllm/parallel.h"

namespace pyllm::cpu {

// inputs[k]: (outer, row_bytes[k]) bytes, out: (outer, sum of row_bytes) bytes.
void cat_contiguous(const std::vector<const char*>& inputs, const std::vector<int64_t>& row_bytes, int64_t outer,
                    char* out) {
  // Where each (non-empty) input's bytes start within an output row.
  std::vector<int64_t> starts;
  std::vector<size_t> which;
  int64_t row = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (row_bytes[k] == 0) continue;
    starts.push_back(row);
    which.push_back(k);
    row += row_bytes[k];
  }
  const int64_t total = outer * row;
  if (total == 0) return;
  // The output is split into equal byte blocks (balanced whatever the shapes: one long row or many short
  // ones); a block copies the runs of the inputs it overlaps with memcpy.
  constexpr int64_t kBlock = 64 * 1024;
  const int64_t blocks = (total + kBlock - 1) / kBlock;
  parallel_for(0, blocks, 4, [&](int64_t b, int64_t e) {
    for (int64_t pos = b * kBlock, end = std::min(total, e * kBlock); pos < end;) {
      const int64_t r = pos / row, col = pos % row;
      const size_t j = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), col) - starts.begin()) - 1;
      const size_t k = which[j];
      const int64_t within = col - starts[j];
      const int64_t n = std::min(end - pos, row_bytes[k] - within);
      std::memcpy(out + pos, inputs[k] + r * row_bytes[k] + within, static_cast<size_t>(n));
      pos += n;
    }
  });
}

}  // namespace pyllm::cpu
