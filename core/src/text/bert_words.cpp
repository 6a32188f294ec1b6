#include "text/bert_words.h"

#include <algorithm>

#include "text/utf8.h"

namespace pyllm::text {

namespace {

// NFD's canonical ordering: each run of characters with nonzero combining classes sorted (stably) by class.
// Runs are a few marks long, so an insertion sort (stable, no allocation) does.
void reorder_marks(std::u32string& s) {
  for (size_t i = 1; i < s.size(); ++i) {
    uint8_t k = s[i] < 0x300 ? 0 : bert::combining_class(s[i]);
    if (k == 0) continue;
    char32_t c = s[i];
    size_t j = i;
    for (; j > 0; --j) {
      uint8_t prev = s[j - 1] < 0x300 ? 0 : bert::combining_class(s[j - 1]);
      if (prev <= k) break;  // a starter (class 0) ends the run
      s[j] = s[j - 1];
    }
    s[j] = c;
  }
}

}  // namespace

bool BertWordSplitter::next_char(std::string_view text, size_t& i) {
  chars_.clear();
  utf8::Decoded d = utf8::decode(text, i);
  i += d.len;
  char32_t c = d.cp;
  uint8_t f = bert::flags(c);
  if (options_.clean_text && (f & (bert::kDrop | bert::kSpace))) {
    if (f & bert::kSpace) chars_.push_back(U' ');
    return false;
  }
  if (options_.strip_accents && (f & bert::kDecomposes)) {
    bert::append_decomposition(c, chars_);
  } else {
    chars_.push_back(c);
  }
  return options_.handle_chinese_chars && bert::is_cjk(c);
}

bool BertWordSplitter::finish_word() {
  utf8_.clear();
  n_chars_ = word_.size();
  if (std::all_of(word_.begin(), word_.end(), [](char32_t c) { return c < 0x80; })) {  // no marks to handle
    for (char32_t c : word_) utf8_.push_back(char(options_.lowercase && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c));
    return true;
  }
  if (options_.strip_accents) reorder_marks(word_);
  n_chars_ = 0;
  for (char32_t c : word_) {
    uint8_t f = bert::flags(c);
    if (options_.strip_accents && (f & bert::kNonspacing)) continue;
    if (options_.lowercase && (f & bert::kLowercases)) {
      lowered_.clear();
      bert::append_lowercase(c, lowered_);
      for (char32_t l : lowered_) utf8::append(utf8_, l);
      n_chars_ += lowered_.size();
      continue;
    }
    utf8::append(utf8_, c);
    ++n_chars_;
  }
  return n_chars_ > 0;
}

}  // namespace pyllm::text
