#pragma once

#include <cstdint>
#include <vector>

namespace pyllm::cpu {

// Concatenates contiguous inputs along one dim, byte-wise (any dtype): input k is viewed as (outer,
// row_bytes[k]) and out as (outer, sum of row_bytes). Never throws.
void cat_contiguous(const std::vector<const char*>& inputs, const std::vector<int64_t>& row_bytes, int64_t outer,
                    char* out);

}  // namespace pyllm::cpu
