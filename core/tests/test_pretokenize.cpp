// The Unicode tables, the UTF-8 helpers, the built-in scanners and the regex engine (the Python tests
// compare all of them with the regex module and tiktoken at scale; these pin the details).
#include <string>
#include <vector>

#include "pyllm/error.h"
#include "test_util.h"
#include "text/pretokenize.h"
#include "text/regex.h"
#include "text/unicode_tables.h"
#include "text/utf8.h"

using namespace pyllm;
using namespace pyllm::text;

namespace {

std::vector<std::string> chunks(const std::string& pattern, const std::string& text) {
  std::vector<Span> spans;
  Pretokenizer::create(pattern).split(text, spans);
  std::vector<std::string> out;
  for (const Span& s : spans) out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

using Chunks = std::vector<std::string>;

}  // namespace

PYLLM_TEST(unicode_categories) {
  using namespace unicode;
  EXPECT(category('A') == kLu && category('z') == kLl && category('5') == kNd && category(' ') == kZs);
  EXPECT(category(0x01C5) == kLt && category(0x02B0) == kLm && category(0x4E2D) == kLo);
  EXPECT(category(0x0301) == kMn && category(0x0903) == kMc && category(0x20DD) == kMe);
  EXPECT(category(0x2163) == kNl && category(0x00B2) == kNo && category(0xE000) == kCo);
  EXPECT(category(0x0295) == kLo);  // Ll before Unicode 17
  EXPECT(category(0x0378) == kCn && category(0x10FFFF) == kCn && category(0x110000) == kCn);
  EXPECT(std::string(kUnicodeVersion) == "18.0.0");
}

PYLLM_TEST(unicode_white_space_and_word) {
  using namespace unicode;
  for (uint32_t cp : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au, 0x2028u,
                      0x2029u, 0x202Fu, 0x205Fu, 0x3000u})
    EXPECT(is_white_space(cp));
  for (uint32_t cp : {0x1Cu, 0x1Fu, 0x180Eu, 0x200Bu, 0xFEFFu, uint32_t('a')}) EXPECT(!is_white_space(cp));
  for (uint32_t cp : {uint32_t('a'), uint32_t('_'), uint32_t('7'), 0x0301u, 0x200Du, 0x24B6u /* circled A */})
    EXPECT(is_word(cp));
  for (uint32_t cp : {uint32_t('-'), uint32_t(' '), 0x00B2u /* superscript two: No */}) EXPECT(!is_word(cp));
}

PYLLM_TEST(unicode_case_orbits) {
  using unicode::next_in_case_orbit;
  EXPECT(next_in_case_orbit('a') == 'A' && next_in_case_orbit('A') == 'a');
  // k, K and the Kelvin sign form one orbit of three.
  EXPECT(next_in_case_orbit('K') == 'k' && next_in_case_orbit('k') == 0x212A && next_in_case_orbit(0x212A) == 'K');
  EXPECT(next_in_case_orbit('1') == '1' && next_in_case_orbit(0x4E2D) == 0x4E2D);
  uint32_t cp = 's';  // s, S and U+017F
  int n = 0;
  do {
    cp = next_in_case_orbit(cp);
    ++n;
  } while (cp != 's' && n < 10);
  EXPECT(n == 3);
}

PYLLM_TEST(utf8_round_trip) {
  for (uint32_t cp : {0x0u, 0x41u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xFFFDu, 0xFFFFu, 0x10000u, 0x1F600u, 0x10FFFFu}) {
    std::string s;
    utf8::append(s, cp);
    EXPECT(s.size() == (cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u));
    const utf8::Decoded d = utf8::decode(s, 0);
    EXPECT(d.cp == cp && d.len == s.size());
    EXPECT(utf8::is_valid(s));
    EXPECT(utf8::previous(reinterpret_cast<const uint8_t*>(s.data()), s.size()) == 0);
  }
}

PYLLM_TEST(utf8_malformed_reads_as_one_byte) {
  for (const std::string& bad : {std::string("\x80"), std::string("\xC0\xAF"), std::string("\xE0\x80\xAF"),
                                 std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80"), std::string("\xE4\xB8"),
                                 std::string("\xF0\x9F\x98"), std::string("\xFF")}) {
    const utf8::Decoded d = utf8::decode(bad, 0);
    EXPECT(d.cp == utf8::kReplacement && d.len == 1);
    EXPECT(!utf8::is_valid(bad));
  }
}

