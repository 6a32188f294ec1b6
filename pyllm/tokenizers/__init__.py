"""Tokenizers: byte-level BPE (the vocabularies of GPT-2, cl100k_base and o200k_base, or trained on your
text) with its file formats, BERT's WordPiece, and a character-level tokenizer. Encoding and training run in
pyllm's compiled core."""
from .bpe import BPETokenizer
from .char import CharTokenizer
from .wordpiece import WordPieceTokenizer

__all__ = ["BPETokenizer", "CharTokenizer", "WordPieceTokenizer", "from_pretrained"]


def from_pretrained(path):
    """The tokenizer of a Hugging Face model directory (tokenizer.json: byte-level BPE or WordPiece,
    vocab.json + merges.txt, or vocab.txt) or of a GGUF file. See pyllm/tokenizers/pretrained.py."""
    from .pretrained import from_pretrained as load
    return load(path)
