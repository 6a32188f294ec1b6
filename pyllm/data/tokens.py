"""A corpus tokenized once into memory-mapped token files, and random-window language-model batches from them,
as nanoGPT's prepare.py and get_batch.

    prepare_tokens(shakespeare_works(), tok, "data/shakespeare")  # writes train.bin, val.bin, meta.json
    train = TokenDataset.load("data/shakespeare", "train")          # a memory map: nothing is read up front
    x, y = train.get_batch(batch_size=12, block_size=64, rng=np.random.default_rng(1337))  # int64 (12, 64)

A .bin file is the token ids as raw little-endian uint16 (when the vocabulary has at most 65,536 ids) or uint32,
one after another; meta.json records the dtype, the vocabulary size, the tokenizer and the token counts. The
last `val_fraction` of the tokens are the validation split, as nanoGPT splits its text.

>>> import numpy as np
>>> data = TokenDataset(np.arange(100, dtype=np.uint16))
>>> x, y = data.get_batch(batch_size=2, block_size=4, rng=np.random.default_rng(0))
>>> x.tolist(), y.tolist()   # y is x shifted by one token
([[81, 82, 83, 84], [61, 62, 63, 64]], [[82, 83, 84, 85], [62, 63, 64, 65]])
"""
import json
import os

import numpy as np

from .. import _core
from ..io.atomic import atomic_write
from .corpora import _write_json_atomically

META = "meta.json"
FORMAT = "pyllm-tokens"


def encode_documents(tokenizer, texts):
    """The ids of each text as a NumPy int64 array, with the tokenizer's fastest ordinary (no special tokens)
    encoder: ``encode_ordinary_batch`` (parallel, BPETokenizer), ``encode_array`` (CharTokenizer),
    ``encode_ordinary`` or ``encode``. Ids that are negative or do not fit in uint32 raise ValueError."""
    if hasattr(tokenizer, "encode_ordinary_batch"):
        encoded = tokenizer.encode_ordinary_batch(texts)
    elif hasattr(tokenizer, "encode_array"):
        encoded = [tokenizer.encode_array(t) for t in texts]
    elif hasattr(tokenizer, "encode_ordinary"):
        encoded = [tokenizer.encode_ordinary(t) for t in texts]
    elif hasattr(tokenizer, "encode"):
        encoded = [tokenizer.encode(t) for t in texts]
    else:
        raise TypeError(f"a tokenizer needs encode() or encode_ordinary(); {type(tokenizer).__name__} has neither")
    arrays = []
    for i, ids in enumerate(encoded):
        try:
            a = np.asarray(ids, dtype=np.int64).reshape(-1)
        except (OverflowError, ValueError, TypeError) as e:
            raise ValueError(f"{type(tokenizer).__name__} returned ids for text {i} that are not int64 integers: "
                             f"{e}") from None
        if a.size and (a.min() < 0 or a.max() >= 2**32):
            bad = int(a.min()) if a.min() < 0 else int(a.max())
            raise ValueError(f"{type(tokenizer).__name__} returned id {bad} for text {i}; token files hold ids in "
                             "[0, 2**32)")
        arrays.append(a)
    return arrays


def token_dtype(vocab_size):
    """uint16 for vocabularies of at most 65,536 ids, else uint32 (at most 2**32)."""
    if vocab_size <= 2**16:
        return np.dtype("<u2")
    if vocab_size <= 2**32:
        return np.dtype("<u4")
    raise ValueError(f"a vocabulary of {vocab_size} ids does not fit in uint32 token files")


