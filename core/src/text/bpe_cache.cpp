#include "text/bpe_cache.h"

#include <algorithm>
#include <cstring>

namespace pyllm::text {

ChunkCache::ChunkCache() {
  for (Shard& s : shards_) {
    s.slots.assign(kSlots, Slot{});
    s.bytes.resize(kBytes);
    s.ids.resize(kIds);
  }
}

// The shard comes from the low hash bits, the slot from the middle ones, the tag from the high ones, so
// the three are independent.
bool ChunkCache::find(std::string_view chunk, uint64_t hash, std::vector<TokenId>& out) {
  Shard& s = shards_[hash % kShards];
  const uint32_t tag = uint32_t(hash >> 32);
  std::lock_guard<std::mutex> lock(s.mu);
  for (size_t i = (hash >> 8) & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    const Slot& slot = s.slots[i];
    if (slot.len == 0) return false;
    if (slot.tag == tag && slot.len == chunk.size() &&
        std::memcmp(s.bytes.data() + slot.bytes_at, chunk.data(), chunk.size()) == 0) {
      out.insert(out.end(), s.ids.begin() + slot.ids_at, s.ids.begin() + slot.ids_at + slot.n_ids);
      return true;
    }
  }
}

void ChunkCache::insert(std::string_view chunk, uint64_t hash, const TokenId* ids, size_t n) {
  if (chunk.empty() || chunk.size() > kMaxChunkBytes) return;
  Shard& s = shards_[hash % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.entries == kEntries || s.bytes_used + chunk.size() > kBytes || s.ids_used + n > kIds) {
    std::fill(s.slots.begin(), s.slots.end(), Slot{});  // full: start over (the working set refills it)
    s.entries = s.bytes_used = s.ids_used = 0;
  }
  const uint32_t tag = uint32_t(hash >> 32);
  size_t i = (hash >> 8) & (kSlots - 1);
  for (; s.slots[i].len != 0; i = (i + 1) & (kSlots - 1)) {
    const Slot& slot = s.slots[i];
    if (slot.tag == tag && slot.len == chunk.size() &&
        std::memcmp(s.bytes.data() + slot.bytes_at, chunk.data(), chunk.size()) == 0) {
      return;  // another thread cached it meanwhile
    }
  }
  std::memcpy(s.bytes.data() + s.bytes_used, chunk.data(), chunk.size());
  std::copy(ids, ids + n, s.ids.begin() + s.ids_used);
  s.slots[i] = {tag, uint32_t(s.bytes_used), uint32_t(s.ids_used), uint16_t(chunk.size()), uint16_t(n)};
  s.bytes_used += chunk.size();
  s.ids_used += n;
  ++s.entries;
}

}  // namespace pyllm::text
