// A bounded, thread-safe memo of chunk -> token ids for the chunks the vocabulary lacks as a whole (for
// the rest the token table already answers in one lookup). Real text repeats its words, so most merge
// loops run once per distinct word. Memory is fixed: each shard owns flat arrays and starts over when
// they fill, so a stream of distinct chunks never grows it.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "text/bpe_tables.h"

namespace pyllm::text {

class ChunkCache {
 public:
  static constexpr size_t kMaxChunkBytes = 256;  // longer chunks are rare and cost more to keep than to redo

  ChunkCache();
  // Appends the ids cached for `chunk` (whose hash_bytes is `hash`) to `out`; false when absent.
  bool find(std::string_view chunk, uint64_t hash, std::vector<TokenId>& out);
  void insert(std::string_view chunk, uint64_t hash, const TokenId* ids, size_t n);

 private:
  static constexpr size_t kShards = 32;          // threads of a batch rarely wait on one another
  static constexpr size_t kSlots = 4096;         // per shard, a power of two
  static constexpr size_t kEntries = kSlots / 2;
  static constexpr size_t kBytes = kEntries * 16;
  static constexpr size_t kIds = kEntries * 4;

  struct Slot {
    uint32_t tag = 0;  // high hash bits
    uint32_t bytes_at = 0;
    uint32_t ids_at = 0;
    uint16_t len = 0;   // 0: empty (empty chunks are never cached)
    uint16_t n_ids = 0;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::vector<Slot> slots;
    std::vector<char> bytes;
    std::vector<TokenId> ids;
    size_t entries = 0, bytes_used = 0, ids_used = 0;
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace pyllm::text
