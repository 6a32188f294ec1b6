// Reading and writing UTF-8 one code point at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pyllm::text {

// The code point starting at s[i]; advances i past it. A byte that does not start a well-formed sequence
// reads as U+FFFD and advances one byte, so malformed input never reads out of bounds.
inline char32_t next_utf8(std::string_view s, size_t& i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  uint8_t b = byte(i);
  if (b < 0x80) {
    ++i;
    return b;
  }
  if (b >= 0xC2 && b < 0xE0 && cont(i + 1)) {
    char32_t c = (char32_t(b & 0x1F) << 6) | (byte(i + 1) & 0x3F);
    i += 2;
    return c;
  }
  if (b >= 0xE0 && b < 0xF0 && cont(i + 1) && cont(i + 2)) {
    char32_t c = (char32_t(b & 0x0F) << 12) | (char32_t(byte(i + 1) & 0x3F) << 6) | (byte(i + 2) & 0x3F);
    if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
      i += 3;
      return c;
    }
  }
  if (b >= 0xF0 && b < 0xF5 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
    char32_t c = (char32_t(b & 0x07) << 18) | (char32_t(byte(i + 1) & 0x3F) << 12) |
                 (char32_t(byte(i + 2) & 0x3F) << 6) | (byte(i + 3) & 0x3F);
    if (c >= 0x10000 && c < 0x110000) {
      i += 4;
      return c;
    }
  }
  ++i;
  return 0xFFFD;
}

inline void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

}  // namespace pyllm::text
