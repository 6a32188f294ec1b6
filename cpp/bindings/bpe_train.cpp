// BPE training (pyllm/tokenizers/train.py drives it): the chunk counter, fed str or bytes pieces, and the
// merge stage. Both run with the GIL released; the merge stage takes it back only to report progress every
// `progress_every` merges, which is also where Ctrl-C stops it.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "registry.h"
#include "text/bpe_train.h"

namespace py = pybind11;

namespace pyllm::bindings {

namespace {

// The UTF-8 bytes of a str (its cached UTF-8 form: no copy for ASCII text) or of a bytes object; valid while
// the object lives.
std::string_view text_view(py::handle obj) {
  if (PyUnicode_Check(obj.ptr())) {
    Py_ssize_t n = 0;
    const char* p = PyUnicode_AsUTF8AndSize(obj.ptr(), &n);
    if (p == nullptr) throw py::error_already_set();
    return {p, static_cast<size_t>(n)};
  }
  if (PyBytes_Check(obj.ptr())) return {PyBytes_AS_STRING(obj.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(obj.ptr()))};
  throw py::type_error("train_bpe: expected str or bytes, got " + std::string(Py_TYPE(obj.ptr())->tp_name));
}

}  // namespace

void register_bpe_train(py::module_& m) {
  using text::ChunkCounter;
  using text::ChunkTable;
  auto nogil = py::call_guard<py::gil_scoped_release>();

  py::class_<ChunkTable>(m, "BpeChunkTable", "Distinct pre-token chunks with their counts.")
      .def(py::init<>())
      .def("__len__", &ChunkTable::size)
      .def_property_readonly("total", &ChunkTable::total, "the number of chunks counted")
      .def(
          "add", [](ChunkTable& t, py::handle chunk, uint64_t count) { t.add(text_view(chunk), count); },
          py::arg("chunk"), py::arg("count"))
      .def(
          "items",
          [](const ChunkTable& t) {
            py::list out;
            t.for_each([&](std::string_view chunk, uint64_t count) {
              out.append(py::make_tuple(py::bytes(chunk.data(), chunk.size()), count));
            });
            return out;
          },
          "[(chunk bytes, count)] in no particular order");

  py::class_<ChunkCounter>(m, "BpeChunkCounter", "Pre-tokenizes text and counts its distinct chunks, in parallel.")
      .def(py::init<const std::string&, std::vector<std::string>, size_t>(), py::arg("pattern"),
           py::arg("special_tokens"), py::arg("unit_bytes") = size_t(1) << 20)
      .def(
          "add",
          [](ChunkCounter& c, py::object piece, bool ends_document) {
            std::string_view text = text_view(piece);
            py::gil_scoped_release release;
            c.add(text, ends_document);
          },
          py::arg("piece"), py::arg("ends_document"))
      .def(
          "add_documents",
          [](ChunkCounter& c, py::list documents) {
            std::vector<std::string_view> texts;
            for (py::handle d : documents) texts.push_back(text_view(d));
            py::gil_scoped_release release;
            c.add_documents(texts);
          },
          py::arg("documents"))
      .def("finish", &ChunkCounter::finish, nogil);

  m.def(
      "bpe_train",
      [](const ChunkTable& chunks, size_t num_merges, uint64_t min_frequency, py::object progress,
         size_t progress_every) {
        std::function<void(size_t)> report;
        if (!progress.is_none()) {
          report = [&progress](size_t done) {
            py::gil_scoped_acquire acquire;
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            progress(done);
          };
        }
        text::BpeTrainResult r;
        {
          py::gil_scoped_release release;
          r = text::train_bpe(chunks, num_merges, min_frequency, report, progress_every);
        }
        py::list vocab, merges;
        for (const std::string& token : r.vocab) vocab.append(py::bytes(token));
        for (const auto& [left, right] : r.merges) merges.append(py::make_tuple(left, right));
        return py::make_tuple(vocab, merges);
      },
      py::arg("chunks"), py::arg("num_merges"), py::arg("min_frequency"), py::arg("progress") = py::none(),
      py::arg("progress_every") = 64,
      "Learns up to num_merges merges from counted chunks; returns (vocab: list[bytes], merges: list[(int, int)]).");
}

}  // namespace pyllm::bindings
