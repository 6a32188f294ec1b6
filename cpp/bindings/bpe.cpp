// Byte-level BPE (pyllm.tokenizers.bpe builds on it). Text crosses as str (its UTF-8 form, which CPython
// caches, is read in place); ids come back as lists of int. Encoding and decoding release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "registry.h"
#include "text/bpe.h"

namespace py = pybind11;

namespace pyllm::bindings {

namespace {

using text::BPE;
using text::TokenId;

// The UTF-8 of a str. A str with lone surrogates has none: as tiktoken does, it is first passed through
// UTF-16 with surrogatepass (pairing up split surrogate pairs) and replace (lone ones become U+FFFD);
// `keep` holds that repaired copy alive.
std::string_view utf8_of(py::handle text, std::vector<py::object>& keep, const char* fn) {
  if (!PyUnicode_Check(text.ptr())) {
    throw py::type_error(std::string(fn) + ": expected str, got " + Py_TYPE(text.ptr())->tp_name);
  }
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(text.ptr(), &n);
  if (p == nullptr) {
    PyErr_Clear();
    keep.push_back(py::reinterpret_borrow<py::object>(text)
                       .attr("encode")("utf-16", "surrogatepass")
                       .attr("decode")("utf-16", "replace"));
    p = PyUnicode_AsUTF8AndSize(keep.back().ptr(), &n);
    if (p == nullptr) throw py::error_already_set();
  }
  return {p, size_t(n)};
}

py::list to_list(const std::vector<TokenId>& ids) {
  py::list out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) PyList_SET_ITEM(out.ptr(), i, PyLong_FromUnsignedLong(ids[i]));
  return out;
}

// A list, tuple or any iterable of ints (numpy integers included) as int64.
std::vector<int64_t> ids_of(py::handle ids) {
  py::object seq = PyList_Check(ids.ptr()) || PyTuple_Check(ids.ptr())
                       ? py::reinterpret_borrow<py::object>(ids)
                       : py::reinterpret_steal<py::object>(PySequence_List(ids.ptr()));
  if (!seq) throw py::error_already_set();
  PyObject* fast = seq.ptr();
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  PyObject** items = PySequence_Fast_ITEMS(fast);
  std::vector<int64_t> out(n);
  for (Py_ssize_t i = 0; i < n; ++i) {
    int overflow = 0;
    out[i] = PyLong_AsLongLongAndOverflow(items[i], &overflow);
    if (out[i] == -1 && PyErr_Occurred()) {
      PyErr_Clear();
      throw py::type_error(std::string("decode: token ids must be integers, got ") + Py_TYPE(items[i])->tp_name +
                           " at position " + std::to_string(i));
    }
    if (overflow != 0) out[i] = -1;  // far out of range: reported as an unknown id
  }
  return out;
}

// vocab: a list whose entry i is the bytes of token i, or None where no token has id i.
std::vector<BPE::Token> tokens_of(const py::list& vocab) {
  std::vector<BPE::Token> tokens;
  tokens.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) {
    PyObject* item = PyList_GET_ITEM(vocab.ptr(), i);
    if (item == Py_None) continue;
    char* p = nullptr;
    Py_ssize_t n = 0;
    if (!PyBytes_Check(item) || PyBytes_AsStringAndSize(item, &p, &n) != 0) {
      PyErr_Clear();
      throw py::type_error("BPE: vocabulary entry " + std::to_string(i) + " is " + Py_TYPE(item)->tp_name +
                           ", not bytes");
    }
    tokens.push_back({std::string(p, size_t(n)), TokenId(i)});
  }
  return tokens;
}

std::vector<BPE::Special> specials_of(const std::vector<std::pair<std::string, TokenId>>& specials) {
  std::vector<BPE::Special> out;
  for (const auto& [text, id] : specials) out.push_back({text, id});
  return out;
}

}  // namespace

