// The lookup tables of the BPE encoder's hot path: open addressing with linear probing in flat arrays, so
// a lookup is one hash and (usually) one cache line, with no allocation and no pointer chasing.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace pyllm::text {

using TokenId = uint32_t;
constexpr uint32_t kNoRank = UINT32_MAX;  // "this pair never merges"

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  return x;
}

// A fast hash of a short byte string (pre-token chunks average ~5 bytes): 8 bytes per multiply.
inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull * (n + 1);
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
  }
  if (n > 0) {
    uint64_t w = 0;
    if (n >= 4) {  // two overlapping 4-byte loads cover 4..7 bytes without a byte loop
      uint32_t a, b;
      std::memcpy(&a, p, 4);
      std::memcpy(&b, p + n - 4, 4);
      w = (uint64_t(a) << 32) | b;
    } else {
      w = (uint64_t(uint8_t(p[0])) << 16) | (uint64_t(uint8_t(p[n >> 1])) << 8) | uint8_t(p[n - 1]);
    }
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
  }
  return mix64(h);
}

inline size_t table_capacity(size_t entries) {  // a power of two, at most half full
  size_t cap = 16;
  while (cap < 2 * entries) cap *= 2;
  return cap;
}

// (left id, right id) -> (priority, merged id). Lower priority merges first.
class PairTable {
 public:
  struct Merge {
    uint32_t rank = kNoRank;
    TokenId merged = 0;
  };

  void reserve(size_t entries) {
    slots_.assign(table_capacity(entries), Slot{});
    shift_ = 64 - __builtin_ctzll(slots_.size());
  }
  // Later entries for the same pair replace earlier ones (as a map built from the merges list does).
  void insert(TokenId left, TokenId right, Merge m) {
    uint64_t key = pack(left, right);
    size_t i = index(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = {key, m};
  }
  Merge find(TokenId left, TokenId right) const {
    uint64_t key = pack(left, right);
    for (size_t i = index(key);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == key) return slots_[i].merge;
      if (slots_[i].key == kEmpty) return Merge{};
    }
  }

 private:
  static constexpr uint64_t kEmpty = UINT64_MAX;
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge;
  };
  static uint64_t pack(TokenId l, TokenId r) { return (uint64_t(l) << 32) | r; }
  size_t index(uint64_t key) const { return (key * 0x9e3779b97f4a7c15ull) >> shift_; }

  std::vector<Slot> slots_;
  int shift_ = 64;
};

// Token bytes -> id, over byte strings the owner keeps (looked up by id through `bytes_of`).
class TokenTable {
 public:
  void reserve(size_t entries) { slots_.assign(table_capacity(entries), Slot{}); }
  void insert(uint64_t hash, TokenId id) {
    size_t i = hash & (slots_.size() - 1);
    while (slots_[i].id != kEmpty) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = {uint32_t(hash >> 32), id};
  }
  // bytes_of(id) -> std::string_view of the token's bytes.
  template <typename BytesOf>
  bool find(std::string_view s, uint64_t hash, const BytesOf& bytes_of, TokenId& id) const {
    const uint32_t tag = uint32_t(hash >> 32);
    for (size_t i = hash & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& slot = slots_[i];
      if (slot.id == kEmpty) return false;
      if (slot.tag == tag && bytes_of(slot.id) == s) {
        id = slot.id;
        return true;
      }
    }
  }

 private:
  static constexpr TokenId kEmpty = UINT32_MAX;
  struct Slot {
    uint32_t tag = 0;  // high hash bits: most mismatches are rejected without touching the bytes
    TokenId id = kEmpty;
  };
  std::vector<Slot> slots_;
};

}  // namespace pyllm::text
