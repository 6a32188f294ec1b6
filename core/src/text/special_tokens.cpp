#include "text/special_tokens.h"

#include <algorithm>
#include <cstring>

namespace pyllm::text {

SpecialMatcher::SpecialMatcher(std::vector<std::string> texts) : texts_(std::move(texts)) {
  for (size_t i = 0; i < texts_.size(); ++i) by_first_byte_[uint8_t(texts_[i][0])].push_back(uint32_t(i));
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [&](uint32_t a, uint32_t b) { return texts_[a].size() > texts_[b].size(); });
  }
}

bool SpecialMatcher::find(std::string_view text, size_t from, const std::vector<uint8_t>& enabled,
                          Match& match) const {
  // The bytes an enabled token can begin with; with a single one (usually '<') memchr does the scan.
  std::array<bool, 256> first{};
  int distinct = 0;
  uint8_t only = 0;
  for (size_t i = 0; i < texts_.size(); ++i) {
    uint8_t b = uint8_t(texts_[i][0]);
    if (enabled[i] && !first[b]) {
      first[b] = true;
      only = b;
      ++distinct;
    }
  }
  if (distinct == 0) return false;
  for (size_t pos = from; pos < text.size(); ++pos) {
    if (distinct == 1) {
      const void* hit = std::memchr(text.data() + pos, only, text.size() - pos);
      if (hit == nullptr) return false;
      pos = static_cast<const char*>(hit) - text.data();
    } else if (!first[uint8_t(text[pos])]) {
      continue;
    }
    for (uint32_t i : by_first_byte_[uint8_t(text[pos])]) {
      if (enabled[i] && text.compare(pos, texts_[i].size(), texts_[i]) == 0) {
        match = {pos, i};
        return true;
      }
    }
  }
  return false;
}

}  // namespace pyllm::text
