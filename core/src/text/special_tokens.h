// Finding special tokens (e.g. "<|endoftext|>") in text: the leftmost occurrence of any token of a
// chosen subset, the longest one where several begin at the same byte.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pyllm::text {

class SpecialMatcher {
 public:
  explicit SpecialMatcher(std::vector<std::string> texts);  // texts: non-empty

  struct Match {
    size_t pos;    // byte offset in the text
    size_t index;  // which token (its index in the constructor's list)
  };
  // The first match at or after `from` among the tokens i with enabled[i] != 0; false if none.
  bool find(std::string_view text, size_t from, const std::vector<uint8_t>& enabled, Match& match) const;

 private:
  std::vector<std::string> texts_;
  std::array<std::vector<uint32_t>, 256> by_first_byte_;  // token indices, longest first
};

}  // namespace pyllm::text
