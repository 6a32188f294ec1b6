"""A character-level tokenizer: one id per character of a fixed alphabet, as nanoGPT's Shakespeare model uses.

    tok = CharTokenizer.train(text)            # the characters of text, sorted: id i is the i-th
    ids = tok.encode("To be")                  # [32, 53, 1, 40, 43]
    tok.decode(ids)                            # "To be"
    tok.save("chars.json"); CharTokenizer.load("chars.json")

A character outside the alphabet raises ValueError naming it and its position, or becomes the `unk_token`
(an extra id after the characters) when one was given.
"""
import json
import os

import numpy as np

from ..io.atomic import atomic_write

FORMAT = "pyllm-char-tokenizer"


def _code_points(text):
    # UTF-32 gives one uint32 per character; "surrogatepass" lets a lone surrogate through as itself.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class CharTokenizer:
    """`chars`: the alphabet in id order (an iterable of distinct one-character strings, e.g. a str).
    `unk_token`: if given (e.g. "<unk>"), characters outside the alphabet get the id len(chars) and decode
    to this string; otherwise encoding them raises ValueError."""

    def __init__(self, chars, unk_token=None):
        chars = list(chars)
        seen = set()
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"CharTokenizer: the alphabet must hold single characters, got {c!r}")
            if c in seen:
                raise ValueError(f"CharTokenizer: the alphabet holds {c!r} twice")
            seen.add(c)
        if unk_token is not None and not isinstance(unk_token, str):
            raise TypeError(f"CharTokenizer: unk_token must be a str or None, got {type(unk_token).__name__}")
        if unk_token in seen:
            raise ValueError(f"CharTokenizer: unk_token {unk_token!r} is also a character of the alphabet")
        self.chars = chars
        self.unk_token = unk_token
        codes = _code_points("".join(chars)).astype(np.int64)
        self._order = np.argsort(codes)          # ids sorted by code point, for lookups by binary search
        self._sorted_codes = codes[self._order]
        self._tokens = np.array(chars + ([unk_token] if unk_token is not None else []), dtype=object)

    @classmethod
    def train(cls, text, unk_token=None):
        """The tokenizer whose alphabet is the distinct characters of `text` (a str, or an iterable of str),
        sorted by code point."""
        if isinstance(text, str):
            return cls(sorted(set(text)), unk_token)
        alphabet = set()
        for piece in text:
            if not isinstance(piece, str):
                raise TypeError(f"CharTokenizer.train: texts must be str, got {type(piece).__name__}")
            alphabet.update(piece)
        return cls(sorted(alphabet), unk_token)

    @property
    def vocab_size(self):
        """The number of ids: the characters, plus one for unk_token if there is one."""
        return len(self._tokens)

    def __len__(self):
        return self.vocab_size

    @property
    def unk_token_id(self):
        return None if self.unk_token is None else len(self.chars)

    def encode(self, text):
        """The id of each character of `text`, as a list."""
        return self.encode_array(text).tolist()

    def encode_array(self, text):
        """The ids of `text` as an int64 NumPy array (no Python objects per character: a 5 MB corpus takes
        tens of milliseconds)."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: text must be str, got {type(text).__name__}")
        codes = _code_points(text).astype(np.int64)
        if not len(self._sorted_codes):
            found = np.zeros(len(codes), dtype=bool)
            ids = np.zeros(len(codes), dtype=np.int64)
        else:
            where = np.minimum(np.searchsorted(self._sorted_codes, codes), len(self._sorted_codes) - 1)
            found = self._sorted_codes[where] == codes
            ids = self._order[where]
        if not found.all():
            if self.unk_token is None:
                position = int(np.argmin(found))
                raise ValueError(f"CharTokenizer.encode: character {text[position]!r} (U+{ord(text[position]):04X}) "
                                 f"at position {position} is not in the alphabet")
            ids = np.where(found, ids, self.unk_token_id)
        return ids.astype(np.int64)

    def decode(self, ids):
        """The text of `ids` (a list, NumPy array or 1-D tensor); ValueError naming an id out of range."""
        ids = np.asarray(ids)
        if ids.size == 0:
            return ""
        if ids.ndim != 1:
            raise ValueError(f"CharTokenizer.decode: ids must be 1-D, got shape {ids.shape}")
        if ids.dtype.kind not in "iu":
            raise TypeError(f"CharTokenizer.decode: ids must be integers, got {ids.dtype}")
        bad = (ids < 0) | (ids >= self.vocab_size)
        if bad.any():
            raise ValueError(f"CharTokenizer.decode: unknown id {int(ids[np.argmax(bad)])} (the vocabulary has ids "
                             f"0..{self.vocab_size - 1})")
        return "".join(self._tokens[ids])

    def token_to_id(self, token):
        """The id of a character (or of unk_token), or None."""
        if token == self.unk_token and token is not None:
            return self.unk_token_id
        if not isinstance(token, str) or len(token) != 1:
            return None
        code = _code_points(token).astype(np.int64)[0]
        i = np.searchsorted(self._sorted_codes, code)
        return int(self._order[i]) if i < len(self._sorted_codes) and self._sorted_codes[i] == code else None

    def id_to_token(self, id):
        if not 0 <= id < self.vocab_size:
            raise ValueError(f"CharTokenizer.id_to_token: unknown id {id} (the vocabulary has ids 0..{self.vocab_size - 1})")
        return self._tokens[id]

    # ---- files ----

    def save(self, path):
        """Writes the alphabet as JSON; the file is complete or absent, never half written."""
        with atomic_write(os.fspath(path), "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, "version": 1, "chars": self.chars, "unk_token": self.unk_token}, f,
                      ensure_ascii=False)

    @classmethod
    def load(cls, path):
        """A tokenizer written by save(); ValueError naming the file if it is not one."""
        path = os.fspath(path)
        with open(path, encoding="utf-8") as f:
            try:
                spec = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"CharTokenizer.load: {path} is not valid JSON ({e})") from None
        if not isinstance(spec, dict) or spec.get("format") != FORMAT or not isinstance(spec.get("chars"), list):
            raise ValueError(f"CharTokenizer.load: {path} is not a character tokenizer file")
        return cls(spec["chars"], spec.get("unk_token"))

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"
