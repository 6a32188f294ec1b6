#include "text/bpe_train.h"

#include <algorithm>
#include <cstring>
#include <exception>

#include "pyllm/error.h"
#include "pyllm/parallel.h"
#include "text/utf8.h"

namespace pyllm::text {

namespace {

// A fast non-cryptographic hash of a short byte string (chunks average a few bytes): 64-bit multiplies,
// then a finalizer.
inline uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// MurmurHash3's finalizer: every input bit flips each output bit with probability about 1/2, so the low
// bits that pick a bucket depend on the whole key.
inline uint64_t fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  return x ^ (x >> 33);
}

uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix(h ^ w, 0xBF58476D1CE4E5B9ull);
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  return fmix64(mix(h ^ w, 0x94D049BB133111EBull));
}

// The length of the longest valid UTF-8 prefix of `s`: ASCII eight bytes at a time, the rest through
// utf8::decode, which reads a malformed sequence as one byte of U+FFFD.
size_t valid_utf8_prefix(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    uint64_t w;
    if (i + 8 <= n && (std::memcpy(&w, p + i, 8), (w & 0x8080808080808080ull) == 0)) {
      i += 8;
      continue;
    }
    utf8::Decoded d = utf8::decode(p, n, i);
    if (d.cp == utf8::kReplacement && d.len == 1) return i;
    i += d.len;
  }
  return n;
}

// Whether the built-in patterns split `text` at `p` exactly as they split text[0, p) and text[p, end)
// separately: where a printable ASCII character, one '\n' and then an ASCII letter or digit meet
// ("...word.\nNext"). Under gpt2, cl100k and o200k the '\n' then ends a chunk (alone, or after the
// punctuation before it), no chunk reaches past it, and the next chunk starts at the letter or digit,
// whether or not the text goes on; the patterns have no look-behind.
bool safe_cut(std::string_view text, size_t p) {
  if (p < 2 || p >= text.size() || text[p - 1] != '\n') return false;
  unsigned char before = static_cast<unsigned char>(text[p - 2]), after = static_cast<unsigned char>(text[p]);
  bool alnum = (after >= '0' && after <= '9') || ((after | 0x20) >= 'a' && (after | 0x20) <= 'z');
  return before > 0x20 && before < 0x7F && alnum;
}

// The first safe cut at or after `from`, or npos.
size_t next_safe_cut(std::string_view text, size_t from) {
  for (size_t nl = text.find('\n', from > 0 ? from - 1 : 0); nl != std::string_view::npos; nl = text.find('\n', nl + 1))
    if (safe_cut(text, nl + 1)) return nl + 1;
  return std::string_view::npos;
}

// The last safe cut, or 0.
size_t last_safe_cut(std::string_view text) {
  for (size_t nl = text.rfind('\n'); nl != std::string_view::npos && nl > 0; nl = text.rfind('\n', nl - 1))
    if (safe_cut(text, nl + 1)) return nl + 1;
  return 0;
}

// The ranks of the 256 bytes in Hugging Face's ByteLevel alphabet, which orders them by the code point
// of the character each byte maps to (bytes 33-126, 161-172, 174-255 map to themselves, the others to 256
// and up, in byte order).
struct ByteRank {
  uint32_t rank[256];
  ByteRank() {
    uint32_t next = 0;
    auto printable = [](int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; };
    for (int b = 0; b < 256; ++b)
      if (printable(b)) rank[b] = next++;
    for (int b = 0; b < 256; ++b)
      if (!printable(b)) rank[b] = next++;
  }
};
const ByteRank kByteRank;

}  // namespace

// ---- ChunkTable ----

ChunkTable::ChunkTable() : slots_(1024, Slot{}) {}

std::string_view ChunkTable::view(const Slot& s) const {
  if (s.length <= kInline) return {s.data, s.length};
  uint64_t offset;
  std::memcpy(&offset, s.data, sizeof offset);
  return {long_bytes_.data() + offset, s.length};
}

