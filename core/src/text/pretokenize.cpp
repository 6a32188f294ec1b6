#include "text/pretokenize.h"

#include "pyllm/error.h"

namespace pyllm::text {

// The whole text as one chunk; the built-in scanners and the regex engine join this class.
class Pretokenizer::Impl {
 public:
  virtual ~Impl() = default;
  virtual void split(std::string_view text, std::vector<Span>& out) const {
    if (!text.empty()) out.push_back({0, static_cast<uint32_t>(text.size())});
  }
};

Pretokenizer Pretokenizer::create(const std::string& pattern) {
  PYLLM_CHECK(pattern == "none", NotImplementedError, "pre-tokenizer '" << pattern << "' is not available yet");
  Pretokenizer p;
  p.pattern_ = pattern;
  p.impl_ = std::make_shared<const Impl>();
  return p;
}

void Pretokenizer::split(std::string_view text, std::vector<Span>& out) const { impl_->split(text, out); }

std::string Pretokenizer::regex_of(const std::string& pattern) { return pattern; }

}  // namespace pyllm::text
