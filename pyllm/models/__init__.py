"""Models, each a readable file with a ``Config`` dataclass: ``GPT`` (GPT-2), ``Llama``."""
from .gpt import GPT, GPTConfig
from .llama import Llama, LlamaConfig

__all__ = ["GPT", "GPTConfig", "Llama", "LlamaConfig"]
