"""Models, each a readable file with a ``Config`` dataclass: ``GPT`` (GPT-2), ``Llama``, ``Transformer`` (the
original encoder-decoder, for translation), ``Encoder`` (BERT)."""
from .encoder import Encoder, EncoderConfig
from .gpt import GPT, GPTConfig
from .llama import Llama, LlamaConfig
from .transformer import Transformer, TransformerConfig

__all__ = ["Encoder", "EncoderConfig", "GPT", "GPTConfig", "Llama", "LlamaConfig", "Transformer", "TransformerConfig"]
