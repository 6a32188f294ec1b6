"""pyllm: a from-scratch LLM framework with a C++ tensor, autograd and attention core.

>>> import pyllm
>>> x = pyllm.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.tolist()
[[2.0, 4.0], [6.0, 8.0]]
"""
from . import _core
from ._core import (
    Generator,
    Tensor,
    device,
    dtype,
    from_numpy,
    get_num_threads,
    initial_seed,
    manual_seed,
    set_num_threads,
)
from . import _tensor  # attaches the Python-side Tensor methods
from ._creation import (
    arange,
    empty,
    empty_like,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .dlpack import from_dlpack
from . import autograd, nn, optim

dtype.__repr__ = dtype.__str__ = lambda self: f"pyllm.{self.name}"

float32 = dtype.float32
float64 = dtype.float64
float16 = dtype.float16
bfloat16 = dtype.bfloat16
int32 = dtype.int32
int64 = dtype.int64
bool = dtype.bool  # noqa: A001 - pyllm.bool mirrors torch.bool
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001



def from_pretrained(path, dtype=float32):
    """The model in the Hugging Face model directory ``path`` (config.json + model.safetensors, sharded
    safetensors or pytorch_model.bin) as a pyllm model: GPT2LMHeadModel -> ``GPT``, LlamaForCausalLM ->
    ``Llama``, BertModel -> ``Encoder`` (with sentence-transformers' pooling), MarianMTModel -> ``Transformer``. Weights convert to ``dtype`` (``None``: keep the checkpoint's). See pyllm/io/hf.py. A ``.gguf``
    file (a llama-architecture model, e.g. SmolLM2) loads as a ``Llama`` dequantized to float32 (pyllm/io/gguf.py);
    ``pyllm.tokenizers.from_pretrained`` reads its tokenizer."""
    import os
    if os.path.isfile(path) and str(path).endswith(".gguf"):
        from .io.gguf_llama import load_model
        model = load_model(path)[0]
        return model if dtype in (None, float32) else model.to(dtype)
    from .io.hf import from_pretrained as load
    return load(path, dtype=dtype)


__version__ = "0.1.0"
