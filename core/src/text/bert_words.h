// BERT's normalizer and pre-tokenizer (HF's BertNormalizer + BertPreTokenizer, the BasicTokenizer of the
// original BERT): text -> the normalized words that WordPiece then splits into pieces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "text/bert_chars.h"

namespace pyllm::text {

struct BertNormalization {
  bool clean_text = true;            // drop control characters, NUL and U+FFFD; every whitespace becomes ' '
  bool handle_chinese_chars = true;  // each CJK ideograph is a word of its own
  bool strip_accents = true;         // NFD, then drop the nonspacing marks
  bool lowercase = true;
};

// Splits text into words: normalization, then a break at whitespace and around each punctuation character.
// HF normalizes the whole text before splitting; splitting the decomposed characters first and finishing
// each word afterwards gives the same words, because dropping marks and lowercasing never create or remove
// whitespace or punctuation (scripts/gen_bert_chars.py checks this of its tables). Keeps its buffers
// between calls: one splitter per thread.
class BertWordSplitter {
 public:
  explicit BertWordSplitter(BertNormalization options) : options_(options) {}

  // Calls emit(word, n_chars) for each word of `text` (UTF-8) in order; `word` is UTF-8, never empty, and
  // valid during the call only; n_chars counts its code points.
  template <typename Emit>
  void split(std::string_view text, Emit&& emit) {
    word_.clear();
    size_t i = 0;
    while (i < text.size()) {
      uint8_t byte = uint8_t(text[i]);
      if (byte < 0x80) {  // ASCII: nothing to decompose, no CJK
        ++i;
        uint8_t f = bert::kAsciiFlags[byte];
        if (!(options_.clean_text && (f & bert::kDrop))) add(byte, f, emit);
        continue;
      }
      bool alone = next_char(text, i);  // chars_: the next character, cleaned and decomposed
      if (alone) flush(emit);
      for (char32_t c : chars_) add(c, bert::flags(c), emit);
      if (alone) flush(emit);
    }
    flush(emit);
  }

 private:
  // Reads the character at text[i] (advancing i) into chars_: nothing if cleaning drops it, ' ' for
  // whitespace, its canonical decomposition when stripping accents. True for a CJK ideograph (a word alone).
  bool next_char(std::string_view text, size_t& i);
  // Turns word_ into utf8_ (reordering marks, dropping nonspacing ones, lowercasing); false if none is left.
  bool finish_word();

  template <typename Emit>
  void add(char32_t c, uint8_t flags, Emit& emit) {
    if (flags & bert::kWhitespace) {
      flush(emit);
    } else if (flags & bert::kPunct) {
      flush(emit);
      word_.push_back(c);
      flush(emit);
    } else {
      word_.push_back(c);
    }
  }

  template <typename Emit>
  void flush(Emit& emit) {
    if (!word_.empty() && finish_word()) emit(std::string_view(utf8_), n_chars_);
    word_.clear();
  }

  BertNormalization options_;
  std::u32string chars_;  // the current input character, normalized
  std::u32string word_;   // the current word's characters
  std::u32string lowered_;
  std::string utf8_;      // the finished word
  size_t n_chars_ = 0;
};

}  // namespace pyllm::text
