"""Byte-level BPE tokenizers: the vocabularies of GPT-2, cl100k_base, o200k_base or your own, with
tiktoken's and HF tokenizers' ids exactly. Encoding runs in the compiled core (pre-tokenizer, merge loop,
chunk cache); this class holds the vocabulary and translates arguments.

>>> tok = BPETokenizer.from_tiktoken("cl100k_base.tiktoken", pattern="cl100k")   # doctest: +SKIP
>>> tok.encode("hello world")                                                    # doctest: +SKIP
[15339, 1917]
"""
from .. import _core

_ALL = "all"
_MAX_ID = 1 << 24  # the core's bound on ids (its tables are indexed by id)


class BPETokenizer:
    """A byte-level BPE tokenizer.

    vocab: the bytes of each token, as a list indexed by id (``None`` where no token has that id) or a dict
        ``{bytes: id}``. It must hold all 256 single bytes.
    merges: ``None`` for tiktoken semantics (a pair merges when its concatenation is a token, the
        lowest-ranked first, the rank being the id; a chunk that is a token encodes to it directly), or the
        merges by priority as ``(left, right)`` pairs of ids or of bytes (HF tokenizers / GPT-2 semantics).
    pattern: the pre-tokenizer: "gpt2", "cl100k", "o200k", "none" (no splitting) or a regex.
    special_tokens: ``None``, a list of strings (they get the ids after the vocabulary, in order) or a dict
        ``{text: id}``.
    ignore_merges: with merges, a chunk that is a token encodes to it directly (HF's option of that name).
    unk_id: for a vocabulary that lacks some single bytes (SmolLM2's lacks 21 that never occurred in its
        training text): each such byte encodes as this id, a run of them as one (HF's BPE with ``unk_token``,
        ``byte_fallback`` and ``fuse_unk``, which is how transformers reads such GGUF vocabularies).
    """

    def __init__(self, vocab, merges=None, pattern="gpt2", special_tokens=None, *, ignore_merges=False,
                 unk_id=None):
        self._vocab = _vocab_list(vocab)
        self._pattern = pattern
        self._special_tokens = _special_dict(special_tokens, len(self._vocab))
        specials = list(self._special_tokens.items())
        # The core needs every byte as a token: a missing byte becomes a placeholder token after every real id,
        # which no merge involves, and the encoders turn placeholders into unk_id.
        self._unk_id, self._first_placeholder, core_vocab = _placeholders(self._vocab, self._special_tokens, unk_id)
        if merges is None:
            self._merges = None
            self._model = _core.BPEModel.from_ranks(core_vocab, pattern, specials)
        else:
            self._merges = _merge_ids(merges, self._vocab)
            self._model = _core.BPEModel.from_merges(core_vocab, self._merges, pattern, specials, bool(ignore_merges))
        names = list(self._special_tokens)
        self._special_index = {name: i for i, name in enumerate(names)}
        self._none = [0] * len(names)
        self._every = [1] * len(names)

    # ---- construction from files (see formats.py for the formats) ----
    @classmethod
    def train(cls, texts, vocab_size, pattern="gpt2", special_tokens=(), min_frequency=2, show_progress=True):
        """Trains a tokenizer on ``texts`` (a str, a list of file paths or an iterator of str); ``vocab_size``
        counts the 256 bytes, the merges and the special tokens (which get the last ids)."""
        from .train import train_bpe  # the trainer lives in its own module; most users only encode

        special_tokens = list(special_tokens)
        vocab, merges = train_bpe(texts, vocab_size, pattern=pattern, special_tokens=special_tokens,
                                  min_frequency=min_frequency, show_progress=show_progress)
        return cls(vocab, merges, pattern=pattern, special_tokens=special_tokens)

    @classmethod
    def load(cls, path):
        """A tokenizer written by :meth:`save`."""
        from . import formats
        return formats.load(path)

    def save(self, path):
        """Writes the tokenizer to ``path`` (pyllm's JSON format, documented in formats.py), atomically."""
        from . import formats
        formats.save(self, path)

    @classmethod
    def from_gpt2(cls, encoder_path, merges_path, pattern="gpt2", special_tokens=None):
        """GPT-2's ``encoder.json``/``vocab.json`` and ``vocab.bpe``/``merges.txt``."""
        from . import formats
        return formats.from_gpt2(encoder_path, merges_path, pattern=pattern, special_tokens=special_tokens)

    @classmethod
    def from_tiktoken(cls, path, pattern="cl100k", special_tokens=None):
        """A tiktoken rank file (``*.tiktoken``, plain or gzipped). ``special_tokens=None`` gives tiktoken's
        own special tokens where the file is that pattern's encoding (told by its token count)."""
        from . import formats
        return formats.from_tiktoken(path, pattern=pattern, special_tokens=special_tokens)

    @classmethod
    def from_hf_json(cls, path):
        """A Hugging Face ``tokenizer.json`` holding a byte-level BPE model."""
        from . import formats
        return formats.from_hf_json(path)

    def to_hf_json(self, path):
        """Writes a ``tokenizer.json`` that HF tokenizers loads and encodes identically."""
        from . import formats
        formats.to_hf_json(self, path)

    def save_pretrained(self, path, **roles):
        """Writes a Hugging Face tokenizer directory (tokenizer.json + tokenizer_config.json) that
        ``transformers.AutoTokenizer.from_pretrained(path)`` loads; ``roles``: ``bos_token="<|endoftext|>"``,
        ``eos_token``, ``unk_token``, ``pad_token`` (see pretrained.py)."""
        from .pretrained import save_pretrained
        return save_pretrained(self, path, **roles)

    # ---- encoding ----
    def encode(self, text, allowed_special=frozenset(), disallowed_special=_ALL):
        """The ids of ``text``. Text of an ``allowed_special`` token (a set of names, or "all") becomes that
        token's id; text of a ``disallowed_special`` one ("all": every special token not allowed) raises
        ValueError; text of any other special token is encoded as ordinary text. As tiktoken."""
        allowed, disallowed = self._masks(allowed_special, disallowed_special)
        return self._unk(self._model.encode(text, allowed, disallowed))

    def encode_ordinary(self, text):
        """The ids of ``text`` with special tokens' text encoded as ordinary text."""
        return self._unk(self._model.encode_ordinary(text))

    def encode_batch(self, texts, num_threads=None, allowed_special=frozenset(), disallowed_special=_ALL):
        """``[encode(t) for t in texts]``, on ``num_threads`` threads (default: pyllm.get_num_threads())."""
        allowed, disallowed = self._masks(allowed_special, disallowed_special)
        out = self._model.encode_batch(_text_list(texts), allowed, disallowed, _threads(num_threads))
        return [self._unk(ids) for ids in out]

    def encode_ordinary_batch(self, texts, num_threads=None):
        """``[encode_ordinary(t) for t in texts]``, in parallel."""
        out = self._model.encode_batch(_text_list(texts), self._none, self._none, _threads(num_threads))
        return [self._unk(ids) for ids in out]

    def _unk(self, ids):
        """Placeholders of missing bytes -> unk_id, a run of them as one."""
        if not ids or max(ids) < self._first_placeholder:
            return ids
        out, previous = [], False
        for id in ids:
            placeholder = id >= self._first_placeholder
            if not (placeholder and previous):
                out.append(self._unk_id if placeholder else id)
            previous = placeholder
        return out

    # ---- decoding ----
    def decode_bytes(self, ids):
        """The bytes of ``ids`` concatenated. ValueError names an id that is no token."""
        if self._first_placeholder < self._model.vocab_size:
            for id in ids:
                self._check_not_placeholder(int(id))
        return self._model.decode_bytes(ids)

    def decode(self, ids, errors="replace"):
        """The text of ``ids``; bytes that are not valid UTF-8 (a character split across tokens) become
        U+FFFD with ``errors="replace"``."""
        return self._model.decode_bytes(ids).decode("utf-8", errors)

    # ---- vocabulary ----
    def token_to_id(self, token):
        """The id of a special token's text or of an ordinary token's bytes (a str is taken as UTF-8);
        None if there is none."""
        if isinstance(token, str):
            if token in self._special_tokens:
                return self._special_tokens[token]
            token = token.encode("utf-8")
        id = self._model.find_token(bytes(token))
        return None if id is None or id >= self._first_placeholder else id

    def id_to_token(self, id):
        """The bytes of token ``id`` (a special token's UTF-8 text). ValueError for an unknown id."""
        self._check_not_placeholder(id)
        return self._model.token_bytes(id)

    def _check_not_placeholder(self, id):
        if self._first_placeholder <= id < self._model.vocab_size:
            raise ValueError(f"unknown token id {id} (the vocabulary has {self.vocab_size} ids)")

    @property
    def vocab_size(self):
        """1 + the largest id, special tokens included (tiktoken's n_vocab)."""
        return min(self._model.vocab_size, self._first_placeholder)

    @property
    def unk_id(self):
        """The id that bytes missing from the vocabulary encode as (None: the vocabulary has every byte)."""
        return self._unk_id

    @property
    def special_tokens(self):
        """``{text: id}`` of the special tokens."""
        return dict(self._special_tokens)

    @property
    def pattern(self):
        return self._pattern

    @property
    def vocab(self):
        """The bytes of each ordinary token, indexed by id (None where no token has that id)."""
        return list(self._vocab)

    @property
    def merges(self):
        """The merges as ``(left id, right id)`` by priority, or None (tiktoken semantics)."""
        return None if self._merges is None else list(self._merges)

    @property
    def ignore_merges(self):
        return self._model.ignore_merges

    def __len__(self):
        return self.vocab_size

    def __repr__(self):
        kind = "ranks" if self._merges is None else f"{len(self._merges)} merges"
        return (f"BPETokenizer(pattern={self._pattern!r}, vocab_size={self.vocab_size}, {kind}, "
                f"special_tokens={len(self._special_tokens)})")

    def _masks(self, allowed_special, disallowed_special):
        allowed = self._every if allowed_special == _ALL else self._mask(allowed_special, "allowed_special")
        if disallowed_special == _ALL:
            disallowed = [1 - a for a in allowed]
        else:
            disallowed = self._mask(disallowed_special, "disallowed_special")
        return allowed, disallowed

    def _mask(self, names, what):
        if isinstance(names, str):
            raise TypeError(f"{what} must be \"all\" or a collection of special tokens, not the string {names!r}")
        mask = list(self._none)
        for name in names:
            if name not in self._special_index:
                raise ValueError(f"{what}: {name!r} is not a special token of this tokenizer "
                                 f"(its special tokens: {sorted(self._special_index)})")
            mask[self._special_index[name]] = 1
        return mask


