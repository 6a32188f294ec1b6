// A backtracking regex engine over code points, for custom pre-tokenizer patterns. The syntax is what
// tokenizer patterns use (text/regex_parse.cpp lists it); the semantics are leftmost-first backtracking,
// as in Python's regex module and Rust's fancy-regex (tiktoken), with these choices:
//  * (?i) is Unicode simple case folding (CaseFolding.txt C+S): 's' also matches U+017F, 'k' the Kelvin
//    sign; no Turkic i/I pairs (Python's regex module adds them, Rust's regex does not). It applies to
//    \p{..} classes too: (?i)\p{Lu} also matches the other cases of upper-case letters.
//  * '$' and \z, \Z match only at the end of the text (Rust's '$'; Python's also matches before a final \n);
//    '^' and \A only at its start; '.' is any code point but \n.
//  * \s is White_Space, \d is \p{Nd}, \w is UTS #18's word class; \b, \B use that \w.
// A search gives up with ValueError after a step budget proportional to the text (1e8 + 2000 steps a byte),
// so a pattern that backtracks catastrophically fails fast instead of hanging.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/pretokenize.h"

namespace pyllm::text {

class Regex {
 public:
  // Compiles `pattern`; ValueError naming the pattern and the position of unsupported syntax.
  explicit Regex(const std::string& pattern);

  // Appends every match, as findall does: leftmost first, non-overlapping; after an empty match the next
  // match may start at the same place only if it is not empty. `text` must be valid UTF-8 (ValueError).
  void find_all(std::string_view text, std::vector<Span>& out) const;

  // Whether the pattern matches at byte `start` of `text` (valid UTF-8); if so, where the match ends.
  bool match_at(std::string_view text, size_t start, size_t* end) const;

  struct Program;

 private:
  std::string pattern_;
  std::shared_ptr<const Program> program_;
};

}  // namespace pyllm::text
