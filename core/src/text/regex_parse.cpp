// Regex syntax -> regex_ast::Node. Supported: literals and escapes (\n \t \r \f \v \a \e \0 \xhh \x{h..}
// \uhhhh \Uhhhhhhhh, escaped punctuation), '.', classes [...] with ranges, negation and escapes, \d \D \s \S
// \w \W, \p{..} \P{..} \pX (general categories, their groups, White_Space, Any), alternation, groups (...)
// (?:...) (?P<n>...) (?<n>...), atomic groups (?>...), inline flags (?i) (?-i) (?i:...) (?i-i:...),
// quantifiers ? * + {m} {m,} {m,n} {,n} (greedy, lazy with ?, possessive with +), lookahead (?=...) (?!...),
// anchors ^ $ \A \z \Z \b \B, comments (?#...). Anything else is an error, never a silent misreading.
#include <string>
#include <vector>

#include "pyllm/error.h"
#include "text/regex_ast.h"
#include "text/utf8.h"

namespace pyllm::text::regex_ast {

std::string error_message(const std::string& pattern, size_t pos, const std::string& problem) {
  return "regex '" + pattern + "': " + problem + " at position " + std::to_string(pos);
}

namespace {

constexpr int kMaxDepth = 200;  // groups nested deeper than this are refused (the parser recurses)

bool is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
int hex_value(uint32_t c) {
  if (c >= '0' && c <= '9') return int(c - '0');
  if (c >= 'a' && c <= 'f') return int(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return int(c - 'A' + 10);
  return -1;
}

// What an escape stands for: one code point, a set of them, or (outside classes) an anchor.
struct Escape {
  enum { kChar, kSet, kAnchor } kind = kChar;
  uint32_t cp = 0;
  CharSet set;
  Anchor anchor = Anchor::kBegin;
};

class Parser {
 public:
  explicit Parser(const std::string& pattern) : pattern_(pattern) {
    const auto* s = reinterpret_cast<const uint8_t*>(pattern.data());
    for (size_t i = 0; i < pattern.size();) {
      const utf8::Decoded d = utf8::decode(s, pattern.size(), i);
      PYLLM_CHECK(d.len > 1 || s[i] < 0x80, ValueError,
                  error_message(pattern, cps_.size(), "invalid UTF-8 in the pattern"));
      cps_.push_back(d.cp);
      i += d.len;
    }
  }

  Parsed run() {
    bool ci = false;
    Parsed out;
    out.root = alternation(ci, 0);
    if (i_ < cps_.size()) fail(i_, "unbalanced ')'");
    for (CharSet& s : sets_) s.finish();
    out.sets = std::move(sets_);
    return out;
  }

 private:
  [[noreturn]] void fail(size_t pos, const std::string& problem) const {
    throw ValueError(error_message(pattern_, pos, problem));
  }
  bool at_end() const { return i_ >= cps_.size(); }
  uint32_t peek(size_t ahead = 0) const { return i_ + ahead < cps_.size() ? cps_[i_ + ahead] : 0; }
  bool next_is(const char* s) const {
    for (size_t k = 0; s[k]; ++k)
      if (peek(k) != static_cast<unsigned char>(s[k])) return false;
    return true;
  }

  Node set_node(CharSet set, bool ci) {
    if (ci) set.close_over_case();
    sets_.push_back(std::move(set));
    Node n;
    n.kind = Kind::kSet;
    n.set = static_cast<uint32_t>(sets_.size() - 1);
    return n;
  }

  // alternation := concat ('|' concat)*; `ci` may be switched by (?i) for the rest of the group.
  Node alternation(bool& ci, int depth) {
    if (depth > kMaxDepth) fail(i_, "groups nested more than 200 deep");
    Node alt;
    alt.kind = Kind::kAlt;
    alt.children.push_back(concat(ci, depth));
    while (!at_end() && peek() == '|') {
      ++i_;
      alt.children.push_back(concat(ci, depth));
    }
    return alt.children.size() == 1 ? std::move(alt.children[0]) : alt;
  }

  Node concat(bool& ci, int depth) {
    Node seq;
    seq.kind = Kind::kConcat;
    while (!at_end() && peek() != '|' && peek() != ')') {
      Node atom;
      if (!this->atom(ci, depth, &atom)) continue;  // a flag switch or a comment: nothing to add
      quantifiers(&atom);
      seq.children.push_back(std::move(atom));
    }
    if (seq.children.empty()) return Node{};
    return seq.children.size() == 1 ? std::move(seq.children[0]) : seq;
  }

  // Parses `{m}`, `{m,}`, `{m,n}` or `{,n}` at i_ (on '{'); false (i_ unchanged) if it is not one, for then
  // the '{' is a literal, as in Python.
  bool counted(uint32_t* min, uint32_t* max) {
    size_t k = i_ + 1;
    auto number = [&](uint64_t* v) {
      const size_t from = k;
      *v = 0;
      while (k < cps_.size() && is_digit(cps_[k])) {
        *v = std::min<uint64_t>(*v * 10 + (cps_[k] - '0'), uint64_t(1) << 40);
        ++k;
      }
      return k > from;
    };
    uint64_t lo = 0, hi = 0;
    const bool has_lo = number(&lo);
    bool has_hi = false, comma = false;
    if (k < cps_.size() && cps_[k] == ',') {
      comma = true;
      ++k;
      has_hi = number(&hi);
    }
    if (k >= cps_.size() || cps_[k] != '}' || (!has_lo && !has_hi)) return false;
    if (!comma) hi = lo;
    if (lo > 100000 || (has_hi && hi > 100000)) fail(i_, "a repeat count over 100000");
    if ((!comma || has_hi) && hi < lo) fail(i_, "a repeat range {m,n} with n < m");
    *min = static_cast<uint32_t>(lo);
    *max = (comma && !has_hi) ? kUnbounded : static_cast<uint32_t>(hi);
    i_ = k + 1;
    return true;
  }

  void quantifiers(Node* atom) {
    bool quantified = false;
    while (!at_end()) {
      const size_t at = i_;
      uint32_t min = 0, max = 0;
      const uint32_t c = peek();
      if (c == '*') {
        min = 0, max = kUnbounded, ++i_;
      } else if (c == '+') {
        min = 1, max = kUnbounded, ++i_;
      } else if (c == '?') {
        min = 0, max = 1, ++i_;
      } else if (c != '{' || !counted(&min, &max)) {
        return;
      }
      if (quantified) fail(at, "a quantifier on a quantifier (wrap the first in a group)");
      if (atom->kind == Kind::kAssert || atom->kind == Kind::kLook)
        fail(at, "a quantified zero-width assertion is not supported");
      Node rep;
      rep.kind = Kind::kRepeat;
      rep.min = min;
      rep.max = max;
      if (peek() == '?' && !at_end()) {
        rep.greed = Greed::kLazy;
        ++i_;
      } else if (peek() == '+' && !at_end()) {
        rep.greed = Greed::kPossessive;
        ++i_;
      }
      rep.children.push_back(std::move(*atom));
      *atom = std::move(rep);
      quantified = true;
    }
  }

  // One atom into *out; false when the construct adds nothing (an inline flag switch, a comment).
  bool atom(bool& ci, int depth, Node* out) {
    const size_t start = i_;
    const uint32_t c = peek();
    switch (c) {
      case '(':
        return group(ci, depth, out);
      case '[':
        *out = set_node(char_class(ci), false);
        return true;
      case '.': {
        ++i_;
        CharSet dot;
        dot.add('\n');
        dot.negate();
        *out = set_node(std::move(dot), false);
        return true;
      }
      case '^':
      case '$':
        ++i_;
        out->kind = Kind::kAssert;
        out->anchor = c == '^' ? Anchor::kBegin : Anchor::kEnd;
        return true;
      case '*':
      case '+':
      case '?':
        fail(start, std::string("nothing to repeat before '") + char(c) + "'");
      case '{': {
        uint32_t lo, hi;
        const size_t save = i_;
        if (counted(&lo, &hi)) fail(save, "nothing to repeat before '{'");
        break;
      }
      case '\\': {
        Escape e = escape(false);
        if (e.kind == Escape::kAnchor) {
          out->kind = Kind::kAssert;
          out->anchor = e.anchor;
        } else if (e.kind == Escape::kSet) {
          *out = set_node(std::move(e.set), ci);
        } else {
          CharSet one;
          one.add(e.cp);
          *out = set_node(std::move(one), ci);
        }
        return true;
      }
      default:
        break;
    }
    ++i_;
    CharSet one;
    one.add(c);
    *out = set_node(std::move(one), ci);
    return true;
  }

  bool group(bool& ci, int depth, Node* out) {
    const size_t start = i_;
    ++i_;  // '('
    bool inner_ci = ci;
    Kind kind = Kind::kEmpty;  // kEmpty: a plain group
    bool negate = false;
    if (peek() == '?') {
      ++i_;
      const uint32_t c = peek();
      if (c == ':') {
        ++i_;
      } else if (c == '=' || c == '!') {
        ++i_;
        kind = Kind::kLook;
        negate = c == '!';
      } else if (c == '>') {
        ++i_;
        kind = Kind::kAtomic;
      } else if (c == '#') {
        while (!at_end() && peek() != ')') ++i_;
        if (at_end()) fail(start, "an unterminated comment");
        ++i_;
        return false;
      } else if (next_is("<=") || next_is("<!")) {
        fail(start, "lookbehind is not supported");
      } else if (c == 'P' && (peek(1) == '=' || peek(1) == '>')) {
        fail(start, "a named backreference or recursion is not supported");
      } else if (c == 'P' && peek(1) == '<') {
        i_ += 1;
        group_name(start);
      } else if (c == '<') {
        group_name(start);
      } else if (c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        bool on = true, any = false;
        for (; !at_end() && peek() != ')' && peek() != ':'; ++i_) {
          if (peek() == '-') {
            if (!on) fail(i_, "a second '-' in the flags");
            on = false;
          } else if (peek() == 'i') {
            inner_ci = on;
            any = true;
          } else {
            fail(i_, "the inline flag '" + std::string(1, char(peek() < 0x80 ? peek() : '?')) +
                         "' (only i is supported)");
          }
        }
        if (!any || at_end()) fail(start, "malformed inline flags");
        if (peek() == ')') {  // (?i): for the rest of the enclosing group
          ++i_;
          ci = inner_ci;
          return false;
        }
        ++i_;  // ':'

      } else {
        fail(start, "this group syntax is not supported (only (?:, (?i:, (?=, (?!, (?>, (?P<name> and (?# are)");
      }
    }
    Node body = alternation(inner_ci, depth + 1);
    if (at_end() || peek() != ')') fail(start, "an unterminated group");
    ++i_;
    if (kind == Kind::kEmpty) {
      *out = std::move(body);
      return true;
    }
    out->kind = kind;
    out->negate = negate;
    out->children.push_back(std::move(body));
    return true;
  }

  void group_name(size_t start) {  // at '<' of (?<name> or (?P<name>
    ++i_;
    const size_t from = i_;
    while (!at_end() && peek() != '>') {
      const uint32_t c = peek();
      if (!(c == '_' || is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80))
        fail(i_, "a group name character");
      ++i_;
    }
    if (at_end() || i_ == from) fail(start, "a group name");
    ++i_;
  }

  CharSet char_class(bool ci) {
    const size_t start = i_;
    ++i_;  // '['
    CharSet set;
    const bool negate = peek() == '^' && !at_end();
    if (negate) ++i_;
    bool first = true;
    for (;;) {
      if (at_end()) fail(start, "an unterminated character class");
      const uint32_t c = peek();
      if (c == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      if (c == '[') fail(i_, "a nested or POSIX class inside [...] is not supported");
      if (next_is("&&") || next_is("~~") || next_is("||")) fail(i_, "a set operation inside [...] is not supported");
      const size_t item = i_;
      uint32_t lo;
      if (c == '\\') {
        Escape e = escape(true);
        if (e.kind == Escape::kSet) {
          if (peek() == '-' && peek(1) != ']' && i_ + 1 < cps_.size()) fail(i_, "a range from a class escape like \\d");
          set.add_set(e.set);
          continue;
        }
        lo = e.cp;
      } else {
        lo = c;
        ++i_;
      }
      if (peek() == '-' && i_ + 1 < cps_.size() && peek(1) != ']') {
        ++i_;
        uint32_t hi;
        if (peek() == '\\') {
          Escape e = escape(true);
          if (e.kind != Escape::kChar) fail(item, "a range to a class escape like \\d");
          hi = e.cp;
        } else {
          if (peek() == '[') fail(i_, "a nested or POSIX class inside [...] is not supported");
          hi = peek();
          ++i_;
        }
        if (hi < lo) fail(item, "a range out of order");
        set.add_range(lo, hi);
      } else {
        set.add(lo);
      }
    }
    if (ci) set.close_over_case();
    if (negate) set.negate();
    return set;
  }

  uint32_t hex_digits(size_t count, size_t start) {
    uint32_t v = 0;
    for (size_t k = 0; k < count; ++k) {
      const int h = hex_value(peek());
      if (at_end() || h < 0) fail(start, "a malformed hex escape");
      v = v * 16 + uint32_t(h);
      ++i_;
    }
    return v;
  }

  uint32_t checked_scalar(uint32_t v, size_t start) {
    if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) fail(start, "an escape that is no Unicode scalar value");
    return v;
  }

  Escape escape(bool in_class) {
    const size_t start = i_;
    ++i_;  // '\'
    if (at_end()) fail(start, "a trailing backslash");
    const uint32_t c = peek();
    ++i_;
    Escape e;
    auto set_of_categories = [&](uint32_t mask) {
      e.kind = Escape::kSet;
      e.set.add_categories(mask);
    };
    const uint32_t nd = uint32_t(1) << unicode::kNd;
    const uint32_t all = (uint32_t(1) << unicode::kNumCategories) - 1;
    switch (c) {
      case 'd': set_of_categories(nd); return e;
      case 'D': set_of_categories(all & ~nd); return e;
      case 's': e.kind = Escape::kSet; e.set.add_property(unicode::kWhiteSpace); return e;
      case 'S': e.kind = Escape::kSet; e.set.add_property_complement(unicode::kWhiteSpace); return e;
      case 'w': e.kind = Escape::kSet; e.set.add_property(unicode::kWord); return e;
      case 'W': e.kind = Escape::kSet; e.set.add_property_complement(unicode::kWord); return e;
      case 'p':
      case 'P': {
        std::string name;
        if (peek() == '{' && !at_end()) {
          ++i_;
          while (!at_end() && peek() != '}') utf8::append(name, cps_[i_++]);
          if (at_end()) fail(start, "an unterminated \\p{...}");
          ++i_;
        } else if (!at_end()) {
          utf8::append(name, cps_[i_++]);
        }
        bool negated = c == 'P';
        if (!name.empty() && name[0] == '^') {
          negated = !negated;
          name.erase(0, 1);
        }
        uint32_t mask;
        uint8_t flags;
        if (!unicode_property(name, &mask, &flags))
          fail(start, "the Unicode property '" + name + "' (general categories, White_Space and Any are supported)");
        e.kind = Escape::kSet;
        if (negated) {
          e.set.add_categories(all & ~mask);
          e.set.add_property_complement(flags);
        } else {
          e.set.add_categories(mask);
          e.set.add_property(flags);
        }
        return e;
      }
      case 'n': e.cp = '\n'; return e;
      case 't': e.cp = '\t'; return e;
      case 'r': e.cp = '\r'; return e;
      case 'f': e.cp = '\f'; return e;
      case 'v': e.cp = '\v'; return e;
      case 'a': e.cp = 7; return e;
      case 'e': e.cp = 27; return e;
      case '0':
        if (is_digit(peek()) && !at_end()) fail(start, "an octal escape is not supported");
        e.cp = 0;
        return e;
      case 'x':
        if (peek() == '{' && !at_end()) {
          ++i_;
          uint32_t v = 0;
          size_t digits = 0;
          while (!at_end() && hex_value(peek()) >= 0 && digits < 8) v = v * 16 + uint32_t(hex_value(cps_[i_++])), ++digits;
          if (digits == 0 || at_end() || peek() != '}') fail(start, "a malformed \\x{...}");
          ++i_;
          e.cp = checked_scalar(v, start);
        } else {
          e.cp = hex_digits(2, start);
        }
        return e;
      case 'u': e.cp = checked_scalar(hex_digits(4, start), start); return e;
      case 'U': e.cp = checked_scalar(hex_digits(8, start), start); return e;
      case 'b':
        if (in_class) {
          e.cp = 8;  // backspace, as in Python
          return e;
        }
        e.kind = Escape::kAnchor;
        e.anchor = Anchor::kWordBoundary;
        return e;
      case 'B':
      case 'A':
      case 'z':
      case 'Z':
        if (in_class) fail(start, "an anchor inside [...] is not supported");
        e.kind = Escape::kAnchor;
        e.anchor = c == 'B' ? Anchor::kNotWordBoundary : c == 'A' ? Anchor::kBegin : Anchor::kEnd;
        return e;
      default:
        break;
    }
    if (is_digit(c)) fail(start, "a backreference is not supported");
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) fail(start, std::string("the unknown escape \\") + char(c));
    e.cp = c;  // an escaped punctuation or non-ASCII character stands for itself
    return e;
  }

  const std::string& pattern_;
  std::vector<uint32_t> cps_;
  size_t i_ = 0;
  std::vector<CharSet> sets_;
};

}  // namespace

Parsed parse(const std::string& pattern) { return Parser(pattern).run(); }

}  // namespace pyllm::text::regex_ast
