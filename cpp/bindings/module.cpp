// PYBIND11_MODULE(_core): maps the core's exceptions to Python's and registers each bound area.
#include <pybind11/pybind11.h>

#include "pyllm/error.h"
#include "pyllm/parallel.h"
#include "registry.h"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "pyllm's compiled core: tensors, autograd and kernels";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const pyllm::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const pyllm::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const pyllm::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const pyllm::NotImplementedError& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    } catch (const pyllm::RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  pyllm::bindings::register_dtype(m);
  pyllm::bindings::register_tensor(m);
  pyllm::bindings::register_numpy(m);
  pyllm::bindings::register_indexing(m);
  pyllm::bindings::register_dlpack(m);
  pyllm::bindings::register_autograd(m);
  pyllm::bindings::register_random(m);
  pyllm::bindings::register_ops(m);
  pyllm::bindings::register_bpe(m);
  pyllm::bindings::register_bpe_train(m);
  pyllm::bindings::register_wordpiece(m);
  pyllm::bindings::register_pretokenize(m);

  m.def("set_num_threads", &pyllm::set_num_threads, py::arg("n"),
        "Sets the number of OpenMP threads pyllm's kernels use.");
  m.def("get_num_threads", &pyllm::get_num_threads);
}
