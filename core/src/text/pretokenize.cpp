#include "text/pretokenize.h"

#include <limits>

#include "pyllm/error.h"
#include "text/regex.h"
#include "text/scanners.h"

namespace pyllm::text {
namespace {

// tiktoken's patterns (tiktoken_ext/openai_public.py), which the scanners reproduce.
const char* const kGpt2Regex =
    R"('(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s)";
const char* const kCl100kRegex =
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s)";
const char* const kO200kRegex =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

}  // namespace

// "none": the whole text as one chunk. The scanners and the regex engine derive from it.
class Pretokenizer::Impl {
 public:
  virtual ~Impl() = default;
  virtual void split(std::string_view text, std::vector<Span>& out) const {
    if (!text.empty()) out.push_back({0, static_cast<uint32_t>(text.size())});
  }
};

namespace {

class ScannerImpl final : public Pretokenizer::Impl {
 public:
  using Fn = void (*)(std::string_view, std::vector<Span>&);
  explicit ScannerImpl(Fn fn) : fn_(fn) {}
  void split(std::string_view text, std::vector<Span>& out) const override { fn_(text, out); }

 private:
  Fn fn_;
};

class RegexImpl final : public Pretokenizer::Impl {
 public:
  explicit RegexImpl(const std::string& pattern) : regex_(pattern) {}
  void split(std::string_view text, std::vector<Span>& out) const override { regex_.find_all(text, out); }

 private:
  Regex regex_;
};

}  // namespace

Pretokenizer Pretokenizer::create(const std::string& pattern) {
  Pretokenizer p;
  p.pattern_ = pattern;
  if (pattern == "none") {
    p.impl_ = std::make_shared<const Impl>();
  } else if (pattern == "gpt2") {
    p.impl_ = std::make_shared<const ScannerImpl>(split_gpt2);
  } else if (pattern == "cl100k") {
    p.impl_ = std::make_shared<const ScannerImpl>(split_cl100k);
  } else if (pattern == "o200k") {
    p.impl_ = std::make_shared<const ScannerImpl>(split_o200k);
  } else {
    p.impl_ = std::make_shared<const RegexImpl>(pattern);
  }
  return p;
}

void Pretokenizer::split(std::string_view text, std::vector<Span>& out) const {
  PYLLM_CHECK(text.size() <= std::numeric_limits<uint32_t>::max(), ValueError,
              "pre-tokenizer: a text of " << text.size() << " bytes is over the 4 GiB a chunk offset can address");
  impl_->split(text, out);
}

std::string Pretokenizer::regex_of(const std::string& pattern) {
  if (pattern == "gpt2") return kGpt2Regex;
  if (pattern == "cl100k") return kCl100kRegex;
  if (pattern == "o200k") return kO200kRegex;
  return pattern;
}

}  // namespace pyllm::text
