"""Reading and writing byte-level BPE vocabularies.

pyllm's own format (``BPETokenizer.save`` / ``BPETokenizer.load``) is one UTF-8 JSON object:

    {
      "format": "pyllm-bpe",          # identifies the file
      "version": 1,                   # files of a newer version are refused, not misread
      "pattern": "gpt2",              # the pre-tokenizer: "gpt2", "cl100k", "o200k", "none" or a regex
      "vocab": ["AA==", ..., null],   # entry i: base64 of token i's bytes, null where no token has id i
      "merges": [[l, r], ...],        # (left id, right id) by priority; null: tiktoken rank semantics
      "ignore_merges": false,         # a chunk that is a token encodes to it directly (implied by null merges)
      "special_tokens": {"<|endoftext|>": 50256},
      "unk_id": null                  # optional: the id of bytes missing from the vocab (BPETokenizer's unk_id)
    }

Files are written atomically (a temporary file in the same directory, then ``os.replace``), so a crash
never leaves a half-written tokenizer; a truncated or corrupt file raises ValueError naming the file and
the problem.

Imports: GPT-2's ``encoder.json`` + ``vocab.bpe`` (also named ``vocab.json`` + ``merges.txt``), tiktoken rank
files (``*.tiktoken``, optionally gzipped: one ``base64-token rank`` per line), and HF tokenizers'
``tokenizer.json`` for byte-level BPE models (vocab and merges in GPT-2's byte-to-unicode alphabet, a
ByteLevel pre-tokenizer or a Split regex followed by ByteLevel, added tokens as special tokens). Export:
``tokenizer.json`` for HF tokenizers.
"""
import base64
import binascii
import gzip
import json
import pathlib
import zlib

from .. import _core
from ..io.atomic import atomic_write
from .bpe import BPETokenizer

FORMAT = "pyllm-bpe"
VERSION = 1