def _threads(num_threads):
    if num_threads is None:
        return 0
    if int(num_threads) < 1:
        raise ValueError(f"encode_batch: num_threads must be at least 1, got {num_threads}")
    return int(num_threads)


def _text_list(texts):
    if isinstance(texts, str):
        raise TypeError("encode_batch: expected a list of str, got a single str (use encode)")
    return texts if isinstance(texts, list) else list(texts)


def _vocab_list(vocab):
    if isinstance(vocab, dict):
        for token, id in vocab.items():
            if not isinstance(id, int) or not 0 <= id < _MAX_ID:
                raise ValueError(f"BPE: token {token!r} has id {id!r}; ids are integers in [0, {_MAX_ID})")
        out = [None] * (max(vocab.values(), default=-1) + 1)
        for token, id in vocab.items():
            out[id] = bytes(token)
        return out
    out = []
    for i, token in enumerate(vocab):
        if token is not None and not isinstance(token, (bytes, bytearray, memoryview)):
            raise TypeError(f"BPE: vocabulary entry {i} is {type(token).__name__}, not bytes")
        out.append(None if token is None else bytes(token))
    return out


def _special_dict(special_tokens, first_id):
    if special_tokens is None:
        return {}
    if isinstance(special_tokens, dict):
        items = list(special_tokens.items())
    else:
        if isinstance(special_tokens, str):
            raise TypeError("special_tokens must be a list of str or a dict {text: id}, not a str")
        items = [(text, first_id + i) for i, text in enumerate(special_tokens)]
    out = {}
    for text, id in items:
        if not isinstance(text, str) or not text:
            raise ValueError(f"BPE: special token {text!r} is not a non-empty str")
        if text in out:
            raise ValueError(f"BPE: special token {text!r} appears twice")
        out[text] = int(id)
    return out


