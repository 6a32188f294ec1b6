"""Tokenizers: byte-level BPE (the vocabularies of GPT-2, cl100k_base and o200k_base, or trained on your
text), with their file formats. Encoding and training run in pyllm's compiled core."""
from .bpe import BPETokenizer

__all__ = ["BPETokenizer"]