PYLLM_TEST(scanners_known_chunks) {
  EXPECT(chunks("gpt2", "Hello world's   end\n") == (Chunks{"Hello", " world", "'s", "  ", " end", "\n"}));
  EXPECT(chunks("gpt2", "a 123 ?!x") == (Chunks{"a", " 123", " ?!", "x"}));
  EXPECT(chunks("cl100k", "I'M 12345 \tword") == (Chunks{"I", "'M", " ", "123", "45", " ", "\tword"}));
  EXPECT(chunks("cl100k", "x  \n  ") == (Chunks{"x", "  \n  "}));
  EXPECT(chunks("o200k", "x  \n  ") == (Chunks{"x", "  \n", "  "}));
  EXPECT(chunks("o200k", "HTMLParser isn't OK") == (Chunks{"HTMLParser", " isn't", " OK"}));
  EXPECT(chunks("o200k", "\xE4\xB8\xAD" "AB.") == (Chunks{"\xE4\xB8\xAD", "AB", "."}));
  EXPECT(chunks("none", "a b") == (Chunks{"a b"}));
  for (const char* name : {"gpt2", "cl100k", "o200k", "none"}) EXPECT(chunks(name, "").empty());
}

PYLLM_TEST(scanners_survive_malformed_utf8) {
  const std::string bad = "ab\xE4\xB8 \xFF\xC3";  // truncated sequences, a stray byte, a lead byte at the end
  for (const char* name : {"gpt2", "cl100k", "o200k"}) {
    std::string joined;
    for (const std::string& c : chunks(name, bad)) joined += c;
    EXPECT(joined == bad);
  }
}

PYLLM_TEST(regex_engine_matches) {
  EXPECT(chunks(R"(\p{L}+|\d{1,2})", "ab12345c") == (Chunks{"ab", "12", "34", "5", "c"}));
  EXPECT(chunks(R"(\s+(?!\S)|\s+|\S+)", "a   b") == (Chunks{"a", "  ", " ", "b"}));
  EXPECT(chunks(R"((?i:'s|'ll)|\w+)", "it'S we'LL") == (Chunks{"it", "'S", "we", "'LL"}));
  EXPECT(chunks(R"((?i)k+)", "kK\xE2\x84\xAA" "x") == (Chunks{"kK\xE2\x84\xAA"}));  // with the Kelvin sign
  EXPECT(chunks(R"(a+?)", "aaa") == (Chunks{"a", "a", "a"}));
  EXPECT(chunks(R"(a{2,3}?a)", "aaaa") == (Chunks{"aaa"}));
  EXPECT(chunks(R"((?>a+)a|b)", "aaab") == (Chunks{"b"}));  // the atomic group never gives an a back
  EXPECT(chunks(R"(a++a|a+)", "aaa") == (Chunks{"aaa"}));
  EXPECT(chunks(R"((?=ab)a|b)", "abb") == (Chunks{"a", "b", "b"}));
  EXPECT(chunks(R"(^a|a$)", "aaa") == (Chunks{"a", "a"}));
  EXPECT(chunks(R"(\bw)", "w ww") == (Chunks{"w", "w"}));
  EXPECT(chunks(R"([^\s\p{L}\p{N}]+)", "a, b?! 3.") == (Chunks{",", "?!", "."}));
  EXPECT(chunks(R"((?:a|)*)", "aab") == (Chunks{"aa", "", ""}));  // an empty iteration ends the loop
  EXPECT(chunks(R"(a|)", "ab") == (Chunks{"a", "", ""}));
  EXPECT(chunks(R"(.)", "\xE4\xB8\xAD\n") == (Chunks{"\xE4\xB8\xAD"}));
  EXPECT(chunks(R"(\x{4e2d}|\u00e9)", "\xC3\xA9\xE4\xB8\xAD") == (Chunks{"\xC3\xA9", "\xE4\xB8\xAD"}));
}

PYLLM_TEST(regex_engine_match_at) {
  const Regex re(R"(\p{Lu}\p{Ll}+)");
  size_t end = 0;
  EXPECT(re.match_at("xHello", 1, &end) && end == 6);
  EXPECT(!re.match_at("xHello", 0, &end));
  EXPECT_THROWS(re.match_at("ab", 3, &end), IndexError);
  EXPECT_THROWS(re.match_at("\xFF", 0, &end), ValueError);
}

