#include "text/char_set.h"

#include <algorithm>
#include <cctype>

namespace pyllm::text {

using namespace unicode;

void CharSet::add_range(uint32_t lo, uint32_t hi) { ranges_.emplace_back(lo, hi); }

void CharSet::add_set(const CharSet& other) {
  ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
  categories_ |= other.categories_;
  with_ |= other.with_;
  without_ |= other.without_;
}

bool CharSet::member(uint32_t cp) const {
  const uint8_t p = properties(cp);
  if ((categories_ >> (p & kCategoryBits)) & 1) return true;
  if ((p & with_) || (~p & without_)) return true;
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), std::make_pair(cp, UINT32_MAX));
  return it != ranges_.begin() && std::prev(it)->second >= cp;
}

bool CharSet::contains_slow(uint32_t cp) const { return member(cp) != negated_; }

void CharSet::close_over_case() {
  // Every code point with another case is in the orbit table; add the orbits of those that are members.
  finish();
  std::vector<std::pair<uint32_t, uint32_t>> extra;
  for (const auto& entry : kCaseOrbit) {
    if (!member(entry[0])) continue;
    for (uint32_t cp = entry[1]; cp != entry[0]; cp = next_in_case_orbit(cp)) extra.emplace_back(cp, cp);
  }
  ranges_.insert(ranges_.end(), extra.begin(), extra.end());
}

void CharSet::finish() {
  std::sort(ranges_.begin(), ranges_.end());
  std::vector<std::pair<uint32_t, uint32_t>> merged;
  for (const auto& r : ranges_) {
    if (!merged.empty() && r.first <= merged.back().second + 1)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  ranges_ = std::move(merged);
  ascii_[0] = ascii_[1] = 0;
  for (uint32_t cp = 0; cp < 128; ++cp)
    if (member(cp) != negated_) ascii_[cp >> 6] |= uint64_t(1) << (cp & 63);
}

namespace {

uint32_t bit(Category c) { return uint32_t(1) << c; }

// Lower case without spaces, '-' and '_' (UAX #44 loose matching).
std::string loose(const std::string& name) {
  std::string out;
  for (char c : name)
    if (c != ' ' && c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool unicode_property(const std::string& raw, uint32_t* categories, uint8_t* flags) {
  *categories = 0;
  *flags = 0;
  std::string name = loose(raw);
  for (const char* prefix : {"gc=", "generalcategory=", "gc:", "generalcategory:"}) {
    const std::string p = prefix;
    if (name.compare(0, p.size(), p) == 0) name = name.substr(p.size());
  }
  const uint32_t letter = bit(kLu) | bit(kLl) | bit(kLt) | bit(kLm) | bit(kLo);
  const uint32_t cased = bit(kLu) | bit(kLl) | bit(kLt);
  const uint32_t mark = bit(kMn) | bit(kMc) | bit(kMe);
  const uint32_t number = bit(kNd) | bit(kNl) | bit(kNo);
  const uint32_t punct = bit(kPc) | bit(kPd) | bit(kPs) | bit(kPe) | bit(kPi) | bit(kPf) | bit(kPo);
  const uint32_t symbol = bit(kSm) | bit(kSc) | bit(kSk) | bit(kSo);
  const uint32_t separator = bit(kZs) | bit(kZl) | bit(kZp);
  const uint32_t other = bit(kCc) | bit(kCf) | bit(kCs) | bit(kCo) | bit(kCn);
  struct Entry {
    const char* names[3];
    uint32_t mask;
  };
  static const Entry kNames[] = {
      {{"l", "letter"}, letter}, {{"lc", "l&", "casedletter"}, cased},
      {{"lu", "uppercaseletter"}, bit(kLu)}, {{"ll", "lowercaseletter"}, bit(kLl)},
      {{"lt", "titlecaseletter"}, bit(kLt)}, {{"lm", "modifierletter"}, bit(kLm)}, {{"lo", "otherletter"}, bit(kLo)},
      {{"m", "mark", "combiningmark"}, mark}, {{"mn", "nonspacingmark"}, bit(kMn)},
      {{"mc", "spacingmark"}, bit(kMc)}, {{"me", "enclosingmark"}, bit(kMe)},
      {{"n", "number"}, number}, {{"nd", "decimalnumber", "digit"}, bit(kNd)},
      {{"nl", "letternumber"}, bit(kNl)}, {{"no", "othernumber"}, bit(kNo)},
      {{"p", "punctuation", "punct"}, punct}, {{"pc", "connectorpunctuation"}, bit(kPc)},
      {{"pd", "dashpunctuation"}, bit(kPd)}, {{"ps", "openpunctuation"}, bit(kPs)},
      {{"pe", "closepunctuation"}, bit(kPe)}, {{"pi", "initialpunctuation"}, bit(kPi)},
      {{"pf", "finalpunctuation"}, bit(kPf)}, {{"po", "otherpunctuation"}, bit(kPo)},
      {{"s", "symbol"}, symbol}, {{"sm", "mathsymbol"}, bit(kSm)}, {{"sc", "currencysymbol"}, bit(kSc)},
      {{"sk", "modifiersymbol"}, bit(kSk)}, {{"so", "othersymbol"}, bit(kSo)},
      {{"z", "separator"}, separator}, {{"zs", "spaceseparator"}, bit(kZs)},
      {{"zl", "lineseparator"}, bit(kZl)}, {{"zp", "paragraphseparator"}, bit(kZp)},
      {{"c", "other"}, other}, {{"cc", "control", "cntrl"}, bit(kCc)}, {{"cf", "format"}, bit(kCf)},
      {{"cs", "surrogate"}, bit(kCs)}, {{"co", "privateuse"}, bit(kCo)}, {{"cn", "unassigned"}, bit(kCn)},
  };
  for (const Entry& e : kNames) {
    for (const char* n : e.names) {
      if (n != nullptr && name == n) {
        *categories = e.mask;
        return true;
      }
    }
  }
  if (name == "whitespace" || name == "wspace" || name == "space") {
    *flags = kWhiteSpace;
    return true;
  }
  if (name == "any") {  // every code point has a category
    *categories = (uint32_t(1) << kNumCategories) - 1;
    return true;
  }
  return false;
}

}  // namespace pyllm::text
