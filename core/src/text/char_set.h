// A set of code points for the regex engine: explicit ranges, whole general categories and the White_Space
// and \w properties (each possibly complemented, as \S or \W inside a class), then an optional negation.
// Membership of ASCII is a bitmap; of the rest, a property-byte test and a binary search.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "text/unicode_tables.h"

namespace pyllm::text {

class CharSet {
 public:
  void add_range(uint32_t lo, uint32_t hi);
  void add(uint32_t cp) { add_range(cp, cp); }
  void add_categories(uint32_t mask) { categories_ |= mask; }  // bit c: unicode::Category c
  // Members by property byte (flags unicode::kWhiteSpace, kWord): the code points with the flag (\s, \w), or,
  // for the complement, those without it (\S, \W).
  void add_property(uint8_t flags) { with_ |= flags; }
  void add_property_complement(uint8_t flags) { without_ |= flags; }
  void add_set(const CharSet& other);  // union (other must not be negated)
  // Adds every code point that simple case folding makes equal to a member.
  void close_over_case();
  void negate() { negated_ = !negated_; }
  // Sorts and merges the ranges and fills the ASCII bitmap: call after the last change, before contains().
  void finish();

  bool contains(uint32_t cp) const {
    if (cp < 128) return (ascii_[cp >> 6] >> (cp & 63)) & 1;
    return contains_slow(cp);
  }
  bool negated() const { return negated_; }

 private:
  bool contains_slow(uint32_t cp) const;
  bool member(uint32_t cp) const;  // before negation

  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
  uint32_t categories_ = 0;
  uint8_t with_ = 0, without_ = 0;
  bool negated_ = false;
  uint64_t ascii_[2] = {0, 0};
};

// The category mask a \p{...} name stands for (a category, a one-letter group, LC / L&, a long name such as
// Uppercase_Letter, matched loosely: case, spaces, '-' and '_' ignored; an optional gc= prefix), or
// White_Space as a property flag, or Any; false for an unknown name.
bool unicode_property(const std::string& name, uint32_t* categories, uint8_t* flags);

}  // namespace pyllm::text