def prepare_tokens(texts, tokenizer, out_dir, val_fraction=0.1, separator_id=None, tokenizer_name=None):
    """Tokenizes ``texts`` once into ``out_dir``/train.bin and val.bin (memory-mappable) and meta.json; returns
    the meta dictionary.

    ``texts``: one str, a list of str (documents, tokenized in parallel where the tokenizer can), or a list of
    paths (``os.PathLike``: UTF-8 files, one document each). ``separator_id``: an id put after every document
    (GPT-2's <|endoftext|>), or None. The last ``val_fraction`` of all tokens is the validation split.
    ``tokenizer_name``: recorded in meta.json (e.g. the tokenizer file's path) beside the class name. Each file
    is written to a temporary file and renamed; meta.json comes last, so a directory with meta.json is complete.
    """
    if isinstance(texts, (str, os.PathLike)):
        texts = [texts]
    texts = list(texts)
    documents = []
    for t in texts:
        if isinstance(t, os.PathLike):
            with open(t, encoding="utf-8") as f:
                t = f.read()
        if not isinstance(t, str):
            raise TypeError(f"prepare_tokens: texts must be str or os.PathLike, got {type(t).__name__}")
        documents.append(t)
    if not any(documents):
        raise ValueError("prepare_tokens: the corpus is empty (no text in any document)")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"prepare_tokens: val_fraction must be in [0, 1), got {val_fraction}")
    arrays = encode_documents(tokenizer, documents)
    if separator_id is not None:
        if not 0 <= separator_id < 2**32:
            raise ValueError(f"prepare_tokens: separator_id {separator_id} is not an id in [0, 2**32)")
        arrays = [piece for a in arrays for piece in (a, np.array([separator_id], dtype=np.int64))]
    ids = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
    if ids.size == 0:
        raise ValueError(f"prepare_tokens: {type(tokenizer).__name__} encoded the corpus to no tokens")
    vocab_size = int(getattr(tokenizer, "vocab_size", int(ids.max()) + 1))
    if int(ids.max()) >= vocab_size:
        raise ValueError(f"prepare_tokens: id {int(ids.max())} is outside the tokenizer's vocabulary of "
                         f"{vocab_size} ids")
    dtype = token_dtype(vocab_size)
    n_val = int(round(len(ids) * val_fraction))
    splits = {"train": ids[:len(ids) - n_val], "val": ids[len(ids) - n_val:]}
    os.makedirs(out_dir, exist_ok=True)
    for split, part in splits.items():
        with atomic_write(os.path.join(out_dir, f"{split}.bin")) as f:
            part.astype(dtype).tofile(f)
    meta = {"format": FORMAT, "version": 1, "dtype": dtype.name, "vocab_size": vocab_size,
            "tokenizer": type(tokenizer).__name__, "tokenizer_name": tokenizer_name,
            "separator_id": separator_id, "documents": len(documents),
            "tokens": {split: int(len(part)) for split, part in splits.items()}}
    _write_json_atomically(os.path.join(os.path.abspath(out_dir), META), meta)
    return meta


def read_meta(directory):
    """meta.json of a directory written by ``prepare_tokens``; clear errors when it is missing or foreign."""
    path = os.path.join(directory, META)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: tokenize the corpus first with prepare_tokens()")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a pyllm token-file description (format {FORMAT!r})")
    return meta


class TokenDataset:
    """A 1-D array of token ids (usually a memory-mapped .bin file) sampled as random windows."""

    def __init__(self, tokens, vocab_size=None):
        tokens = np.asarray(tokens) if not isinstance(tokens, np.ndarray) else tokens
        if tokens.ndim != 1 or tokens.dtype.kind not in "iu":
            raise ValueError(f"TokenDataset: tokens must be a 1-D integer array, got {tokens.dtype} {tokens.shape}")
        self.tokens = tokens
        self.vocab_size = vocab_size

    @classmethod
    def load(cls, directory, split="train"):
        """The ``split`` ("train" or "val") of a directory written by ``prepare_tokens``, memory-mapped."""
        meta = read_meta(directory)
        if split not in meta["tokens"]:
            raise ValueError(f"TokenDataset.load: no split {split!r} in {directory}; it has "
                             f"{', '.join(meta['tokens'])}")
        path = os.path.join(directory, f"{split}.bin")
        dtype = np.dtype(meta["dtype"]).newbyteorder("<")
        expected = meta["tokens"][split] * dtype.itemsize
        size = os.path.getsize(path)
        if size != expected:
            raise ValueError(f"{path}: {size} bytes, but meta.json records {meta['tokens'][split]} {dtype.name} "
                             f"tokens ({expected} bytes): the file is truncated or from another run")
        tokens = np.memmap(path, dtype=dtype, mode="r") if size else np.zeros(0, dtype)
        return cls(tokens, meta["vocab_size"])

    def __len__(self):
        return len(self.tokens)

    def get_batch(self, batch_size, block_size, rng):
        """(x, y): int64 tensors (batch_size, block_size) of windows starting at uniformly random positions
        drawn from ``rng`` (a NumPy Generator); y[b, t] = x[b, t + 1], the next token."""
        if block_size < 1 or batch_size < 1:
            raise ValueError(f"get_batch: batch_size and block_size must be positive, got {batch_size}, {block_size}")
        if len(self.tokens) < block_size + 1:
            raise ValueError(f"get_batch: block_size {block_size} needs at least {block_size + 1} tokens, but the "
                             f"data holds {len(self.tokens)}")
        starts = rng.integers(0, len(self.tokens) - block_size, size=batch_size)          # (B,)
        windows = self.tokens[starts[:, None] + np.arange(block_size + 1)].astype(np.int64)  # (B, T+1)
        x = np.ascontiguousarray(windows[:, :-1])
        y = np.ascontiguousarray(windows[:, 1:])
        return _core.from_numpy(x), _core.from_numpy(y)
