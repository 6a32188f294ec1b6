// Byte-level BPE: an immutable model (token id <-> bytes, pair -> (priority, merged id), special tokens,
// a pre-tokenizer) that encodes UTF-8 text to ids and decodes ids to bytes.
//
// Two vocabularies exist in the wild and both are exact here:
//  - merges (HF tokenizers, GPT-2's vocab.bpe): a pair merges with the priority of its line in the list;
//  - ranks (tiktoken): a pair merges when its concatenation is a token, the lowest-ranked token first
//    (the rank is the id); a chunk that is itself a token encodes to it directly.
// Encoding: split out the allowed special tokens, pre-tokenize the rest into chunks, then encode each
// chunk — one table lookup when the chunk is a token, else the chunk cache, else the merge loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/bpe_cache.h"
#include "text/bpe_tables.h"
#include "text/pretokenize.h"
#include "text/special_tokens.h"

namespace pyllm::text {

class BPE {
 public:
  struct Token {
    std::string bytes;
    TokenId id;
  };
  struct Special {
    std::string text;  // UTF-8
    TokenId id;
  };
  // One flag per special token (in specials() order): which ones a call matches or rejects.
  using SpecialMask = std::vector<uint8_t>;

  // HF / GPT-2 vocabulary: `merges` lists (left id, right id) by priority; the merged token is the one
  // whose bytes are the concatenation. ignore_merges (HF's option of that name): a chunk that is a
  // token encodes to it directly even where the merges would not build it.
  static std::unique_ptr<BPE> from_merges(std::vector<Token> tokens,
                                          const std::vector<std::pair<TokenId, TokenId>>& merges,
                                          const std::string& pattern, std::vector<Special> specials,
                                          bool ignore_merges);
  // tiktoken vocabulary: the rank of a token is its id.
  static std::unique_ptr<BPE> from_ranks(std::vector<Token> tokens, const std::string& pattern,
                                         std::vector<Special> specials);

  // Appends the ids of `text` (valid UTF-8), special tokens' text encoded as ordinary text.
  void encode_ordinary(std::string_view text, std::vector<TokenId>& out) const;
  // Appends the ids of `text`; an occurrence of an `allowed` special token becomes its id. ValueError
  // (naming the token) if a `disallowed` one occurs anywhere in the text, as tiktoken does.
  void encode(std::string_view text, const SpecialMask& allowed, const SpecialMask& disallowed,
              std::vector<TokenId>& out) const;
  // encode() of each text on up to `num_threads` threads (0: all); each result equals a serial run.
  std::vector<std::vector<TokenId>> encode_batch(const std::vector<std::string_view>& texts,
                                                 const SpecialMask& allowed, const SpecialMask& disallowed,
                                                 int num_threads) const;
  // The ids of one pre-token chunk (no special tokens, no pre-tokenization).
  void encode_chunk(std::string_view chunk, std::vector<TokenId>& out) const;

  // The bytes of ids[0..n) concatenated; ValueError naming the first id that is not a token.
  std::string decode(const int64_t* ids, size_t n) const;
  bool has_id(int64_t id) const;
  std::string_view token_bytes(int64_t id) const;  // ValueError for an unknown id
  bool find_token(std::string_view bytes, TokenId& id) const;  // an ordinary (non-special) token

  size_t vocab_size() const { return entries_.size(); }  // 1 + the largest id
  size_t num_tokens() const { return num_tokens_; }      // ordinary tokens (ids may leave gaps)
  const std::vector<Special>& specials() const { return specials_; }
  const Pretokenizer& pretokenizer() const { return pre_; }
  bool uses_ranks() const { return uses_ranks_; }
  bool ignore_merges() const { return ignore_merges_; }

 private:
  BPE(std::vector<Token> tokens, const std::string& pattern, std::vector<Special> specials);
  void set_direct(const std::vector<uint8_t>& direct);  // direct[id]: a chunk of id's bytes encodes to id
  void encode_segments(std::string_view text, const SpecialMask& allowed, std::vector<Span>& spans,
                       std::vector<TokenId>& out) const;
  void check_disallowed(std::string_view text, const SpecialMask& disallowed) const;
  void check_mask(const SpecialMask& mask, const char* what) const;
  uint64_t hash_of(std::string_view s) const { return hash_bytes(s.data(), s.size()); }
  std::string_view ordinary_bytes(TokenId id) const {
    return {arena_.data() + entries_[id].at, entries_[id].len};
  }

  struct Entry {  // the bytes of an id in arena_
    uint32_t at = 0;
    uint32_t len = 0;
    bool ordinary = false;  // a vocabulary token
    bool special = false;   // a special token (decodes to its text; wins where both)
    uint32_t special_at = 0, special_len = 0;
  };
  std::string arena_;
  std::vector<Entry> entries_;  // by id
  size_t num_tokens_ = 0;
  TokenId byte_ids_[256];
  TokenTable tokens_;   // every ordinary token, bytes -> id
  TokenTable whole_;    // the tokens a chunk encodes to directly (all, or those the merges rebuild)
  PairTable pairs_;
  std::vector<Special> specials_;
  SpecialMatcher matcher_;
  Pretokenizer pre_;
  bool uses_ranks_ = false;
  bool ignore_merges_ = false;
  std::unique_ptr<ChunkCache> cache_;
};

}  // namespace pyllm::text
