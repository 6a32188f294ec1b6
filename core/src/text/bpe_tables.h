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

inline uint64_t mix64(uint64_t x) {  // MurmurHash3's finalizer
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// The first min(n, 8) bytes of p as one word, distinct for distinct strings of the same length n <= 8,
// read with at most two loads that never reach past p + n.
inline uint64_t short_key(const char* p, size_t n) {
  if (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  }
  if (n >= 4) {  // two overlapping 4-byte loads cover 4..7 bytes
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    return a | (uint64_t(b) << 32);
  }
  if (n == 0) return 0;
  return uint64_t(uint8_t(p[0])) | (uint64_t(uint8_t(p[n >> 1])) << 8) | (uint64_t(uint8_t(p[n - 1])) << 16);
}

// A fast hash of a byte string; pre-token chunks average ~5 bytes, which take one multiply-mix.
inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = short_key(p, n) + (uint64_t(n) << 59);
  for (size_t i = 8; i < n; i += 8) {
    const size_t k = n - i < 8 ? n - i : 8;
    h = (h ^ mix64(short_key(p + i, k) + k)) * 0x9e3779b97f4a7c15ull;
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

// Token bytes -> id. A slot holds the token's first 8 bytes and length, so a chunk of up to 8 bytes (most
// of them) is matched without touching the token's bytes; longer ones compare the rest through `bytes_of`.
class TokenTable {
 public:
  void reserve(size_t entries) { slots_.assign(table_capacity(entries), Slot{}); }
  void insert(std::string_view s, uint64_t hash, TokenId id) {
    size_t i = hash & (slots_.size() - 1);
    while (slots_[i].id != kEmpty) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = {short_key(s.data(), s.size()), id, uint32_t(s.size())};
  }
  // bytes_of(id) -> std::string_view of the token's bytes.
  template <typename BytesOf>
  bool find(std::string_view s, uint64_t hash, const BytesOf& bytes_of, TokenId& id) const {
    const uint64_t key = short_key(s.data(), s.size());
    for (size_t i = hash & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& slot = slots_[i];
      if (slot.id == kEmpty) return false;
      if (slot.key == key && slot.len == s.size() &&
          (s.size() <= 8 || std::memcmp(bytes_of(slot.id).data() + 8, s.data() + 8, s.size() - 8) == 0)) {
        id = slot.id;
        return true;
      }
    }
  }

 private:
  static constexpr TokenId kEmpty = UINT32_MAX;
  struct Slot {
    uint64_t key = 0;  // short_key of the token
    TokenId id = kEmpty;
    uint32_t len = 0;
  };
  std::vector<Slot> slots_;
};

}  // namespace pyllm::text