ENDOFTEXT = "<|endoftext|>"
# tiktoken's special tokens for the encodings whose pre-tokenizer each built-in pattern is, with the
# number of ordinary tokens that identifies that encoding's rank file.
TIKTOKEN_SPECIALS = {
    "gpt2": (50256, {ENDOFTEXT: 50256}),
    "cl100k": (100256, {ENDOFTEXT: 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                        "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}),
    "o200k": (199998, {ENDOFTEXT: 199999, "<|endofprompt|>": 200018}),
}

# The same splits written for HF tokenizers' regex engine (Oniguruma), where tiktoken's possessive
# `{1,3}+` would mean a repetition of `{1,3}`. Both spellings import as the built-in pattern.
_HF_REGEX = {
    "gpt2": r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "cl100k": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
              r"""\s*[\r\n]+|\s+(?!\S)|\s+""",
}


def _pattern_name(regex):
    for name in ("gpt2", "cl100k", "o200k"):
        if regex in (_HF_REGEX.get(name), _core.pretokenize_regex(name)):
            return name
    return regex


def _hf_regex(pattern):
    if pattern in _HF_REGEX:
        return _HF_REGEX[pattern]
    return _core.pretokenize_regex(pattern)  # o200k's needs no rewriting; a custom regex is itself


# ---- GPT-2's byte-to-unicode alphabet: each byte as a printable character ----
def bytes_to_unicode():
    """{byte: character}: printable Latin-1 bytes map to themselves, the others to U+0100 onwards."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {b: chr(b) for b in keep}, 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_BYTE_TO_CHAR = bytes_to_unicode()
_CHAR_TO_BYTE = {c: b for b, c in _BYTE_TO_CHAR.items()}


def _to_bytes(token, where):
    try:
        return bytes(_CHAR_TO_BYTE[c] for c in token)
    except KeyError as e:
        raise ValueError(f"{where}: token {token!r} is not in GPT-2's byte-level alphabet (character "
                         f"U+{ord(e.args[0]):04X}); only byte-level BPE vocabularies are supported") from None


def _to_unicode(token):
    return "".join(_BYTE_TO_CHAR[b] for b in token)


# ---- files ----
def _atomic_write(path, data):
    with atomic_write(path) as f:
        f.write(data)


def _read_json(path, what):
    data = pathlib.Path(path).read_bytes()
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a valid {what} (truncated or corrupt JSON: {e})") from None


def _require(cond, path, message):
    if not cond:
        raise ValueError(f"{path}: {message}")


# ---- pyllm's own format ----
def save(tok, path):
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "pattern": tok.pattern,
        "vocab": [None if t is None else base64.b64encode(t).decode("ascii") for t in tok.vocab],
        "merges": None if tok.merges is None else [list(m) for m in tok.merges],
        "ignore_merges": tok.ignore_merges,
        "special_tokens": tok.special_tokens,
        "unk_id": tok.unk_id,
    }
    _atomic_write(path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def load(path):
    return _from_doc(_read_json(path, "pyllm tokenizer file"), path)


def load_any(path):
    """A tokenizer file of either kind: pyllm's own or a Hugging Face tokenizer.json."""
    doc = _read_json(path, "tokenizer file")
    if isinstance(doc, dict) and "format" not in doc and "model" in doc:
        return _from_hf_doc(doc, path)
    return _from_doc(doc, path)


def _from_doc(doc, path):
    _require(isinstance(doc, dict) and doc.get("format") == FORMAT, path,
             f"not a pyllm tokenizer file (no \"format\": \"{FORMAT}\"; for a Hugging Face tokenizer.json use "
             "BPETokenizer.from_hf_json)")
    version = doc.get("version")
    _require(isinstance(version, int), path, "the \"version\" field is missing or not an integer")
    _require(version <= VERSION, path, f"format version {version} is newer than this pyllm reads ({VERSION})")
    for key, kind in (("pattern", str), ("vocab", list), ("special_tokens", dict), ("ignore_merges", bool)):
        _require(isinstance(doc.get(key), kind), path, f"the \"{key}\" field is missing or not a {kind.__name__}")
    vocab = []
    for i, entry in enumerate(doc["vocab"]):
        if entry is None:
            vocab.append(None)
            continue
        _require(isinstance(entry, str), path, f"vocab entry {i} is not a base64 string")
        try:
            vocab.append(base64.b64decode(entry, validate=True))
        except (binascii.Error, ValueError):
            raise ValueError(f"{path}: vocab entry {i} ({entry!r}) is not valid base64") from None
    merges = doc.get("merges")
    if merges is not None:
        _require(isinstance(merges, list), path, "the \"merges\" field is neither null nor a list")
        for i, m in enumerate(merges):
            _require(isinstance(m, list) and len(m) == 2 and all(isinstance(x, int) for x in m), path,
                     f"merge {i} is not a pair of token ids")
    specials = doc["special_tokens"]
    for text, id in specials.items():
        _require(isinstance(id, int), path, f"special token {text!r} has a non-integer id")
    _require(doc.get("unk_id") is None or isinstance(doc["unk_id"], int), path, "unk_id is neither null nor an integer")
    try:
        return BPETokenizer(vocab, merges, pattern=doc["pattern"], special_tokens=specials,
                            ignore_merges=doc["ignore_merges"], unk_id=doc.get("unk_id"))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None


# ---- GPT-2 ----
def from_gpt2(encoder_path, merges_path, pattern="gpt2", special_tokens=None):
    encoder = _read_json(encoder_path, "GPT-2 encoder.json")
    _require(isinstance(encoder, dict) and all(isinstance(v, int) for v in encoder.values()), encoder_path,
             "expected a JSON object mapping tokens to integer ids")
    vocab = {_to_bytes(token, encoder_path): id for token, id in encoder.items()}
    merges = []
    text = pathlib.Path(merges_path).read_bytes().decode("utf-8", errors="strict")
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or (n == 1 and line.startswith("#version")):
            continue
        parts = line.split()
        _require(len(parts) == 2, merges_path, f"line {n} ({line!r}) is not a pair of tokens")
        for part in parts:
            _require(part in encoder, merges_path, f"line {n}: token {part!r} is not in {encoder_path}")
        merges.append((encoder[parts[0]], encoder[parts[1]]))
    if special_tokens is None:
        special_tokens = {ENDOFTEXT: encoder[ENDOFTEXT]} if ENDOFTEXT in encoder else {}
    try:
        return BPETokenizer(vocab, merges, pattern=pattern, special_tokens=special_tokens)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{encoder_path}, {merges_path}: {e}") from None


# ---- tiktoken ----
def from_tiktoken(path, pattern="cl100k", special_tokens=None):
    data = pathlib.Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from None
    ranks = {}
    for n, line in enumerate(data.splitlines(), start=1):
        if not line:
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            token, rank = base64.b64decode(parts[0], validate=True), int(parts[1])
            if rank < 0:
                raise ValueError
        except ValueError:  # binascii.Error included
            raise ValueError(f"{path}: line {n} ({line[:60]!r}) is not \"<base64 token> <rank>\"") from None
        _require(token not in ranks, path, f"line {n}: token {token!r} appears twice")
        ranks[token] = rank
    if special_tokens is None:
        count, specials = TIKTOKEN_SPECIALS.get(pattern, (None, {}))
        special_tokens = specials if len(ranks) == count else {}
    try:
        return BPETokenizer(ranks, None, pattern=pattern, special_tokens=special_tokens)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None


# ---- Hugging Face tokenizer.json ----
def _hf_pattern(pre, path):
    """The pattern of a byte-level pre-tokenizer: ByteLevel alone, or Split(regex) then ByteLevel."""
    _require(isinstance(pre, dict), path, "the byte-level BPE model has no ByteLevel pre-tokenizer")
    steps = pre.get("pretokenizers") if pre.get("type") == "Sequence" else [pre]
    _require(isinstance(steps, list) and steps and isinstance(steps[-1], dict)
             and steps[-1].get("type") == "ByteLevel", path,
             f"pre-tokenizer {json.dumps(pre)[:200]} is not supported: byte-level BPE needs a ByteLevel "
             "pre-tokenizer, optionally after one Split")
    byte_level = steps[-1]
    _require(not byte_level.get("add_prefix_space", False), path,
             "ByteLevel(add_prefix_space=true) is not supported")
    if len(steps) == 1:
        return "gpt2" if byte_level.get("use_regex", True) else "none"
    split = steps[0]
    _require(len(steps) == 2 and split.get("type") == "Split" and not byte_level.get("use_regex", True), path,
             f"pre-tokenizer sequence {[s.get('type') for s in steps]} is not supported (Split then ByteLevel is)")
    regex = (split.get("pattern") or {}).get("Regex")
    _require(isinstance(regex, str) and split.get("behavior") == "Isolated" and not split.get("invert", False),
             path, "only Split with a Regex pattern, behavior Isolated and invert false is supported")
    return _pattern_name(regex)


def from_hf_json(path):
    return _from_hf_doc(_read_json(path, "Hugging Face tokenizer.json"), path)


def _from_hf_doc(doc, path):
    _require(isinstance(doc, dict) and isinstance(doc.get("model"), dict), path,
             "not a Hugging Face tokenizer.json (no \"model\" object)")
    model = doc["model"]
    _require(model.get("type", "BPE") == "BPE", path,
             f"the model is {model.get('type')}, not BPE (WordPiece models load with WordPieceTokenizer)")
    for key in ("continuing_subword_prefix", "end_of_word_suffix"):
        _require(not model.get(key), path, f"{key}={model.get(key)!r} is not byte-level BPE")
    _require(not model.get("byte_fallback"), path, "byte_fallback BPE (SentencePiece-style) is not byte-level BPE")
    _require(not model.get("dropout"), path, "BPE dropout is not supported (encoding would not be deterministic)")
    _require(doc.get("normalizer") is None, path,
             f"normalizer {json.dumps(doc.get('normalizer'))[:100]} is not supported")
    pattern = _hf_pattern(doc.get("pre_tokenizer"), path)
    _require(isinstance(model.get("vocab"), dict) and isinstance(model.get("merges"), list), path,
             "the model has no vocab object or merges list")
    specials = {}
    for t in doc.get("added_tokens") or []:
        _require(isinstance(t, dict) and isinstance(t.get("content"), str) and isinstance(t.get("id"), int), path,
                 f"added token {t!r} has no content or id")
        specials[t["content"]] = t["id"]
    vocab = {}
    for token, id in model["vocab"].items():
        _require(isinstance(id, int), path, f"token {token!r} has a non-integer id")
        if specials.get(token) == id:
            continue  # an added token listed in the vocab as its plain text: a special token here
        vocab[_to_bytes(token, path)] = id
    merges = []
    for i, m in enumerate(model["merges"]):
        pair = m.split(" ") if isinstance(m, str) else m
        _require(isinstance(pair, list) and len(pair) == 2 and all(p in model["vocab"] for p in pair), path,
                 f"merge {i} ({m!r}) is not a pair of vocabulary tokens")
        merges.append((model["vocab"][pair[0]], model["vocab"][pair[1]]))
    try:
        return BPETokenizer(vocab, merges, pattern=pattern, special_tokens=specials,
                            ignore_merges=bool(model.get("ignore_merges", False)))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None


def _ranks_as_merges(tok):
    """Merges reproducing tiktoken's rank semantics: each token's splits into two tokens, by rank. Exact
    except where two overlapping pairs make the same token (x+y == y+z), which tiktoken orders by position."""
    by_bytes = {t: id for id, t in enumerate(tok.vocab) if t is not None}
    merges = []
    for id, token in enumerate(tok.vocab):
        for k in range(1, len(token or b"")):
            left, right = by_bytes.get(token[:k]), by_bytes.get(token[k:])
            if left is not None and right is not None:
                merges.append((left, right))
    return merges


def to_hf_json(tok, path):
    vocab = tok.vocab
    merges = tok.merges if tok.merges is not None else _ranks_as_merges(tok)
    hf_vocab = {_to_unicode(t): id for id, t in enumerate(vocab) if t is not None}
    # HF gives an added token that is not in the model's vocabulary the next free id, so a special token
    # whose id is not the one after the vocabulary (cl100k's, o200k's) is listed there too, as its text.
    for text, id in tok.special_tokens.items():
        if id < len(vocab) and vocab[id] is not None:
            continue
        if text in hf_vocab:
            raise ValueError(f"to_hf_json: special token {text!r} reads as ordinary token {hf_vocab[text]} in "
                             "GPT-2's byte alphabet; HF tokenizers cannot hold both")
        hf_vocab[text] = id
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": tok.pattern == "gpt2"}
    if tok.pattern in ("gpt2", "none"):
        pre_tokenizer = byte_level
    else:
        split = {"type": "Split", "pattern": {"Regex": _hf_regex(tok.pattern)}, "behavior": "Isolated",
                 "invert": False}
        pre_tokenizer = {"type": "Sequence", "pretokenizers": [split, byte_level]}
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": id, "content": text, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for text, id in tok.special_tokens.items()],
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
            "ignore_merges": tok.ignore_merges,
            "vocab": hf_vocab,
            "merges": [f"{_to_unicode(vocab[l])} {_to_unicode(vocab[r])}" for l, r in merges],
        },
    }
    _atomic_write(path, json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))
