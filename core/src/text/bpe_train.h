// Byte-level BPE training, in two stages.
//
// 1. Counting (ChunkCounter): the corpus is pre-tokenized into chunks and each distinct chunk is counted
//    once (a 100 MB corpus has a few hundred thousand distinct chunks, not tens of millions of chunks).
//    Special tokens are cut out of the text first: they never take part in merges and no chunk spans one.
//    Text arrives in pieces and is counted in parallel, each thread into its own table; the tables are
//    merged once at the end, so memory holds the current piece plus a few copies of the distinct chunks.
// 2. Merging (train_bpe): each distinct chunk becomes a word of byte ids weighted by its count. Pair counts
//    live in a hash map with, per pair, the words it occurs in; a max-heap keyed by count (stale entries
//    are re-checked when popped) picks the next pair, and a merge rewrites only the words that hold the
//    pair and updates only the pair counts those words change.
//
// Ties between pairs of equal count go as in Hugging Face tokenizers' BpeTrainer (with a ByteLevel
// pre-tokenizer), whose merges ours equal: the pair (left, right) with the smallest ids wins, comparing
// left ids first, where the ids order the 256 bytes by the code point of their byte-level character
// (printable bytes 33-126, 161-172, 174-255 first, then bytes 0-32, 127-160, 173) and merged tokens by
// merge order, after all bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/pretokenize.h"

namespace pyllm::text {

// Distinct byte strings with a count each: open addressing over 32-byte slots that hold chunks of up to
// 16 bytes (nearly all of them) inline, so that counting one costs one cache miss, not three.
class ChunkTable {
 public:
  ChunkTable();
  void add(std::string_view chunk, uint64_t count);
  void merge_from(const ChunkTable& other);
  size_t size() const { return size_; }
  uint64_t total() const { return total_; }  // the sum of the counts
  // f(std::string_view chunk, uint64_t count) for each distinct chunk, in no particular order.
  template <typename F>
  void for_each(const F& f) const {
    for (const Slot& s : slots_)
      if (s.count != 0) f(view(s), s.count);
  }

 private:
  static constexpr uint32_t kInline = 16;
  struct Slot {
    uint64_t count;  // 0: empty
    uint32_t hash;
    uint32_t length;
    char data[kInline];  // the bytes, zero-padded, or (longer chunks) their offset in long_bytes_
  };
  std::string_view view(const Slot& s) const;
  void grow();
  std::vector<Slot> slots_;
  std::vector<char> long_bytes_;
  size_t size_ = 0;
  uint64_t total_ = 0;
};

// Pre-tokenizes and counts a corpus fed as documents, each whole or in consecutive pieces.
class ChunkCounter {
 public:
  // `pattern` as Pretokenizer::create takes it. `unit_bytes` is the size of the work units the text is
  // cut into for the threads (tests make it tiny to exercise the cutting).
  ChunkCounter(const std::string& pattern, std::vector<std::string> special_tokens,
               size_t unit_bytes = size_t(1) << 20);
  ~ChunkCounter();
  ChunkCounter(const ChunkCounter&) = delete;
  ChunkCounter& operator=(const ChunkCounter&) = delete;

  // Adds a piece of the current document (UTF-8; a multi-byte character may straddle two pieces);
  // `ends_document` marks its last piece. Text up to the last safe cut is counted now, the rest kept.
  void add(std::string_view piece, bool ends_document);
  // Adds whole documents (after any unfinished one has been ended).
  void add_documents(const std::vector<std::string_view>& documents);
  // Merges the per-thread tables into one and hands it over; the counter is then empty.
  ChunkTable finish();

 private:
  // `unfinished`: documents holds one piece of the document add() is receiving (errors give its offset).
  void count(const std::vector<std::string_view>& documents, bool unfinished);
  void cut(std::string_view document, std::vector<std::string_view>& units) const;
  // Counts the chunks of one unit into `table`; `spans` and `next` are scratch space.
  void count_unit(std::string_view text, ChunkTable& table, std::vector<Span>& spans, std::vector<size_t>& next) const;

  Pretokenizer pretokenizer_;
  std::vector<std::string> specials_;
  size_t unit_bytes_;
  bool cuttable_;               // whether documents may be cut at the boundaries safe_cut() finds
  std::string carry_;           // the unfinished document's text not yet counted
  uint64_t carry_offset_ = 0;   // where carry_ begins in that document (for error messages)
  std::vector<ChunkTable> tables_;  // one per thread
};

struct BpeTrainResult {
  std::vector<std::string> vocab;                     // bytes of each token id: the 256 bytes, then merges
  std::vector<std::pair<uint32_t, uint32_t>> merges;  // (left id, right id); merge i makes token 256 + i
};

// Learns up to `num_merges` merges, stopping early when no pair occurs at least max(1, min_frequency)
// times. `progress(done)` is called every `progress_every` merges and after the last one, when set.
BpeTrainResult train_bpe(const ChunkTable& chunks, size_t num_merges, uint64_t min_frequency,
                         const std::function<void(size_t)>& progress = {}, size_t progress_every = 64);

}  // namespace pyllm::text