void register_bpe(py::module_& m) {
  py::class_<BPE, std::shared_ptr<BPE>>(m, "BPEModel", "An immutable byte-level BPE model (see pyllm.tokenizers).")
      .def_static("from_merges", [](const py::list& vocab, const std::vector<std::pair<TokenId, TokenId>>& merges,
                                    const std::string& pattern,
                                    const std::vector<std::pair<std::string, TokenId>>& specials, bool ignore_merges) {
        auto tokens = tokens_of(vocab);
        py::gil_scoped_release release;
        return std::shared_ptr<BPE>(BPE::from_merges(std::move(tokens), merges, pattern, specials_of(specials),
                                                     ignore_merges));
      }, py::arg("vocab"), py::arg("merges"), py::arg("pattern"), py::arg("specials"), py::arg("ignore_merges"))
      .def_static("from_ranks", [](const py::list& vocab, const std::string& pattern,
                                   const std::vector<std::pair<std::string, TokenId>>& specials) {
        auto tokens = tokens_of(vocab);
        py::gil_scoped_release release;
        return std::shared_ptr<BPE>(BPE::from_ranks(std::move(tokens), pattern, specials_of(specials)));
      }, py::arg("vocab"), py::arg("pattern"), py::arg("specials"))
      .def("encode", [](const BPE& bpe, py::handle text, const BPE::SpecialMask& allowed,
                        const BPE::SpecialMask& disallowed) {
        std::vector<py::object> keep;
        std::string_view s = utf8_of(text, keep, "encode");
        std::vector<TokenId> ids;
        {
          py::gil_scoped_release release;
          bpe.encode(s, allowed, disallowed, ids);
        }
        return to_list(ids);
      }, py::arg("text"), py::arg("allowed"), py::arg("disallowed"))
      .def("encode_ordinary", [](const BPE& bpe, py::handle text) {
        std::vector<py::object> keep;
        std::string_view s = utf8_of(text, keep, "encode_ordinary");
        std::vector<TokenId> ids;
        {
          py::gil_scoped_release release;
          bpe.encode_ordinary(s, ids);
        }
        return to_list(ids);
      }, py::arg("text"))
      .def("encode_batch", [](const BPE& bpe, const py::list& texts, const BPE::SpecialMask& allowed,
                              const BPE::SpecialMask& disallowed, int num_threads) {
        std::vector<py::object> keep;
        std::vector<std::string_view> views;
        views.reserve(texts.size());
        for (py::handle t : texts) views.push_back(utf8_of(t, keep, "encode_batch"));
        std::vector<std::vector<TokenId>> results;
        {
          py::gil_scoped_release release;
          results = bpe.encode_batch(views, allowed, disallowed, num_threads);
        }
        py::list out(results.size());
        for (size_t i = 0; i < results.size(); ++i) PyList_SET_ITEM(out.ptr(), i, to_list(results[i]).release().ptr());
        return out;
      }, py::arg("texts"), py::arg("allowed"), py::arg("disallowed"), py::arg("num_threads"))
      .def("encode_chunk", [](const BPE& bpe, const py::bytes& chunk) {
        std::vector<TokenId> ids;
        bpe.encode_chunk(std::string_view(chunk), ids);
        return to_list(ids);
      }, py::arg("chunk"), "The ids of one pre-token chunk (no pre-tokenization, no special tokens).")
      .def("decode_bytes", [](const BPE& bpe, py::handle ids) {
        std::vector<int64_t> v = ids_of(ids);
        std::string out;
        {
          py::gil_scoped_release release;
          out = bpe.decode(v.data(), v.size());
        }
        return py::bytes(out);
      }, py::arg("ids"))
      .def("token_bytes", [](const BPE& bpe, int64_t id) { return py::bytes(std::string(bpe.token_bytes(id))); },
           py::arg("id"))
      .def("find_token", [](const BPE& bpe, const py::bytes& token) -> py::object {
        TokenId id;
        if (bpe.find_token(std::string_view(token), id)) return py::int_(id);
        return py::none();
      }, py::arg("token"), "The id of an ordinary token's bytes, or None.")
      .def_property_readonly("vocab_size", &BPE::vocab_size)
      .def_property_readonly("num_tokens", &BPE::num_tokens)
      .def_property_readonly("pattern", [](const BPE& bpe) { return bpe.pretokenizer().pattern(); })
      .def_property_readonly("uses_ranks", &BPE::uses_ranks)
      .def_property_readonly("ignore_merges", &BPE::ignore_merges);
}

}  // namespace pyllm::bindings