void ChunkTable::grow() {
  std::vector<Slot> slots(slots_.size() * 2, Slot{});
  size_t mask = slots.size() - 1;
  for (const Slot& s : slots_) {
    if (s.count == 0) continue;
    size_t i = s.hash & mask;
    while (slots[i].count != 0) i = (i + 1) & mask;
    slots[i] = s;
  }
  slots_.swap(slots);
}

void ChunkTable::add(std::string_view chunk, uint64_t count) {
  if (count == 0) return;
  total_ += count;
  uint32_t h = static_cast<uint32_t>(hash_bytes(chunk.data(), chunk.size()) >> 32);
  // A short chunk zero-padded as slots hold it, so that comparing it is a fixed 16-byte compare.
  char padded[kInline] = {};
  bool short_chunk = chunk.size() <= kInline;
  if (short_chunk) std::memcpy(padded, chunk.data(), chunk.size());
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.count == 0) {
      s.count = count;
      s.hash = h;
      s.length = static_cast<uint32_t>(chunk.size());
      if (short_chunk) {
        std::memcpy(s.data, padded, kInline);
      } else {
        uint64_t offset = long_bytes_.size();
        std::memcpy(s.data, &offset, sizeof offset);
        long_bytes_.insert(long_bytes_.end(), chunk.begin(), chunk.end());
      }
      if (++size_ * 4 > slots_.size() * 3) grow();  // at most 3/4 full
      return;
    }
    if (s.hash == h && s.length == chunk.size() &&
        (short_chunk ? std::memcmp(s.data, padded, kInline) == 0 : view(s) == chunk)) {
      s.count += count;
      return;
    }
  }
}

void ChunkTable::merge_from(const ChunkTable& other) {
  while ((size_ + other.size_) * 4 > slots_.size() * 3) grow();
  // other's slots in a scrambled order (an odd stride visits them all): in slot order the keys would come
  // sorted by home bucket and pile up behind one another in this table's probe runs.
  size_t mask = other.slots_.size() - 1, stride = (other.slots_.size() / 8 * 5) | 1;
  for (size_t k = 0, i = 0; k <= mask; ++k, i = (i + stride) & mask) {
    const Slot& s = other.slots_[i];
    if (s.count != 0) add(other.view(s), s.count);
  }
}

// ---- ChunkCounter ----

ChunkCounter::ChunkCounter(const std::string& pattern, std::vector<std::string> special_tokens, size_t unit_bytes)
    : pretokenizer_(Pretokenizer::create(pattern)), specials_(std::move(special_tokens)),
      unit_bytes_(std::max<size_t>(unit_bytes, 1)) {
  for (const std::string& s : specials_)
    PYLLM_CHECK(!s.empty(), ValueError, "train_bpe: a special token is the empty string");
  // Custom patterns and "none" may match across any boundary, and a special token holding a '\n' could
  // straddle one: such documents are counted whole.
  bool builtin = pattern == "gpt2" || pattern == "cl100k" || pattern == "o200k";
  cuttable_ = builtin && std::none_of(specials_.begin(), specials_.end(),
                                      [](const std::string& s) { return s.find('\n') != std::string::npos; });
}

ChunkCounter::~ChunkCounter() = default;

void ChunkCounter::cut(std::string_view document, std::vector<std::string_view>& units) const {
  size_t start = 0;
  while (cuttable_ && document.size() - start > unit_bytes_) {
    size_t p = next_safe_cut(document, start + unit_bytes_);
    if (p == std::string_view::npos) break;
    units.push_back(document.substr(start, p - start));
    start = p;
  }
  if (start < document.size()) units.push_back(document.substr(start));
}

void ChunkCounter::add(std::string_view piece, bool ends_document) {
  carry_.append(piece.data(), piece.size());
  size_t p = ends_document ? carry_.size() : cuttable_ ? last_safe_cut(carry_) : 0;
  if (p > 0) count({std::string_view(carry_).substr(0, p)}, true);
  carry_.erase(0, p);
  carry_offset_ = ends_document ? 0 : carry_offset_ + p;
}

