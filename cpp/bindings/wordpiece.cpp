// pyllm._core.WordPiece: BERT's tokenizer (core/src/text/wordpiece.h). pyllm/tokenizers/wordpiece.py reads
// the vocabulary files and builds it; encoding runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <tuple>

#include "pyllm/error.h"
#include "registry.h"
#include "text/wordpiece.h"

namespace py = pybind11;

namespace pyllm::bindings {

namespace {

using text::Encoding;
using text::WordPieceTokenizer;

// The UTF-8 of a Python str, without a copy (CPython caches it in the object, so the view lives as long as
// the str). UnicodeEncodeError for a lone surrogate, which has no UTF-8.
std::string_view utf8_view(const py::handle& text) {
  Py_ssize_t size;
  const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  if (data == nullptr) throw py::error_already_set();
  return {data, size_t(size)};
}

// Views of many strings, with the strings held so the views stay valid while the GIL is released.
struct Utf8Views {
  std::vector<py::object> owners;
  std::vector<std::string_view> views;
};

Utf8Views utf8_views(const py::sequence& texts, const char* what) {
  Utf8Views out;
  size_t n = py::len(texts);
  out.owners.reserve(n);
  out.views.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    py::object item = texts[i];
    PYLLM_CHECK(PyUnicode_Check(item.ptr()), TypeError,
                "WordPiece.encode_batch: " << what << "[" << i << "] is "
                                           << py::str(py::type::of(item).attr("__name__")).cast<std::string>()
                                           << ", not str");
    out.views.push_back(utf8_view(item));
    out.owners.push_back(std::move(item));
  }
  return out;
}

// Creating many lists runs Python's cyclic garbage collector over and over (it starts every few hundred
// new containers and walks the young objects, sometimes all of them); lists of ints hold no cycles, so the
// collector pauses while a batch's lists are built.
class GcPause {
 public:
  GcPause() : gc_(py::module_::import("gc")), was_enabled_(gc_.attr("isenabled")().cast<bool>()) {
    gc_.attr("disable")();
  }
  ~GcPause() {
    if (was_enabled_) gc_.attr("enable")();
  }

 private:
  py::module_ gc_;
  bool was_enabled_;
};

// A Python list of ints built directly: pybind11's generic list conversion costs as much as the encoding.
py::list to_list(const std::vector<int32_t>& ids) {
  py::list out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) PyList_SET_ITEM(out.ptr(), i, PyLong_FromLong(ids[i]));
  return out;
}

std::vector<Encoding> encode_batch(const WordPieceTokenizer& tok, const py::sequence& texts,
                                   const std::optional<py::sequence>& pairs, bool add_special_tokens,
                                   size_t max_length, int num_threads) {
  Utf8Views first = utf8_views(texts, "texts");
  std::optional<Utf8Views> second;
  if (pairs) second = utf8_views(*pairs, "pairs");
  py::gil_scoped_release nogil;
  return tok.encode_batch(first.views, second ? &second->views : nullptr, add_special_tokens, max_length,
                          num_threads);
}

// (ids, type_ids, attention_mask), each (len(texts), T) int64, padded on the right to T: the longest
// encoding, or pad_to when it is given.
py::tuple encode_batch_padded(const WordPieceTokenizer& tok, const py::sequence& texts,
                              const std::optional<py::sequence>& pairs, bool add_special_tokens,
                              size_t max_length, int num_threads, size_t pad_to, int64_t pad_id) {
  std::vector<Encoding> encodings = encode_batch(tok, texts, pairs, add_special_tokens, max_length, num_threads);
  size_t longest = 0;
  for (const Encoding& e : encodings) longest = std::max(longest, e.ids.size());
  PYLLM_CHECK(pad_to == 0 || longest <= pad_to, ValueError,
              "WordPiece.encode_batch: an encoding has " << longest << " ids, more than the padded length " << pad_to);
  size_t rows = encodings.size(), cols = pad_to ? pad_to : longest;
  py::array_t<int64_t> ids({rows, cols}), type_ids({rows, cols}), mask({rows, cols});
  int64_t *pi = ids.mutable_data(), *pt = type_ids.mutable_data(), *pm = mask.mutable_data();
  {
    py::gil_scoped_release nogil;
    for (size_t r = 0; r < rows; ++r) {
      const Encoding& e = encodings[r];
      size_t n = e.ids.size();
      std::copy(e.ids.begin(), e.ids.end(), pi + r * cols);
      std::copy(e.type_ids.begin(), e.type_ids.end(), pt + r * cols);
      std::fill(pi + r * cols + n, pi + (r + 1) * cols, pad_id);
      std::fill(pt + r * cols + n, pt + (r + 1) * cols, 0);
      std::fill(pm + r * cols, pm + r * cols + n, 1);
      std::fill(pm + r * cols + n, pm + (r + 1) * cols, 0);
    }
  }
  return py::make_tuple(ids, type_ids, mask);
}

