// Pre-tokenization: splitting text into the chunks that byte-level BPE encodes one at a time, as the
// regex of GPT-2, cl100k_base or o200k_base does (findall semantics: chunks in order; text no match
// covers is dropped, as tiktoken drops it). Built-in patterns run as hand-written scanners; any other
// pattern runs on pyllm's own regex engine (text/regex.h), which supports the syntax these patterns use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pyllm::text {

// A chunk: bytes [begin, end) of the UTF-8 input.
struct Span {
  uint32_t begin;
  uint32_t end;
};

class Pretokenizer {
 public:
  // "gpt2", "cl100k", "o200k" (the built-in scanners), "none" (the whole text is one chunk) or a regex
  // (ValueError naming the pattern and the position of unsupported syntax).
  static Pretokenizer create(const std::string& pattern);

  // Appends the chunks of `text` (valid UTF-8) to `out`. The built-in scanners never throw (malformed
  // UTF-8 bytes read as one-byte non-letters) and their chunks tile the text. A custom regex may yield empty
  // chunks (findall's empty matches) and throws ValueError on invalid UTF-8 or when it backtracks past its
  // step budget (text/regex.h). Safe to call from many threads at once.
  void split(std::string_view text, std::vector<Span>& out) const;
  const std::string& pattern() const { return pattern_; }
  // The regex a built-in name stands for (tiktoken's), or the pattern itself.
  static std::string regex_of(const std::string& pattern);

  class Impl;

 private:
  std::string pattern_;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace pyllm::text
