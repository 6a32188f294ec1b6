"""The tokenizer of a Hugging Face model directory, and writing one that ``transformers.AutoTokenizer`` reads.

A directory may hold, by preference:

    tokenizer.json              HF tokenizers' file: a byte-level BPE model -> BPETokenizer,
                                a WordPiece model -> WordPieceTokenizer
    vocab.json + merges.txt     GPT-2's vocabulary and merges -> BPETokenizer
    vocab.txt                   BERT's vocabulary (options from tokenizer_config.json) -> WordPieceTokenizer

or ``path`` may be a GGUF file, whose ``tokenizer.ggml.*`` metadata gives a BPETokenizer (tokenizers/gguf.py).

>>> tok = from_pretrained("gpt2-dir")                    # doctest: +SKIP
>>> save_pretrained(tok, "copy")                         # doctest: +SKIP
"""
import json
import os
import pathlib

from ..io.atomic import atomic_write
from .bpe import BPETokenizer
from .wordpiece import WordPieceTokenizer

ENDOFTEXT = "<|endoftext|>"
ROLES = ("bos_token", "eos_token", "unk_token", "pad_token")


def from_pretrained(path):
    """The tokenizer stored in the model directory ``path`` (see the module docstring for the files)."""
    path = pathlib.Path(path)
    if path.is_file() and path.suffix == ".gguf":
        from ..io.gguf import GGUFFile
        from .gguf import tokenizer_from_gguf
        gguf = GGUFFile(path)
        return tokenizer_from_gguf(gguf.metadata, gguf.path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: neither a model directory nor a .gguf file")
    if (path / "tokenizer.json").is_file():
        file = path / "tokenizer.json"
        try:
            doc = json.loads(file.read_bytes().decode("utf-8"))
            kind = doc["model"].get("type", "BPE")
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{file}: not valid JSON (truncated or corrupt: {e})") from None
        except (KeyError, TypeError, AttributeError):
            raise ValueError(f"{file}: not a Hugging Face tokenizer.json (no \"model\" object)") from None
        if kind == "BPE":
            return BPETokenizer.from_hf_json(file)
        if kind == "WordPiece":
            return WordPieceTokenizer.from_tokenizer_json(file)
        raise ValueError(f"{file}: tokenizer model {kind!r} is not supported (byte-level BPE and WordPiece are)")
    if (path / "vocab.json").is_file() and (path / "merges.txt").is_file():
        return BPETokenizer.from_gpt2(path / "vocab.json", path / "merges.txt")
    if (path / "vocab.txt").is_file():
        return WordPieceTokenizer.from_file(path)
    raise FileNotFoundError(f"{path}: no tokenizer: looked for tokenizer.json, vocab.json + merges.txt and "
                            "vocab.txt")


def save_pretrained(tok, path, **roles):
    """Writes ``tok`` (a BPETokenizer) to the directory ``path``: tokenizer.json and tokenizer_config.json,
    which names the special tokens and the roles given as keyword arguments (``bos_token``, ``eos_token``,
    ``unk_token``, ``pad_token``: texts of special tokens). Without any, a tokenizer holding GPT-2's
    "<|endoftext|>" gets GPT-2's roles: it is both bos and eos. Returns the paths written."""
    if not isinstance(tok, BPETokenizer):
        raise TypeError(f"save_pretrained: expects a BPETokenizer, got {type(tok).__name__}")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise TypeError(f"save_pretrained: unknown role(s) {', '.join(unknown)}; roles: {', '.join(ROLES)}")
    specials = tok.special_tokens
    if not roles and ENDOFTEXT in specials:
        roles = {"bos_token": ENDOFTEXT, "eos_token": ENDOFTEXT}
    for role, text in roles.items():
        if text is not None and text not in specials:
            raise ValueError(f"save_pretrained: {role}={text!r} is not one of the tokenizer's special tokens "
                             f"({', '.join(specials) or 'none'})")
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {str(id): {"content": text, "lstrip": False, "normalized": False, "rstrip": False,
                                           "single_word": False, "special": True}
                                 for text, id in sorted(specials.items(), key=lambda item: item[1])},
        **{role: text for role, text in roles.items() if text is not None},
    }
    path = pathlib.Path(path)
    os.makedirs(path, exist_ok=True)
    tok.to_hf_json(path / "tokenizer.json")
    with atomic_write(path / "tokenizer_config.json", "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return [path / "tokenizer.json", path / "tokenizer_config.json"]