using Added = std::tuple<std::string, int32_t, bool, bool, bool>;  // content, id, special, lstrip, rstrip
using Piece = std::tuple<int, std::vector<int32_t>, int32_t>;      // sequence (-1: ids), ids, type id

std::vector<text::TemplatePiece> template_pieces(const std::vector<Piece>& pieces) {
  std::vector<text::TemplatePiece> out;
  for (const auto& [sequence, ids, type_id] : pieces) out.push_back({sequence, ids, type_id});
  return out;
}

}  // namespace

void register_wordpiece(py::module_& m) {
  using py::arg;
  py::class_<WordPieceTokenizer>(m, "WordPiece", "BERT's WordPiece tokenizer; see pyllm.tokenizers.WordPieceTokenizer")
      .def(py::init([](std::vector<std::string> vocab, std::string unk_token, std::string continuing_prefix,
                       size_t max_input_chars_per_word, bool clean_text, bool handle_chinese_chars,
                       bool strip_accents, bool lowercase, const std::vector<Added>& added_tokens,
                       const std::vector<Piece>& single_template, const std::vector<Piece>& pair_template,
                       bool wordpiece_decoder, bool decoder_cleanup) {
             text::WordPieceOptions o;
             o.unk_token = std::move(unk_token);
             o.continuing_prefix = std::move(continuing_prefix);
             o.max_input_chars_per_word = max_input_chars_per_word;
             o.normalization = {clean_text, handle_chinese_chars, strip_accents, lowercase};
             for (const auto& [content, id, special, lstrip, rstrip] : added_tokens) {
               o.added_tokens.push_back({content, id, special, lstrip, rstrip});
             }
             o.single_template = template_pieces(single_template);
             o.pair_template = template_pieces(pair_template);
             o.wordpiece_decoder = wordpiece_decoder;
             o.decoder_cleanup = decoder_cleanup;
             return WordPieceTokenizer(std::move(vocab), std::move(o));
           }),
           arg("vocab"), py::kw_only(), arg("unk_token"), arg("continuing_prefix"), arg("max_input_chars_per_word"),
           arg("clean_text"), arg("handle_chinese_chars"), arg("strip_accents"), arg("lowercase"),
           arg("added_tokens"), arg("single_template"), arg("pair_template"), arg("wordpiece_decoder"),
           arg("decoder_cleanup"))
      .def(
          "encode",
          [](const WordPieceTokenizer& tok, const py::str& text, const std::optional<py::str>& pair,
             bool add_special_tokens, size_t max_length) {
            std::string_view first = utf8_view(text), second = pair ? utf8_view(*pair) : std::string_view();
            Encoding e;
            {
              py::gil_scoped_release nogil;
              e = tok.encode(first, pair ? &second : nullptr, add_special_tokens, max_length);
            }
            return to_list(e.ids);
          },
          arg("text"), arg("pair"), arg("add_special_tokens"), arg("max_length"), "the ids of a text or a pair of texts")
      .def(
          "encode_batch",
          [](const WordPieceTokenizer& tok, const py::sequence& texts, const std::optional<py::sequence>& pairs,
             bool add_special_tokens, size_t max_length, int num_threads) {
            std::vector<Encoding> encodings = encode_batch(tok, texts, pairs, add_special_tokens, max_length, num_threads);
            GcPause pause;
            py::list ids(encodings.size());
            for (size_t i = 0; i < encodings.size(); ++i) PyList_SET_ITEM(ids.ptr(), i, to_list(encodings[i].ids).release().ptr());
            return ids;
          },
          arg("texts"), arg("pairs"), arg("add_special_tokens"), arg("max_length"), arg("num_threads"),
          "the ids of each text (or pair), as a list of lists")
      .def("encode_batch_padded", &encode_batch_padded, arg("texts"), arg("pairs"), arg("add_special_tokens"),
           arg("max_length"), arg("num_threads"), arg("pad_to"), arg("pad_id"),
           "(ids, type_ids, attention_mask) as int64 arrays of shape (len(texts), T)")
      .def(
          "decode",
          [](const WordPieceTokenizer& tok, const std::vector<int64_t>& ids, bool skip_special_tokens) {
            py::gil_scoped_release nogil;
            return tok.decode(ids, skip_special_tokens);
          },
          arg("ids"), arg("skip_special_tokens"))
      .def(
          "token_to_id",
          [](const WordPieceTokenizer& tok, std::string_view token) -> std::optional<int32_t> {
            int32_t id = tok.token_to_id(token);
            return id < 0 ? std::nullopt : std::optional<int32_t>(id);
          },
          arg("token"))
      .def("id_to_token", &WordPieceTokenizer::id_to_token, arg("id"))
      .def_property_readonly("vocab_size", &WordPieceTokenizer::vocab_size)
      .def("num_special_tokens", &WordPieceTokenizer::num_special_tokens, arg("pair"));
}

}  // namespace pyllm::bindings
