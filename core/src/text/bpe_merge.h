// Byte-pair merging of one pre-token chunk: start from the ids of its bytes, then repeatedly merge the
// adjacent pair of lowest priority (the leftmost among equal ones) until no adjacent pair merges. This
// is the rule of tiktoken (priority = rank of the merged token) and of HF tokenizers / GPT-2 (priority =
// position in the merges list); the pair table encodes either.
#pragma once

#include <cstdint>
#include <vector>

#include "text/bpe_tables.h"

namespace pyllm::text {

// Chunks up to this many bytes merge in a small array with a linear minimum search (fastest when short);
// longer ones in a heap over a linked list, O(n log n), so a 100 kB run of digits stays fast.
constexpr size_t kShortChunk = 64;

// Appends the merged ids of bytes [p, p + n) to `out`. byte_ids[b]: the id of the single byte b.
void bpe_merge(const uint8_t* p, size_t n, const TokenId* byte_ids, const PairTable& pairs,
               std::vector<TokenId>& out);

// The two strategies, exposed so tests can check they agree on any length.
void bpe_merge_short(const uint8_t* p, size_t n, const TokenId* byte_ids, const PairTable& pairs,
                     std::vector<TokenId>& out);  // n <= kShortChunk
void bpe_merge_long(const uint8_t* p, size_t n, const TokenId* byte_ids, const PairTable& pairs,
                    std::vector<TokenId>& out);

}  // namespace pyllm::text
