"""Models, each a readable file with a ``Config`` dataclass: ``GPT`` (GPT-2), ``Llama``, ``Transformer`` (the
original encoder-decoder, for translation)."""
from .gpt import GPT, GPTConfig
from .llama import Llama, LlamaConfig
from .transformer import Transformer, TransformerConfig

__all__ = ["GPT", "GPTConfig", "Llama", "LlamaConfig", "Transformer", "TransformerConfig"]
