// Pre-tokenization and the Unicode tables behind it, bound for tests and benchmarks (the tokenizers call
// the C++ Pretokenizer directly).
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "registry.h"
#include "text/pretokenize.h"
#include "text/unicode_tables.h"

namespace py = pybind11;

namespace pyllm::bindings {

void register_pretokenize(py::module_& m) {
  using text::Pretokenizer;
  using text::Span;

  m.def("pretokenize", [](const std::string& pattern, const std::string& text) {
    const Pretokenizer p = Pretokenizer::create(pattern);
    std::vector<Span> spans;
    {
      py::gil_scoped_release release;
      p.split(text, spans);
    }
    py::list out(spans.size());
    for (size_t k = 0; k < spans.size(); ++k)
      out[k] = py::str(text.data() + spans[k].begin, spans[k].end - spans[k].begin);
    return out;
  }, py::arg("pattern"), py::arg("text"),
  "The chunks of `text` under a pattern: 'gpt2', 'cl100k', 'o200k', 'none' or a regex (findall semantics).");

  m.def("pretokenize_count", [](const std::string& pattern, const std::string& text) {
    const Pretokenizer p = Pretokenizer::create(pattern);
    py::gil_scoped_release release;
    std::vector<Span> spans;
    p.split(text, spans);
    return spans.size();
  }, py::arg("pattern"), py::arg("text"), "The number of chunks pretokenize would return, without building them.");

  m.def("pretokenize_regex", &Pretokenizer::regex_of, py::arg("pattern"),
        "The regex a built-in pattern name stands for (tiktoken's), or the pattern itself.");

  m.attr("unicode_version") = text::unicode::kUnicodeVersion;
  m.def("unicode_categories", [] {
    // One byte per code point (U+0000..U+10FFFF): the index into unicode_category_names.
    std::string out(text::unicode::kMaxCodePoint + 1, '\0');
    for (uint32_t cp = 0; cp <= text::unicode::kMaxCodePoint; ++cp) out[cp] = static_cast<char>(text::unicode::category(cp));
    return py::bytes(out);
  });
  py::list names;
  for (const char* name : text::unicode::kCategoryNames) names.append(name);
  m.attr("unicode_category_names") = names;
}

}  // namespace pyllm::bindings
