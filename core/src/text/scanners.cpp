#include "text/scanners.h"

#include <array>
#include <cstdint>

#include "text/unicode_tables.h"
#include "text/utf8.h"

namespace pyllm::text {
namespace {

// What the patterns ask of a character, as bits.
enum : uint8_t {
  kLetter = 1,    // \p{L}
  kNumber = 2,    // \p{N}
  kSpace = 4,     // \s (White_Space)
  kUpper = 8,     // o200k's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
  kLower = 16,    // o200k's [\p{Ll}\p{Lm}\p{Lo}\p{M}]
  kNewline = 32,  // \r or \n
};

constexpr uint8_t flags_of(uint8_t props) {
  using namespace unicode;
  const auto cat = static_cast<Category>(props & kCategoryBits);
  uint8_t f = (props & kWhiteSpace) ? kSpace : 0;
  switch (cat) {
    case kLu: case kLt: f |= kLetter | kUpper; break;
    case kLl: f |= kLetter | kLower; break;
    case kLm: case kLo: f |= kLetter | kUpper | kLower; break;
    case kMn: case kMc: case kMe: f |= kUpper | kLower; break;
    case kNd: case kNl: case kNo: f |= kNumber; break;
    default: break;
  }
  return f;
}

// Flags by property byte (category | White_Space | \w: 7 bits).
constexpr std::array<uint8_t, 128> make_prop_flags() {
  std::array<uint8_t, 128> t{};
  for (int p = 0; p < 128; ++p) t[p] = flags_of(static_cast<uint8_t>(p));
  return t;
}
constexpr std::array<uint8_t, 128> kPropFlags = make_prop_flags();

// Flags of the ASCII characters, filled from the tables once (they are not constexpr: defined in another file).
struct AsciiFlags {
  uint8_t f[128];
  AsciiFlags() {
    for (int c = 0; c < 128; ++c) f[c] = kPropFlags[unicode::properties(c) & 0x7f];
    f[uint8_t('\r')] |= kNewline;
    f[uint8_t('\n')] |= kNewline;
  }
};
const AsciiFlags kAscii;

struct Char {
  uint32_t len;
  uint8_t flags;
};

inline Char char_at(const uint8_t* s, size_t n, size_t i) {
  if (s[i] < 0x80) return {1, kAscii.f[s[i]]};
  const utf8::Decoded d = utf8::decode(s, n, i);
  return {d.len, kPropFlags[unicode::properties(d.cp) & 0x7f]};
}

// The end of the run, from i, of characters whose flags satisfy `keep`.
template <class Keep>
inline size_t run_end(const uint8_t* s, size_t n, size_t i, Keep keep) {
  while (i < n) {
    if (s[i] < 0x80) {
      if (!keep(kAscii.f[s[i]])) break;
      ++i;
    } else {
      const Char c = char_at(s, n, i);
      if (!keep(c.flags)) break;
      i += c.len;
    }
  }
  return i;
}

inline bool is_letter(uint8_t f) { return f & kLetter; }
inline bool is_number(uint8_t f) { return f & kNumber; }
inline bool is_lower(uint8_t f) { return f & kLower; }
inline bool is_upper(uint8_t f) { return f & kUpper; }
inline bool is_other(uint8_t f) { return !(f & (kLetter | kNumber | kSpace)); }  // [^\s\p{L}\p{N}]

// \p{N}{1,3} from a number at i.
inline size_t numbers_upto3(const uint8_t* s, size_t n, size_t i) {
  for (int k = 0; k < 3 && i < n; ++k) {
    const Char c = char_at(s, n, i);
    if (!(c.flags & kNumber)) break;
    i += c.len;
  }
  return i;
}

inline uint8_t ascii_lower(uint8_t b) { return (b >= 'A' && b <= 'Z') ? b | 0x20 : b; }

// The end of a contraction at s[i] == '\'': 's 'd 'm 't 'll 've 're, or 0. With ignore_case, (?i) as Unicode
// simple case folding has it: upper case too, and U+017F (long s) for s.
inline size_t contraction(const uint8_t* s, size_t n, size_t i, bool ignore_case) {
  const size_t j = i + 1;
  if (j >= n) return 0;
  if (ignore_case && s[j] == 0xC5 && j + 1 < n && s[j + 1] == 0xBF) return j + 2;
  const uint8_t c = ignore_case ? ascii_lower(s[j]) : s[j];
  switch (c) {
    case 's': case 'd': case 'm': case 't':
      return j + 1;
    case 'l': case 'v': case 'r': {
      if (j + 1 >= n) return 0;
      const uint8_t c2 = ignore_case ? ascii_lower(s[j + 1]) : s[j + 1];
      return c2 == (c == 'l' ? 'l' : 'e') ? j + 2 : 0;
    }
    default:
      return 0;
  }
}

// A run of white space from i (s[i] is white space).
struct SpaceRun {
  size_t end;          // the first non-space byte (or n)
  size_t last;         // where the run's last character starts
  size_t after_break;  // just past the run's last \r or \n; 0 if it has none
};

inline SpaceRun space_run(const uint8_t* s, size_t n, size_t i) {
  SpaceRun r{i, i, 0};
  while (r.end < n) {
    const Char c = char_at(s, n, r.end);
    if (!(c.flags & kSpace)) break;
    r.last = r.end;
    r.end += c.len;
    if (c.flags & kNewline) r.after_break = r.end;
  }
  return r;
}

// \s+(?!\S) then \s+ (or \s): all of a run that ends the text, else all but its last character (which then
// prefixes the next chunk), or the single character of a one-character run.
inline size_t space_back_off(const SpaceRun& r, size_t i, size_t n) {
  if (r.end == n) return n;
  return r.last > i ? r.last : r.end;
}

// ---- gpt2 ----

size_t gpt2_chunk(const uint8_t* s, size_t n, size_t i) {
  if (s[i] == '\'') {
    if (size_t e = contraction(s, n, i, false)) return e;
  }
  size_t start = i;
  Char first = char_at(s, n, i);
  if (s[i] == ' ' && i + 1 < n) {  // ' ?' before a letter, number or other run
    const Char next = char_at(s, n, i + 1);
    if (!(next.flags & kSpace)) {
      start = i + 1;
      first = next;
    }
  }
  if (first.flags & kLetter) return run_end(s, n, start + first.len, is_letter);
  if (first.flags & kNumber) return run_end(s, n, start + first.len, is_number);
  if (!(first.flags & kSpace)) return run_end(s, n, start + first.len, is_other);
  return space_back_off(space_run(s, n, i), i, n);
}

// ---- cl100k ----

inline bool is_break(uint8_t b) { return b == '\r' || b == '\n'; }

size_t cl100k_chunk(const uint8_t* s, size_t n, size_t i) {
  if (s[i] == '\'') {
    if (size_t e = contraction(s, n, i, true)) return e;
  }
  const Char c = char_at(s, n, i);
  if (c.flags & kLetter) return run_end(s, n, i + c.len, is_letter);
  const size_t j = i + c.len;
  if (!(c.flags & (kNumber | kNewline)) && j < n) {  // [^\r\n\p{L}\p{N}]?+\p{L}++
    const Char d = char_at(s, n, j);
    if (d.flags & kLetter) return run_end(s, n, j + d.len, is_letter);
  }
  if (c.flags & kNumber) return numbers_upto3(s, n, i);
  size_t start = i;  // ' ?[^\s\p{L}\p{N}]++[\r\n]*+'
  if (s[i] == ' ' && j < n && is_other(char_at(s, n, j).flags)) start = j;
  if (start != i || is_other(c.flags)) {
    size_t e = run_end(s, n, start, is_other);
    while (e < n && is_break(s[e])) ++e;
    return e;
  }
  const SpaceRun r = space_run(s, n, i);
  if (r.end == n) return n;               // \s++$
  if (r.after_break) return r.after_break;  // \s*[\r\n]
  return space_back_off(r, i, n);
}

// ---- o200k ----

// The end of a contraction suffix (?i:'s|'t|'re|'ve|'m|'ll|'d)? at i.
inline size_t contraction_suffix(const uint8_t* s, size_t n, size_t i) {
  if (i < n && s[i] == '\'') {
    if (size_t e = contraction(s, n, i, true)) return e;
  }
  return i;
}

// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ from i, as backtracking finds it: the whole
// upper run then a lower run if a lower-only letter follows it; otherwise the upper run gives back
// characters until its last one that is also lower (Lm, Lo, M), which alone forms the [...]+. 0: no match.
size_t o200k_lower_word(const uint8_t* s, size_t n, size_t i) {
  size_t j = i, last_lower_end = 0;
  while (j < n) {
    const Char c = char_at(s, n, j);
    if (!(c.flags & kUpper)) {
      if (c.flags & kLower) return contraction_suffix(s, n, run_end(s, n, j + c.len, is_lower));
      break;
    }
    j += c.len;
    if (c.flags & kLower) last_lower_end = j;
  }
  return last_lower_end ? contraction_suffix(s, n, last_lower_end) : 0;
}

// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]* from i. 0: no match.
size_t o200k_upper_word(const uint8_t* s, size_t n, size_t i) {
  const size_t j = run_end(s, n, i, is_upper);
  if (j == i) return 0;
  return contraction_suffix(s, n, run_end(s, n, j, is_lower));
}

size_t o200k_chunk(const uint8_t* s, size_t n, size_t i) {
  const Char c = char_at(s, n, i);
  const size_t j = i + c.len;
  const bool prefix = !(c.flags & (kLetter | kNumber | kNewline));  // [^\r\n\p{L}\p{N}]?
  const bool wordish = c.flags & (kUpper | kLower);                  // can start a word without the prefix
  // The first two alternatives, each trying with the optional prefix character first, then without.
  if (prefix) {
    if (size_t e = o200k_lower_word(s, n, j)) return e;
  }
  if (wordish) {
    if (size_t e = o200k_lower_word(s, n, i)) return e;
  }
  if (prefix) {
    if (size_t e = o200k_upper_word(s, n, j)) return e;
  }
  if (wordish) {
    if (size_t e = o200k_upper_word(s, n, i)) return e;
  }
  if (c.flags & kNumber) return numbers_upto3(s, n, i);
  size_t start = i;  // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
  if (s[i] == ' ' && j < n && is_other(char_at(s, n, j).flags)) start = j;
  if (start != i || is_other(c.flags)) {
    size_t e = run_end(s, n, start, is_other);
    while (e < n && (is_break(s[e]) || s[e] == '/')) ++e;
    return e;
  }
  const SpaceRun r = space_run(s, n, i);
  if (r.after_break) return r.after_break;  // \s*[\r\n]+
  return space_back_off(r, i, n);
}

template <size_t (*Chunk)(const uint8_t*, size_t, size_t)>
void split_with(std::string_view text, std::vector<Span>& out) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  out.reserve(out.size() + n / 3 + 1);  // English runs ~3.7 bytes a chunk: growing the vector would cost more than the scan
  for (size_t i = 0; i < n;) {
    const size_t e = Chunk(s, n, i);
    out.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(e)});
    i = e;
  }
}

}  // namespace

void split_gpt2(std::string_view text, std::vector<Span>& out) { split_with<gpt2_chunk>(text, out); }
void split_cl100k(std::string_view text, std::vector<Span>& out) { split_with<cl100k_chunk>(text, out); }
void split_o200k(std::string_view text, std::vector<Span>& out) { split_with<o200k_chunk>(text, out); }

}  // namespace pyllm::text
