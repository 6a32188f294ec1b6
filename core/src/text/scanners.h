// Hand-written scanners that cut text into exactly the chunks of tiktoken's split regexes (findall), without
// a regex engine: each decides at a chunk's first character which alternative of the pattern wins, as the
// backtracking engine would. The three patterns match at every position, so the chunks tile the text.
#pragma once

#include <string_view>
#include <vector>

#include "text/pretokenize.h"

namespace pyllm::text {

// r50k_base / gpt2: '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s
void split_gpt2(std::string_view text, std::vector<Span>& out);
// cl100k_base: '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$
//              |\s*[\r\n]|\s+(?!\S)|\s
void split_cl100k(std::string_view text, std::vector<Span>& out);
// o200k_base: the cased-word pattern (see pretokenize.cpp for the full string).
void split_o200k(std::string_view text, std::vector<Span>& out);

}  // namespace pyllm::text
