// UTF-8 decoding and encoding. Decoding never reads past the end and never fails: a malformed or truncated
// sequence reads as one byte holding U+FFFD, so scanners stay memory-safe on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pyllm::text::utf8 {

inline constexpr uint32_t kReplacement = 0xFFFD;

struct Decoded {
  uint32_t cp;   // the code point
  uint32_t len;  // its length in bytes (1 for a malformed byte)
};

inline bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// The code point starting at s[i], i < n.
inline Decoded decode(const uint8_t* s, size_t n, size_t i) {
  const uint8_t b0 = s[i];
  if (b0 < 0x80) return {b0, 1};
  if (b0 < 0xC2) return {kReplacement, 1};  // a continuation byte, or an overlong 2-byte lead
  if (b0 < 0xE0) {
    if (i + 1 >= n || !is_continuation(s[i + 1])) return {kReplacement, 1};
    return {(uint32_t(b0 & 0x1F) << 6) | (s[i + 1] & 0x3F), 2};
  }
  if (b0 < 0xF0) {
    if (i + 2 >= n || !is_continuation(s[i + 1]) || !is_continuation(s[i + 2])) return {kReplacement, 1};
    const uint32_t cp = (uint32_t(b0 & 0x0F) << 12) | (uint32_t(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000)) return {kReplacement, 1};  // overlong, or a surrogate
    return {cp, 3};
  }
  if (b0 < 0xF5) {
    if (i + 3 >= n || !is_continuation(s[i + 1]) || !is_continuation(s[i + 2]) || !is_continuation(s[i + 3]))
      return {kReplacement, 1};
    const uint32_t cp = (uint32_t(b0 & 0x07) << 18) | (uint32_t(s[i + 1] & 0x3F) << 12) |
                        (uint32_t(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return {kReplacement, 1};
    return {cp, 4};
  }
  return {kReplacement, 1};
}

inline Decoded decode(std::string_view s, size_t i) {
  return decode(reinterpret_cast<const uint8_t*>(s.data()), s.size(), i);
}

// The start of the code point that ends at byte i (0 < i <= n) of valid UTF-8.
inline size_t previous(const uint8_t* s, size_t i) {
  do --i;
  while (i > 0 && is_continuation(s[i]));
  return i;
}

// Writes the 1-4 bytes of cp (a scalar value: not a surrogate, at most U+10FFFF) to out; returns the count.
inline size_t encode(uint32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

inline void append(std::string& out, uint32_t cp) {
  char buf[4];
  out.append(buf, encode(cp, buf));
}

// Whether s is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
inline bool is_valid(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const Decoded d = decode(p, n, i);
    if (d.len == 1) return false;  // every valid multi-byte sequence decodes to 2-4 bytes
    i += d.len;
  }
  return true;
}

}  // namespace pyllm::text::utf8
