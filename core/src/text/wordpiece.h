// BERT's WordPiece tokenizer, as Hugging Face's tokenizer.json describes it: added tokens matched in the raw
// text, BertNormalizer + BertPreTokenizer (bert_words.h), greedy longest-match-first WordPiece with "##"
// continuation pieces, TemplateProcessing ([CLS] A [SEP] B [SEP]) with longest-first truncation, and the
// WordPiece decoder.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/bert_words.h"
#include "text/prefix_trie.h"

namespace pyllm::text {

// A token matched in the raw text before normalization ("[CLS]", "[MASK]", ...), as HF's added tokens.
struct AddedToken {
  std::string content;
  int32_t id;
  bool special;  // decode(skip_special_tokens) leaves it out
  bool lstrip;   // the match also takes the whitespace before it
  bool rstrip;   // ... and after it
};

// One element of a post-processing template: a run of special-token ids, or one of the input sequences.
struct TemplatePiece {
  int sequence;              // -1: `ids`; 0: the first sequence; 1: the second
  std::vector<int32_t> ids;  // when sequence == -1
  int32_t type_id;
};

struct WordPieceOptions {
  std::string unk_token = "[UNK]";
  std::string continuing_prefix = "##";
  size_t max_input_chars_per_word = 100;  // longer words become the unknown token
  BertNormalization normalization;
  std::vector<AddedToken> added_tokens;
  std::vector<TemplatePiece> single_template, pair_template;  // empty: no special tokens to add
  bool wordpiece_decoder = true;  // decode joins "##" pieces to the token before; else tokens join with ' '
  bool decoder_cleanup = true;    // the WordPiece decoder removes the space before . , ! ? and in n't 's ...
};

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;  // 0 for the first sequence's part, 1 for the second's (as the template says)
};

class WordPieceTokenizer {
 public:
  // vocab: the model's token of each id. ValueError if the unknown token is not in it, or an added token's
  // id leaves a gap after the vocabulary or names a different token.
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options);

  // The ids of `text` (UTF-8) with no special tokens added, appended to `out`.
  void tokenize(std::string_view text, std::vector<int32_t>& out) const;
  // One sequence, or a pair when `second` is given: tokenized, truncated longest-first so that the result
  // (special tokens included) has at most max_length ids (0: no limit), then put into the template.
  // ValueError if max_length leaves no room for the special tokens.
  Encoding encode(std::string_view first, const std::string_view* second, bool add_special_tokens,
                  size_t max_length) const;
  // encode() of each text (or pair, when `second` is given: the same length as `first`), in parallel over
  // at most num_threads threads (0: pyllm's thread count).
  std::vector<Encoding> encode_batch(const std::vector<std::string_view>& first,
                                     const std::vector<std::string_view>* second, bool add_special_tokens,
                                     size_t max_length, int num_threads) const;
  // ValueError naming an id outside the vocabulary.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const;

  int32_t token_to_id(std::string_view token) const;  // -1 if absent
  const std::string& id_to_token(int64_t id) const;   // ValueError if absent
  size_t vocab_size() const { return tokens_.size(); }
  // The number of special tokens the template adds to one sequence (pair = false) or a pair.
  size_t num_special_tokens(bool pair) const { return pair ? pair_specials_ : single_specials_; }

 private:
  void tokenize_with(BertWordSplitter& splitter, std::string_view text, std::vector<int32_t>& out) const;
  void wordpiece(std::string_view word, size_t n_chars, std::vector<int32_t>& out) const;
  // A thread's reusable buffers.
  struct Scratch {
    explicit Scratch(const BertNormalization& options) : splitter(options) {}
    BertWordSplitter splitter;
    std::vector<int32_t> sequences[2];
  };
  Encoding encode_with(Scratch& scratch, std::string_view first, const std::string_view* second,
                       bool add_special_tokens, size_t max_length) const;
  void check_max_length(bool pair, bool add_special_tokens, size_t max_length) const;
  // The next added token at or after `from`: [begin, end) includes the whitespace it strips; false if none.
  bool find_added(std::string_view text, size_t from, size_t& begin, size_t& end, int32_t& id) const;

  WordPieceOptions options_;
  std::vector<std::string> tokens_;  // every id's token: the vocabulary, then added tokens beyond it
  std::vector<uint8_t> special_;     // per id: 1 for special added tokens
  std::unordered_map<std::string, int32_t> ids_;
  std::unique_ptr<PrefixTrie> initial_;       // every token, for a word's first piece
  std::unique_ptr<PrefixTrie> continuation_;  // tokens starting with the prefix, prefix removed
  int32_t unk_id_ = -1;
  std::vector<std::vector<size_t>> added_by_byte_;  // added tokens by first byte, longest first
  size_t single_specials_ = 0, pair_specials_ = 0;
  int32_t single_type_ = 0, pair_types_[2] = {0, 1};  // sequences' type ids without special tokens
};

}  // namespace pyllm::text