PYLLM_TEST(regex_engine_errors_name_pattern_and_position) {
  auto message = [](const std::string& pattern) -> std::string {
    try {
      Regex r(pattern);
    } catch (const ValueError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT(message("ab(?<=a)") == "regex 'ab(?<=a)': lookbehind is not supported at position 2");
  EXPECT(message("(a)\\1") == "regex '(a)\\1': a backreference is not supported at position 3");
  EXPECT(message("\xC3\xA9[") == "regex '\xC3\xA9[': an unterminated character class at position 1");
  EXPECT(message("a{2}{3}") == "regex 'a{2}{3}': a quantifier on a quantifier (wrap the first in a group) at position 4");
  EXPECT(message("\\p{Foo}").find("Unicode property 'Foo'") != std::string::npos);
  EXPECT(message("(?x)a").find("inline flag 'x'") != std::string::npos);
  EXPECT(message(R"(\p{L}+|\s)").empty());
  EXPECT_THROWS(Pretokenizer::create("(a"), ValueError);
}

PYLLM_TEST(regex_engine_step_budget) {
  std::vector<Span> out;
  EXPECT_THROWS(Pretokenizer::create("(a+)+b").split(std::string(40, 'a'), out), ValueError);
  // A long run is linear, not a budget problem: 2e5 spaces back off one character.
  out.clear();
  Pretokenizer::create(R"(\s+(?!\S)|\s+|\S+)").split(std::string(200000, ' ') + "x", out);
  EXPECT(out.size() == 3 && out[0].end == 199999);
}

PYLLM_TEST(regex_engine_rejects_invalid_utf8_text) {
  std::vector<Span> out;
  EXPECT_THROWS(Pretokenizer::create("a").split("a\xFF", out), ValueError);
}

namespace {

// Random texts from pieces that exercise every branch of the scanners: ASCII classes, multi-byte letters,
// marks, numbers and spaces, contractions, and (for the scanners only) malformed bytes.
std::string random_text(uint64_t& state, bool malformed) {
  static const char* const kPieces[] = {
      "a", "Z", "'", "'s", "'LL", "\xC5\xBF", " ", "  ", "\t", "\r\n", "\n", "\xE3\x80\x80", "\xC2\xA0", ".", "/",
      "7", "\xD9\xA3", "\xE4\xB8\xAD", "\xC7\x85", "\xCA\xB0", "\xCC\x81", "\xF0\x9F\x98\x80", "\xE2\x80\x8D", "!?"};
  static const char* const kMalformed[] = {"\xFF", "\x80", "\xE4\xB8", "\xF0\x9F", "\xC3"};
  std::string s;
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  const int pieces = static_cast<int>((state >> 33) % 24);
  for (int k = 0; k < pieces; ++k) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t r = state >> 33;
    if (malformed && r % 11 == 0)
      s += kMalformed[(r / 11) % 5];
    else
      s += kPieces[r % (sizeof(kPieces) / sizeof(kPieces[0]))];
  }
  return s;
}

}  // namespace

PYLLM_TEST(scanners_tile_random_texts) {
  uint64_t state = 42;
  std::vector<Span> spans;
  for (int trial = 0; trial < 3000; ++trial) {
    const std::string text = random_text(state, true);
    for (const char* name : {"gpt2", "cl100k", "o200k"}) {
      spans.clear();
      Pretokenizer::create(name).split(text, spans);
      uint32_t at = 0;
      for (const Span& s : spans) {
        EXPECT(s.begin == at && s.end > s.begin);
        at = s.end;
      }
      EXPECT(at == text.size());
    }
  }
}

PYLLM_TEST(regex_engine_agrees_with_scanners_on_random_texts) {
  uint64_t state = 7;
  std::vector<Span> a, b;
  for (const char* name : {"gpt2", "cl100k", "o200k"}) {
    const Pretokenizer scanner = Pretokenizer::create(name);
    const Pretokenizer engine = Pretokenizer::create(Pretokenizer::regex_of(name));
    for (int trial = 0; trial < 1000; ++trial) {
      const std::string text = random_text(state, false);
      a.clear();
      b.clear();
      scanner.split(text, a);
      engine.split(text, b);
      EXPECT(a.size() == b.size());
      for (size_t k = 0; k < a.size(); ++k) EXPECT(a[k].begin == b[k].begin && a[k].end == b[k].end);
    }
  }
}