void ChunkCounter::add_documents(const std::vector<std::string_view>& documents) {
  PYLLM_CHECK(carry_.empty(), ValueError, "train_bpe: whole documents added while a document is unfinished");
  count(documents, false);
}

void ChunkCounter::count(const std::vector<std::string_view>& documents, bool unfinished) {
  struct Unit {
    std::string_view text;
    size_t document;  // index into `documents`
  };
  std::vector<std::string_view> pieces;
  std::vector<Unit> units;
  size_t total = 0;
  for (size_t d = 0; d < documents.size(); ++d) {
    pieces.clear();
    cut(documents[d], pieces);
    for (std::string_view u : pieces) units.push_back({u, d});
    total += documents[d].size();
  }
  if (units.empty()) return;

  // Contiguous groups of about equal bytes, one per thread, each counted into its own table.
  int threads = std::max(1, std::min<int>(get_num_threads(), static_cast<int>(units.size())));
  if (tables_.size() < static_cast<size_t>(threads)) tables_.resize(threads);
  std::vector<size_t> group_start(threads + 1, units.size());
  for (size_t u = 0, g = 0, seen = 0; u < units.size(); ++u) {
    while (g < static_cast<size_t>(threads) && seen >= total * g / threads) group_start[g++] = u;
    seen += units[u].text.size();
  }
  // A failure (invalid UTF-8, a regex over its step budget) is caught inside the parallel region and
  // rethrown after it: the first one in text order.
  std::vector<std::exception_ptr> errors(threads);
  parallel_for(0, threads, 1, [&](int64_t g_begin, int64_t g_end) {
    std::vector<Span> spans;
    std::vector<size_t> next;
    for (int64_t g = g_begin; g < g_end; ++g) {
      try {
        for (size_t u = group_start[g]; u < group_start[g + 1]; ++u) {
          std::string_view text = units[u].text;
          size_t valid = valid_utf8_prefix(text);
          if (valid != text.size()) {
            size_t offset = static_cast<size_t>(text.data() - documents[units[u].document].data()) + valid;
            if (unfinished) PYLLM_FAIL(ValueError, "train_bpe: invalid UTF-8 at byte " << offset + carry_offset_);
            PYLLM_FAIL(ValueError, "train_bpe: invalid UTF-8 at byte " << offset << " of document " << units[u].document);
          }
          count_unit(text, tables_[g], spans, next);
        }
      } catch (...) {
        errors[g] = std::current_exception();
      }
    }
  });
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

void ChunkCounter::count_unit(std::string_view text, ChunkTable& table, std::vector<Span>& spans,
                              std::vector<size_t>& next) const {
  // Special tokens first (leftmost, then longest), then the pattern over the text between them.
  // next[k]: where special k next occurs at or after `pos` (searched again only once passed).
  next.clear();
  for (const std::string& special : specials_) next.push_back(text.find(special));
  for (size_t pos = 0;;) {
    size_t hit = std::string_view::npos, hit_len = 0;
    for (size_t k = 0; k < specials_.size(); ++k) {
      if (next[k] != std::string_view::npos && next[k] < pos) next[k] = text.find(specials_[k], pos);
      if (next[k] < hit || (next[k] == hit && hit != std::string_view::npos && specials_[k].size() > hit_len)) {
        hit = next[k];
        hit_len = specials_[k].size();
      }
    }
    std::string_view segment = text.substr(pos, hit == std::string_view::npos ? std::string_view::npos : hit - pos);
    spans.clear();
    pretokenizer_.split(segment, spans);
    for (const Span& s : spans) table.add(segment.substr(s.begin, s.end - s.begin), 1);
    if (hit == std::string_view::npos) return;
    pos = hit + hit_len;
  }
}

ChunkTable ChunkCounter::finish() {
  PYLLM_CHECK(carry_.empty(), ValueError, "train_bpe: the last document was not ended");
  ChunkTable all;
  for (ChunkTable& t : tables_) {
    if (all.size() == 0) {
      std::swap(all, t);
    } else {
      all.merge_from(t);
    }
    t = ChunkTable();
  }
  return all;
}

// ---- merging ----

namespace {

// Pair (left, right) -> slot, open addressing over 64-bit keys left << 32 | right.
class PairIndex {
 public:
  PairIndex() : keys_(1 << 16, kEmpty), slots_(1 << 16) {}
  // The slot of `key`, inserting it as slot `next` if absent (then `inserted` is set).
  uint32_t find_or_insert(uint64_t key, uint32_t next, bool& inserted) {
    size_t mask = keys_.size() - 1;
    for (size_t i = hash(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) {
        inserted = false;
        return slots_[i];
      }
      if (keys_[i] == kEmpty) {
        keys_[i] = key;
        slots_[i] = next;
        inserted = true;
        if (++size_ * 2 > keys_.size()) grow();
        return next;
      }
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  static size_t hash(uint64_t key) { return static_cast<size_t>(fmix64(key)); }
  void grow() {
    std::vector<uint64_t> keys(keys_.size() * 2, kEmpty);
    std::vector<uint32_t> slots(keys.size());
    size_t mask = keys.size() - 1;
    for (size_t j = 0; j < keys_.size(); ++j) {
      if (keys_[j] == kEmpty) continue;
      size_t i = hash(keys_[j]) & mask;
      while (keys[i] != kEmpty) i = (i + 1) & mask;
      keys[i] = keys_[j];
      slots[i] = slots_[j];
    }
    keys_.swap(keys);
    slots_.swap(slots);
  }
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> slots_;
  size_t size_ = 0;
};

struct HeapEntry {
  int64_t count;
  uint64_t order;  // the tie-break: smaller wins
  uint32_t slot;
};

// Max-heap order: higher count first, then smaller `order`.
bool heap_less(const HeapEntry& a, const HeapEntry& b) {
  return a.count < b.count || (a.count == b.count && a.order > b.order);
}

class Trainer {
 public:
  explicit Trainer(const ChunkTable& chunks) {
    chunks.for_each([this](std::string_view chunk, uint64_t count) {
      if (chunk.size() < 2) return;  // a single byte has no pair
      start_.push_back(symbols_.size());
      length_.push_back(static_cast<uint32_t>(chunk.size()));
      count_.push_back(static_cast<int64_t>(count));
      for (char c : chunk) symbols_.push_back(static_cast<unsigned char>(c));
    });
    for (uint32_t w = 0; w < start_.size(); ++w) {
      const uint32_t* s = &symbols_[start_[w]];
      for (uint32_t i = 0; i + 1 < length_[w]; ++i) add_pair(s[i], s[i + 1], count_[w], w);
    }
    for (uint32_t slot = 0; slot < pair_count_.size(); ++slot) push(slot);
    touched_.clear();
  }

  BpeTrainResult run(size_t num_merges, uint64_t min_frequency, const std::function<void(size_t)>& progress,
                     size_t progress_every) {
    BpeTrainResult r;
    for (int b = 0; b < 256; ++b) r.vocab.emplace_back(1, static_cast<char>(b));
    int64_t threshold = static_cast<int64_t>(std::max<uint64_t>(min_frequency, 1));
    while (r.merges.size() < num_merges && !heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), heap_less);
      HeapEntry top = heap_.back();
      heap_.pop_back();
      if (top.count != pair_count_[top.slot]) {  // stale: counts only fall, so re-file it lower
        push(top.slot);
        continue;
      }
      if (top.count < threshold) break;
      uint32_t left = static_cast<uint32_t>(pair_key_[top.slot] >> 32), right = static_cast<uint32_t>(pair_key_[top.slot]);
      uint32_t id = static_cast<uint32_t>(r.vocab.size());
      r.merges.emplace_back(left, right);
      r.vocab.push_back(r.vocab[left] + r.vocab[right]);
      std::vector<uint32_t> words;
      words.swap(pair_words_[top.slot]);
      for (uint32_t w : words) merge_word(w, left, right, id);
      pair_count_[top.slot] = 0;
      for (uint32_t slot : touched_) push(slot);
      touched_.clear();
      if (progress && r.merges.size() % progress_every == 0) progress(r.merges.size());
    }
    if (progress && r.merges.size() % progress_every != 0) progress(r.merges.size());
    return r;
  }

 private:
  static uint64_t rank(uint32_t id) { return id < 256 ? kByteRank.rank[id] : id; }

  void push(uint32_t slot) {
    int64_t c = pair_count_[slot];
    if (c <= 0) return;
    uint64_t key = pair_key_[slot];
    heap_.push_back({c, rank(static_cast<uint32_t>(key >> 32)) << 32 | rank(static_cast<uint32_t>(key)), slot});
    std::push_heap(heap_.begin(), heap_.end(), heap_less);
  }

  // Adds `delta` to the count of (left, right); a pair that gains records word `w` as holding it (pairs
  // gain only in the merge that creates their newest token, so each is filed in the heap once, then).
  void add_pair(uint32_t left, uint32_t right, int64_t delta, uint32_t w) {
    bool inserted;
    uint64_t key = uint64_t(left) << 32 | right;
    uint32_t slot = index_.find_or_insert(key, static_cast<uint32_t>(pair_count_.size()), inserted);
    if (inserted) {
      pair_count_.push_back(0);
      pair_key_.push_back(key);
      pair_words_.emplace_back();
      touched_.push_back(slot);
    }
    pair_count_[slot] += delta;
    std::vector<uint32_t>& words = pair_words_[slot];
    if (delta > 0 && (words.empty() || words.back() != w)) words.push_back(w);
  }

  // Replaces (left, right) by `id` in word `w`, left to right, and updates the counts of the pairs around
  // each replacement (as Hugging Face's Word::merge does, so overlapping runs like "aaa" agree).
  void merge_word(uint32_t w, uint32_t left, uint32_t right, uint32_t id) {
    uint32_t* s = &symbols_[start_[w]];
    uint32_t n = length_[w], out = 0;
    int64_t c = count_[w];
    for (uint32_t i = 0; i < n;) {
      if (i + 1 < n && s[i] == left && s[i + 1] == right) {
        if (out > 0) {
          add_pair(s[out - 1], left, -c, w);
          add_pair(s[out - 1], id, c, w);
        }
        if (i + 2 < n) {
          add_pair(right, s[i + 2], -c, w);
          add_pair(id, s[i + 2], c, w);
        }
        s[out++] = id;
        i += 2;
      } else {
        s[out++] = s[i++];
      }
    }
    length_[w] = out;
  }

  // Words: the distinct chunks of two or more bytes, as symbol ids.
  std::vector<uint32_t> symbols_;
  std::vector<size_t> start_;
  std::vector<uint32_t> length_;
  std::vector<int64_t> count_;
  // Pairs, by slot.
  PairIndex index_;
  std::vector<int64_t> pair_count_;
  std::vector<uint64_t> pair_key_;
  std::vector<std::vector<uint32_t>> pair_words_;  // the words that held the pair when it gained
  std::vector<uint32_t> touched_;                  // slots created by the current merge
  std::vector<HeapEntry> heap_;
};

}  // namespace

BpeTrainResult train_bpe(const ChunkTable& chunks, size_t num_merges, uint64_t min_frequency,
                         const std::function<void(size_t)>& progress, size_t progress_every) {
  Trainer trainer(chunks);
  return trainer.run(num_merges, min_frequency, progress, std::max<size_t>(progress_every, 1));
}

}  // namespace pyllm::text