def _placeholders(vocab, special_tokens, unk_id):
    """(unk_id, first placeholder id, the vocabulary for the core): single bytes missing from ``vocab`` are
    appended as placeholder tokens after the largest id. Without missing bytes, nothing is appended and the
    first placeholder id is past every id."""
    present = {t for t in vocab if t is not None and len(t) == 1}
    missing = [bytes([b]) for b in range(256) if bytes([b]) not in present]
    real = [i for i, t in enumerate(vocab) if t is not None] + list(special_tokens.values())
    first = max(real, default=-1) + 1
    if not missing:
        return (None if unk_id is None else int(unk_id)), max(first, len(vocab)), vocab
    if unk_id is None:
        raise ValueError(f"BPE: the vocabulary lacks {len(missing)} single bytes ({', '.join(repr(b) for b in missing[:8])}"
                         f"{' ...' if len(missing) > 8 else ''}); byte-level BPE needs all 256 bytes as tokens, or "
                         "unk_id for the missing ones")
    unk_id = int(unk_id)
    if not (0 <= unk_id < len(vocab) and vocab[unk_id] is not None) and unk_id not in special_tokens.values():
        raise ValueError(f"BPE: unk_id {unk_id} is neither a token nor a special token")
    return unk_id, first, vocab + [None] * (first - len(vocab)) + missing


def _merge_ids(merges, vocab):
    by_bytes = None
    out = []
    for i, merge in enumerate(merges):
        left, right = merge
        if isinstance(left, (bytes, bytearray)) or isinstance(right, (bytes, bytearray)):
            if by_bytes is None:
                by_bytes = {token: id for id, token in enumerate(vocab) if token is not None}
            try:
                left, right = by_bytes[bytes(left)], by_bytes[bytes(right)]
            except KeyError as e:
                raise ValueError(f"BPE: merge {i} ({merge[0]!r}, {merge[1]!r}) names {e.args[0]!r}, which is not "
                                 "in the vocabulary") from None
        out.append((int(left), int(right)))
    return out
