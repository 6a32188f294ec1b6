// One register_* function per bound area; module.cpp calls them all.
#pragma once

#include <pybind11/pybind11.h>

namespace pyllm::bindings {

void register_dtype(pybind11::module_& m);     // dtype.cpp: dtype enum, device
void register_tensor(pybind11::module_& m);    // tensor.cpp: the Tensor class
void register_numpy(pybind11::module_& m);     // numpy.cpp: from_numpy, .numpy(), buffer protocol
void register_indexing(pybind11::module_& m);  // indexing.cpp: t[...] and t[...] = v
void register_dlpack(pybind11::module_& m);    // dlpack.cpp: __dlpack__, from_dlpack
void register_autograd(pybind11::module_& m);  // autograd.cpp: grad mode, backward, Node
void register_random(pybind11::module_& m);    // random.cpp: manual_seed, Generator, rand/randn
void register_ops(pybind11::module_& m);       // ops.cpp: the functional ops
void register_bpe(pybind11::module_& m);       // bpe.cpp: byte-level BPE encode/decode, pre-tokenizers
void register_bpe_train(pybind11::module_& m); // bpe_train.cpp: BPE training
void register_wordpiece(pybind11::module_& m); // wordpiece.cpp: BERT's WordPiece
void register_pretokenize(pybind11::module_& m); // pretokenize.cpp: pre-tokenizers, Unicode tables (tests)

}  // namespace pyllm::bindings
