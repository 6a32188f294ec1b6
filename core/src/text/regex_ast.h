// The parsed form of a regex (text/regex_parse.cpp builds it, text/regex.cpp compiles and runs it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "text/char_set.h"

namespace pyllm::text::regex_ast {

enum class Kind : uint8_t {
  kEmpty,   // matches the empty string
  kSet,     // one code point from sets[set]
  kConcat,  // children in sequence
  kAlt,     // the first child that leads to a match
  kRepeat,  // children[0], min..max times
  kAtomic,  // (?>children[0]): its first match, never backtracked into
  kLook,    // (?=children[0]) or, negated, (?!children[0])
  kAssert,  // a zero-width anchor
};
enum class Greed : uint8_t { kGreedy, kLazy, kPossessive };
enum class Anchor : uint8_t { kBegin, kEnd, kWordBoundary, kNotWordBoundary };
inline constexpr uint32_t kUnbounded = UINT32_MAX;

struct Node {
  Kind kind = Kind::kEmpty;
  std::vector<Node> children;
  uint32_t set = 0;
  uint32_t min = 0, max = 0;
  Greed greed = Greed::kGreedy;
  bool negate = false;
  Anchor anchor = Anchor::kBegin;
};

struct Parsed {
  Node root;
  std::vector<CharSet> sets;  // finished
};

// Parses `pattern`; ValueError naming the pattern and the position (in code points) of what it cannot handle.
Parsed parse(const std::string& pattern);

// "regex '<pattern>': <problem> at position <pos>", the message of every pattern error.
std::string error_message(const std::string& pattern, size_t pos, const std::string& problem);

}  // namespace pyllm::text::regex_ast
