#include "text/bert_chars.h"

#include <algorithm>
#include <iterator>

namespace pyllm::text::bert {

namespace {

#include "text/bert_chars_data.inc"

constexpr char32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;

// The entry of c in a generated mapping (keys sorted; c must be one of them).
template <size_t N, size_t D>
void append_mapped(char32_t c, const uint32_t (&keys)[N], const uint32_t (&spans)[N], const char32_t (&data)[D],
                   std::u32string& out) {
  size_t i = std::lower_bound(std::begin(keys), std::end(keys), uint32_t(c)) - std::begin(keys);
  uint32_t span = spans[i];
  out.append(data + (span >> 8), span & 0xFF);
}

// Code points 0-127 are the first flag block.
static_assert(kFlagIndex[0] == 0);
constexpr std::array<uint8_t, 128> ascii_flags() {
  std::array<uint8_t, 128> out{};
  for (size_t c = 0; c < 128; ++c) out[c] = kFlagBlocks[c];
  return out;
}

}  // namespace

const std::array<uint8_t, 128> kAsciiFlags = ascii_flags();

uint8_t flags_beyond_ascii(char32_t c) {
  if (c >= 0x110000) return 0;
  return kFlagBlocks[size_t(kFlagIndex[c / 128]) * 128 + c % 128];
}

void append_decomposition(char32_t c, std::u32string& out) {
  if (c >= kHangulFirst && c <= kHangulLast) {  // Hangul syllables decompose arithmetically into jamo
    char32_t s = c - kHangulFirst;
    out.push_back(0x1100 + s / 588);
    out.push_back(0x1161 + (s % 588) / 28);
    if (s % 28) out.push_back(0x11A7 + s % 28);
    return;
  }
  append_mapped(c, kDecompKeys, kDecompSpans, kDecompData, out);
}

void append_lowercase(char32_t c, std::u32string& out) {
  append_mapped(c, kLowerKeys, kLowerSpans, kLowerData, out);
}

uint8_t combining_class(char32_t c) {
  if (!(flags(c) & kCombining)) return 0;
  auto it = std::lower_bound(std::begin(kCombiningKeys), std::end(kCombiningKeys), uint32_t(c));
  return kCombiningClasses[it - std::begin(kCombiningKeys)];
}

}  // namespace pyllm::text::bert
