"""Layers as modules (``pyllm.nn.Linear``, ...), each holding its parameters and calling functional ops."""
from .activation import GELU, ReLU, SiLU
from .attention import MultiHeadAttention, attention, merge_heads, split_heads
from .block import TransformerBlock
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .embedding import Embedding
from .feedforward import MLP, SwiGLU
from .kv_cache import KVCache
from .linear import Linear
from .module import Module, Parameter
from .normalization import LayerNorm, RMSNorm
from .positional import RotaryEmbedding, SinusoidalPositionalEncoding, rotate_half

__all__ = ["Dropout", "Embedding", "GELU", "KVCache", "LayerNorm", "Linear", "MLP", "Module", "ModuleDict",
           "ModuleList", "MultiHeadAttention", "Parameter", "RMSNorm", "ReLU", "RotaryEmbedding", "Sequential",
           "SiLU", "SinusoidalPositionalEncoding", "SwiGLU", "TransformerBlock", "attention", "merge_heads",
           "rotate_half", "split_heads"]
