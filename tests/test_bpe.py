"""Byte-level BPE: ids byte-exact with tiktoken (gpt2, cl100k_base, o200k_base) and HF tokenizers (GPT-2),
special tokens as tiktoken handles them, parallel batches, decoding, and the file formats."""
import gzip
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import assets
import tokenizer_refs as R
from pyllm.tokenizers import BPETokenizer

TIKTOKEN_NAMES = {"gpt2": "gpt2", "cl100k": "cl100k_base", "o200k": "o200k_base"}


def ours(name):
    """Our tokenizer for a built-in encoding, loaded once per session from its files."""
    cache = ours.__dict__.setdefault("cache", {})
    if name not in cache:
        if name == "gpt2":
            cache[name] = BPETokenizer.from_gpt2(R.asset(assets.GPT2_ENCODER), R.asset(assets.GPT2_MERGES))
        else:
            cache[name] = BPETokenizer.from_tiktoken(R.asset(assets.CL100K if name == "cl100k" else assets.O200K),
                                                     pattern=name)
    return cache[name]


def reference(name):
    return R.tiktoken_encoding(TIKTOKEN_NAMES[name])


def sample(key):
    return R.shakespeare_play() if key == "shakespeare" else R.SAMPLES[key]


SAMPLE_KEYS = ["shakespeare", *R.SAMPLES]
ENCODINGS = list(TIKTOKEN_NAMES)


# ---- parity with the reference tokenizers ----
@pytest.mark.parametrize("key", SAMPLE_KEYS)
@pytest.mark.parametrize("name", ENCODINGS)
def test_ids_equal_tiktoken(name, key):
    text = sample(key)
    expected = reference(name).encode_ordinary(text)
    assert ours(name).encode_ordinary(text) == expected
    assert ours(name).encode(text) == expected
    assert ours(name).decode(expected) == text


@pytest.mark.parametrize("key", SAMPLE_KEYS)
def test_gpt2_ids_equal_hf_tokenizers(key):
    text = sample(key)
    assert ours("gpt2").encode(text) == R.hf_gpt2().encode(text).ids


# Pieces that meet at the pre-tokenizers' decision points: letters of several scripts and cases,
# apostrophes, digits, spaces before newlines, combining marks, emoji joiners.
PIECES = ["a", "Z", "é", "É", "ß", "中", "ｶ", "한", "1", "٣", "²", " ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0",
          "\u3000", "'", "'s", "'LL", "’", "!", "?!", "...", "-", "/", "\u0301", "\u200d", "😀", "👍🏽", "🇯🇵",
          "$", "_", "\x00", "\x7f", "\ufeff", "<|endoftext|>"]
piece_texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
any_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@pytest.mark.parametrize("name", ENCODINGS)
@settings(max_examples=300, deadline=None)
@given(text=st.one_of(piece_texts, any_texts))
def test_random_text_equals_tiktoken(name, text):
    assert ours(name).encode_ordinary(text) == reference(name).encode_ordinary(text)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(piece_texts, any_texts))
def test_random_text_gpt2_equals_hf(text):
    # HF cuts added tokens out of any text, as encode does with every special token allowed.
    assert ours("gpt2").encode(text, allowed_special="all") == R.hf_gpt2().encode(text).ids


@pytest.mark.parametrize("name", ENCODINGS)
@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=100))
def test_decode_inverts_encode(name, text):
    tok = ours(name)
    assert tok.decode(tok.encode_ordinary(text)) == text
    assert tok.decode_bytes(tok.encode_ordinary(text)) == text.encode("utf-8")


@pytest.mark.parametrize("name", ENCODINGS)
def test_lone_surrogates_like_tiktoken(name):
    # A lone surrogate has no UTF-8: tiktoken replaces it with U+FFFD; a split pair is joined first.
    for text in ["\ud800", "a\udfffb", "x\ud83d\ude00y", "\ud83d", "\ude00\ud83d"]:
        assert ours(name).encode(text) == reference(name).encode(text)
    assert ours(name).encode_batch(["ok", "a\udfffb"]) == reference(name).encode_batch(["ok", "a\udfffb"])


def test_custom_regex_equals_tiktoken():
    # Any regex pattern: tiktoken runs the same ranks with the same pattern.
    tiktoken = pytest.importorskip("tiktoken")
    pattern = r"""[A-Za-z]+|\d|\s+|[^A-Za-z\d\s]+"""
    ranks = R.tiktoken_ranks(assets.CL100K)
    ref = tiktoken.Encoding("custom", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
    tok = BPETokenizer(ranks, pattern=pattern)
    for key in SAMPLE_KEYS:
        assert tok.encode(sample(key)) == ref.encode(sample(key)), key


def test_pattern_none_encodes_the_text_as_one_chunk():
    tiktoken = pytest.importorskip("tiktoken")
    ranks = R.tiktoken_ranks(assets.CL100K)
    ref = tiktoken.Encoding("whole", pat_str=r"[\s\S]+", mergeable_ranks=ranks, special_tokens={})
    tok = BPETokenizer(ranks, pattern="none")
    for text in ["hello world", "  two  spaces\n", R.SAMPLES["emoji"], R.SAMPLES["bible"][:300]]:
        assert tok.encode(text) == ref.encode(text)


def test_long_runs_encode_in_linear_time():
    # One 300 kB chunk (a run of letters) and a 1 MB run of digits: the merge loop must not be quadratic.
    tok = ours("cl100k")
    for text in ["ab" * 150_000, "7" * 1_000_000, "x" * 300_000 + " y"]:
        ids = tok.encode(text)
        assert tok.decode(ids) == text
    n = 20_000
    assert tok.encode("ab" * n) == reference("cl100k").encode("ab" * n)


# ---- special tokens (as tiktoken) ----
SPECIAL_TEXT = "a<|endoftext|>b <|fim_prefix|>x<|fim_middle|> <|endofprompt|>\n<|endoftext|><|endoftext|>"


@pytest.mark.parametrize("name", ENCODINGS)
def test_special_tokens_like_tiktoken(name):
    tok, ref = ours(name), reference(name)
    assert tok.special_tokens == ref._special_tokens
    present = [s for s in ref.special_tokens_set if s in SPECIAL_TEXT]
    with pytest.raises(ValueError, match="special token"):
        ref.encode(SPECIAL_TEXT)
    with pytest.raises(ValueError, match="disallowed"):
        tok.encode(SPECIAL_TEXT)
    assert tok.encode(SPECIAL_TEXT, allowed_special="all") == ref.encode(SPECIAL_TEXT, allowed_special="all")
    assert tok.encode(SPECIAL_TEXT, disallowed_special=()) == ref.encode(SPECIAL_TEXT, disallowed_special=())
    assert tok.encode_ordinary(SPECIAL_TEXT) == ref.encode_ordinary(SPECIAL_TEXT)
    for one in present:
        assert (tok.encode(SPECIAL_TEXT, allowed_special={one}, disallowed_special=())
                == ref.encode(SPECIAL_TEXT, allowed_special={one}, disallowed_special=()))
        with pytest.raises(ValueError):
            ref.encode(SPECIAL_TEXT, allowed_special=set(), disallowed_special={one})
        with pytest.raises(ValueError, match="disallowed"):
            tok.encode(SPECIAL_TEXT, allowed_special=set(), disallowed_special={one})
    if len(present) > 1:  # one allowed, the others still disallowed by default
        with pytest.raises(ValueError, match="disallowed"):
            tok.encode(SPECIAL_TEXT, allowed_special={present[0]})
    with pytest.raises(ValueError, match="not a special token"):
        tok.encode("x", allowed_special={"<|nope|>"})
    with pytest.raises(TypeError, match="allowed_special"):
        tok.encode("x", allowed_special="<|endoftext|>")


def test_special_tokens_of_a_new_vocabulary():
    vocab = [bytes([b]) for b in range(256)] + [b"ab"]
    tok = BPETokenizer(vocab, [(97, 98)], pattern="none", special_tokens=["<|end|>", "<|end|>x"])
    assert tok.special_tokens == {"<|end|>": 257, "<|end|>x": 258}
    assert tok.vocab_size == 259
    # The longest special token matches where two begin at the same place.
    assert tok.encode("ab<|end|>xab<|end|>", allowed_special="all") == [256, 258, 256, 257]
    assert tok.encode("ab<|end|>x", allowed_special={"<|end|>"}, disallowed_special=()) == [256, 257, ord("x")]
    assert tok.decode([256, 258, 257]) == "ab<|end|>x<|end|>"


# ---- batches ----
@pytest.mark.parametrize("name", ["gpt2", "cl100k"])
def test_encode_batch_equals_serial(name):
    tok, ref = ours(name), reference(name)
    texts = [*R.SAMPLES.values(), *R.shakespeare_play().split("\n\n")[:2000], SPECIAL_TEXT.replace("<|fim", "<fim")]
    serial = [tok.encode(t, allowed_special="all") for t in texts]
    for threads in (None, 1, 2, 3):
        assert tok.encode_batch(texts, num_threads=threads, allowed_special="all") == serial
    assert tok.encode_ordinary_batch(texts, num_threads=2) == ref.encode_ordinary_batch(texts)
    assert tok.encode_batch(iter(texts[:5]), allowed_special="all") == serial[:5]
    assert tok.encode_batch([]) == []
    with pytest.raises(ValueError, match="disallowed"):
        tok.encode_batch(["fine", "bad <|endoftext|>"], num_threads=2)
    with pytest.raises(TypeError, match="single str"):
        tok.encode_batch("not a list")
    with pytest.raises(ValueError, match="num_threads"):
        tok.encode_batch(["a"], num_threads=0)
    with pytest.raises(TypeError, match="expected str"):
        tok.encode_batch(["a", 3])


# ---- decoding ----
@pytest.mark.parametrize("name", ENCODINGS)
def test_decode_replaces_invalid_utf8_like_tiktoken(name, rng):
    tok, ref = ours(name), reference(name)
    ids = ref.encode(R.SAMPLES["emoji"] + R.SAMPLES["chinese"] + R.SAMPLES["combining"])
    for _ in range(50):  # random slices cut characters in the middle
        a, b = sorted(rng.integers(0, len(ids) + 1, size=2))
        assert tok.decode(ids[a:b]) == ref.decode(ids[a:b])
        assert tok.decode_bytes(ids[a:b]) == ref.decode_bytes(ids[a:b])
    random_ids = rng.integers(0, 50000, size=300).tolist()
    assert tok.decode(random_ids) == ref.decode(random_ids)
    assert tok.decode(np.array(ids[:20], dtype=np.int64)) == ref.decode(ids[:20])
    assert tok.decode([]) == ""


def test_decode_rejects_unknown_ids():
    tok = ours("cl100k")
    # cl100k has no token 100256 (between the ranks and the specials) nor 100261..100275.
    for bad in [100256, 100261, 100277, 10**12, -1]:
        with pytest.raises(ValueError, match=f"unknown token id {bad}"):
            tok.decode([15339, bad])
        with pytest.raises(ValueError, match=f"unknown token id {bad}"):
            tok.id_to_token(bad)
    with pytest.raises(TypeError, match="integers"):
        tok.decode([1, "2"])
    with pytest.raises(TypeError, match="integers"):
        tok.decode([1.5])


@pytest.mark.parametrize("name", ENCODINGS)
def test_vocabulary_accessors(name):
    tok, ref = ours(name), reference(name)
    assert tok.vocab_size == ref.n_vocab == len(tok)
    for token in [b"hello", b" world", b"!", bytes([255])]:
        assert tok.token_to_id(token) == ref.encode_single_token(token)
        assert tok.id_to_token(tok.token_to_id(token)) == token
    assert tok.token_to_id(" world") == ref.encode_single_token(b" world")
    assert tok.token_to_id("<|endoftext|>") == ref.eot_token
    assert tok.id_to_token(ref.eot_token) == b"<|endoftext|>"
    assert tok.token_to_id(b"no such token \x00\x01") is None
    assert tok.pattern == name
    assert repr(tok).startswith("BPETokenizer(")


# ---- constructing from vocabularies ----
def test_constructor_forms():
    vocab = [bytes([b]) for b in range(256)] + [b"ab", b"abc", b"c d"]
    by_ids = BPETokenizer(vocab, [(97, 98), (256, 99)], pattern="none")
    by_bytes = BPETokenizer({t: i for i, t in enumerate(vocab)}, [(b"a", b"b"), (b"ab", b"c")], pattern="none")
    for tok in (by_ids, by_bytes):
        assert tok.encode("abcab c") == [257, 256, 32, 99]  # no merge builds "c d": its bytes stay apart
        assert tok.merges == [(97, 98), (256, 99)]
    # tiktoken semantics: a chunk that is a token encodes to it, though no pair of tokens builds "c d".
    ranks = BPETokenizer(vocab, None, pattern="none")
    assert ranks.encode("c d") == [258] and by_ids.encode("c d") == [99, 32, 100]
    assert ranks.encode("abc d") == [257, 32, 100]
    assert ranks.merges is None


def test_constructor_rejects_bad_vocabularies():
    vocab = [bytes([b]) for b in range(256)] + [b"ab"]
    with pytest.raises(ValueError, match="single byte"):
        BPETokenizer(vocab[1:] + [b"\x00\x00"], pattern="none")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        BPETokenizer(vocab, [(b"a", b"z")], pattern="none")
    with pytest.raises(ValueError, match="merge 0"):
        BPETokenizer(vocab, [(97, 99)], pattern="none")
    with pytest.raises(ValueError, match="both"):
        BPETokenizer(vocab + [b"ab"], pattern="none")
    with pytest.raises(TypeError, match="not bytes"):
        BPETokenizer(vocab + ["str"], pattern="none")
    with pytest.raises(TypeError, match="special_tokens"):
        BPETokenizer(vocab, special_tokens="<|end|>", pattern="none")
    with pytest.raises(ValueError, match="appears twice"):
        BPETokenizer(vocab, special_tokens=["<a>", "<a>"], pattern="none")
    with pytest.raises(ValueError, match="ids are integers"):
        BPETokenizer({b"a": -1}, pattern="none")


# ---- pyllm's own file format ----
def round_trip(tok, path):
    tok.save(path)
    assert not [p for p in os.listdir(os.path.dirname(path)) if p.endswith(".tmp")]
    return BPETokenizer.load(path)


@pytest.mark.parametrize("name", ENCODINGS)
def test_save_load_round_trip(name, tmp_path):
    tok = ours(name)
    loaded = round_trip(tok, tmp_path / "tok.json")
    assert loaded.vocab == tok.vocab and loaded.merges == tok.merges
    assert loaded.special_tokens == tok.special_tokens and loaded.pattern == tok.pattern
    for key in SAMPLE_KEYS:
        assert loaded.encode(sample(key)) == tok.encode(sample(key))
    assert loaded.encode(SPECIAL_TEXT, allowed_special="all") == tok.encode(SPECIAL_TEXT, allowed_special="all")


def test_save_load_keeps_custom_settings(tmp_path):
    vocab = [bytes([b]) for b in range(256)] + [None, b"ab", b"abab"]  # a gap at id 256
    tok = BPETokenizer(vocab, [(97, 98), (257, 257)], pattern=r"\w+|\W+", special_tokens={"<x>": 400},
                       ignore_merges=True)
    loaded = round_trip(tok, tmp_path / "t.json")
    assert loaded.vocab == vocab and loaded.ignore_merges and loaded.pattern == r"\w+|\W+"
    assert loaded.encode("abab ab<x>", allowed_special="all") == tok.encode("abab ab<x>", allowed_special="all")
    assert loaded.encode("abab ab<x>", allowed_special="all") == [258, 32, 257, 400]


def test_corrupt_files_raise_clear_errors(tmp_path):
    vocab = [bytes([b]) for b in range(256)] + [b"ab"]
    path = tmp_path / "tok.json"
    BPETokenizer(vocab, [(97, 98)], pattern="none", special_tokens=["<e>"]).save(path)
    good = json.loads(path.read_text())
    cases = {
        "truncated": (path.read_bytes()[: len(path.read_bytes()) // 2], "truncated or corrupt"),
        "binary": (b"\x89PNG\r\n\x1a\n\x00", "truncated or corrupt"),
        "empty": (b"", "truncated or corrupt"),
        "hf": (json.dumps({"model": {}}).encode(), "not a pyllm tokenizer file"),
        "newer": (json.dumps({**good, "version": 99}).encode(), "version 99 is newer"),
        "no vocab": (json.dumps({k: v for k, v in good.items() if k != "vocab"}).encode(), "vocab"),
        "bad base64": (json.dumps({**good, "vocab": good["vocab"][:-1] + ["@@@"]}).encode(), "vocab entry 256"),
        "bad merge": (json.dumps({**good, "merges": [[97]]}).encode(), "merge 0"),
        "missing byte": (json.dumps({**good, "vocab": good["vocab"][1:]}).encode(), "single byte"),
        "bad special": (json.dumps({**good, "special_tokens": {"<e>": "x"}}).encode(), "non-integer id"),
    }
    for name, (data, message) in cases.items():
        bad = tmp_path / f"{name.replace(' ', '_')}.json"
        bad.write_bytes(data)
        with pytest.raises(ValueError, match=message) as e:
            BPETokenizer.load(bad)
        assert str(bad) in str(e.value), name


# ---- tiktoken and GPT-2 files ----
def test_from_tiktoken_plain_and_gzipped(tmp_path):
    plain = R.tiktoken_file(assets.CL100K)
    a = BPETokenizer.from_tiktoken(plain, pattern="cl100k")
    assert a.vocab == ours("cl100k").vocab and a.special_tokens == ours("cl100k").special_tokens
    assert BPETokenizer.from_tiktoken(plain, pattern="cl100k", special_tokens={}).special_tokens == {}
    # A rank file of another size is not cl100k_base: no built-in special tokens are assumed.
    small = tmp_path / "small.tiktoken"
    small.write_bytes(b"".join(line + b"\n" for line in plain.read_bytes().splitlines()[:300]))
    assert BPETokenizer.from_tiktoken(small, pattern="cl100k").special_tokens == {}


def test_from_tiktoken_rejects_malformed_files(tmp_path):
    lines = R.tiktoken_file(assets.CL100K).read_bytes().splitlines()[:300]
    cases = {
        "fields": (b"\n".join(lines[:10] + [b"QUFB"] + lines[10:]), "line 11"),
        "base64": (b"\n".join(lines[:5] + [b"!!!! 5"]), "line 6"),
        "rank": (b"\n".join(lines[:5] + [lines[5].split()[0] + b" five"]), "line 6"),
        "twice": (b"\n".join(lines + [lines[3].split()[0] + b" 999"]), "appears twice"),
        "gzip": (gzip.compress(b"\n".join(lines))[:100], "gzip"),
        "missing byte": (b"\n".join(lines[1:]), "single byte"),
    }
    for name, (data, message) in cases.items():
        bad = tmp_path / f"{name.replace(' ', '_')}.tiktoken"
        bad.write_bytes(data)
        with pytest.raises(ValueError, match=message):
            BPETokenizer.from_tiktoken(bad)


def test_from_gpt2_rejects_malformed_files(tmp_path):
    encoder = R.asset(assets.GPT2_ENCODER)
    merges = R.asset(assets.GPT2_MERGES).read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "merges.txt"
    bad.write_text("\n".join(merges[:100] + ["Ġthe zzzqqq"]), encoding="utf-8")
    with pytest.raises(ValueError, match="line 101"):
        BPETokenizer.from_gpt2(encoder, bad)
    bad.write_text("\n".join(merges[:100] + ["one two three"]), encoding="utf-8")
    with pytest.raises(ValueError, match="not a pair"):
        BPETokenizer.from_gpt2(encoder, bad)
    bad_encoder = tmp_path / "encoder.json"
    bad_encoder.write_text('{"a": 1, "b": ', encoding="utf-8")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        BPETokenizer.from_gpt2(bad_encoder, R.asset(assets.GPT2_MERGES))


# ---- Hugging Face tokenizer.json ----
def test_hf_json_import_of_hf_gpt2(tmp_path):
    path = tmp_path / "tokenizer.json"
    R.hf_gpt2().save(str(path))
    tok = BPETokenizer.from_hf_json(path)
    assert tok.pattern == "gpt2" and tok.special_tokens == {"<|endoftext|>": 50256}
    for key in SAMPLE_KEYS:
        assert tok.encode(sample(key)) == R.hf_gpt2().encode(sample(key)).ids, key
    assert tok.encode(SPECIAL_TEXT, allowed_special="all") == R.hf_gpt2().encode(SPECIAL_TEXT).ids


def exported(tok, path):
    tokenizers = pytest.importorskip("tokenizers")
    tok.to_hf_json(path)
    return tokenizers.Tokenizer.from_file(str(path))


def small_trained_like():
    """A merges vocabulary built here (no trainer needed): the most frequent pairs of a text, by hand."""
    vocab = [bytes([b]) for b in range(256)]
    merges = []
    for left, right in [(b"t", b"h"), (b"th", b"e"), (b" ", b"the"), (b"e", b"r"), (b" ", b"a"), (b"i", b"n"),
                        (b"in", b"g"), (b"o", b"u"), (b" ", b"t"), (b"a", b"n"), (b"an", b"d"), (b" ", b"and")]:
        merges.append((vocab.index(left), vocab.index(right)))
        vocab.append(left + right)
    return vocab, merges


@pytest.mark.parametrize("name", [*ENCODINGS, "custom"])
def test_hf_json_export_encodes_identically_in_hf(name, tmp_path):
    if name == "custom":
        vocab, merges = small_trained_like()
        tok = BPETokenizer(vocab, merges, pattern=r"""\p{L}+|\p{N}|\s+|[^\p{L}\p{N}\s]+""", special_tokens=["<e>"])
    else:
        tok = ours(name)
    hf = exported(tok, tmp_path / "tokenizer.json")
    for key in SAMPLE_KEYS:
        text = sample(key)
        assert hf.encode(text).ids == tok.encode(text), key
    special = "x<e>y" if name == "custom" else SPECIAL_TEXT
    assert hf.encode(special).ids == tok.encode(special, allowed_special="all")
    assert hf.decode(tok.encode(sample("bible")), skip_special_tokens=False) == sample("bible")
    again = BPETokenizer.from_hf_json(tmp_path / "tokenizer.json")
    assert again.pattern == tok.pattern and again.special_tokens == tok.special_tokens
    assert again.encode(sample("shakespeare")) == tok.encode(sample("shakespeare"))


def test_hf_json_rejects_what_it_cannot_represent(tmp_path):
    path = tmp_path / "tokenizer.json"
    ours("gpt2").to_hf_json(path)
    good = json.loads(path.read_text(encoding="utf-8"))
    cases = {
        "wordpiece": ({**good, "model": {**good["model"], "type": "WordPiece"}}, "not BPE"),
        "normalizer": ({**good, "normalizer": {"type": "Lowercase"}}, "normalizer"),
        "prefix": ({**good, "pre_tokenizer": {**good["pre_tokenizer"], "add_prefix_space": True}}, "add_prefix_space"),
        "whitespace": ({**good, "pre_tokenizer": {"type": "Whitespace"}}, "ByteLevel"),
        "suffix": ({**good, "model": {**good["model"], "end_of_word_suffix": "</w>"}}, "end_of_word_suffix"),
        "not byte-level": ({**good, "model": {**good["model"], "vocab": {**good["model"]["vocab"], "a b": 7}}},
                           "byte-level alphabet"),
        "merge": ({**good, "model": {**good["model"], "merges": ["Ġ zzz"]}}, "merge 0"),
    }
    for name, (doc, message) in cases.items():
        bad = tmp_path / f"{name.replace(' ', '_')}.json"
        bad.write_text(json.dumps(doc), encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            BPETokenizer.from_hf_json(bad)


# ---- training (the trainer itself is tested in test_bpe_train.py) ----
def test_train_builds_a_tokenizer_that_round_trips(tmp_path):
    text = R.shakespeare_play()[:100_000]
    tok = BPETokenizer.train(text, 400, pattern="gpt2", special_tokens=["<|end|>"], show_progress=False)
    assert tok.vocab_size == 400 and tok.special_tokens == {"<|end|>": 399}
    assert len(tok.merges) == 400 - 256 - 1
    ids = tok.encode(text[:5000] + "<|end|>", allowed_special="all")
    assert ids[-1] == 399 and tok.decode(ids) == text[:5000] + "<|end|>"
    assert len(ids) < 0.7 * 5000  # 143 merges cut English text by a third or more (unmerged: one id a byte)
    assert round_trip(tok, tmp_path / "t.json").encode(text[:5000]) == tok.encode(text[:5000])


def test_unk_id_for_missing_bytes_matches_hf_byte_fallback(tmp_path, rng):
    """A vocabulary lacking some bytes (as SmolLM2's GGUF vocabulary): with unk_id, each missing byte encodes as
    it and a run as one id, as HF's BPE with unk_token, byte_fallback and fuse_unk (transformers' GGUF reader)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    from pyllm.tokenizers.formats import bytes_to_unicode

    missing = {0x04, 0x05, 0xF1}
    alphabet = bytes_to_unicode()
    vocab = [None if b in missing else bytes([b]) for b in range(256)] + [b"ab", b" a"]
    merges = [(ord("a"), ord("b")), (ord(" "), ord("a"))]
    with pytest.raises(ValueError, match="lacks 3 single bytes"):
        BPETokenizer(vocab, merges)
    tok = BPETokenizer(vocab, merges, special_tokens={"<unk>": 258}, unk_id=258)
    hf_vocab = {"".join(alphabet[b] for b in t): i for i, t in enumerate(vocab) if t is not None}
    hf_vocab["<unk>"] = 258
    hf = Tokenizer(models.BPE(hf_vocab, [(alphabet[ord("a")], alphabet[ord("b")]), (alphabet[ord(" ")], alphabet[ord("a")])],
                              unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.add_special_tokens(["<unk>"])
    pieces = ["a", "b", "ab", " ", "\x04", "\x05", "!", "\U00040000", "é", "1"]
    for _ in range(50):
        text = "".join(rng.choice(pieces, size=int(rng.integers(1, 12))))
        assert tok.encode(text) == hf.encode(text).ids, repr(text)
    assert tok.encode("ab\x04\x05!") == [256, 258, 33] and tok.vocab_size == 259
    assert tok.token_to_id(b"\x04") is None
    with pytest.raises(ValueError, match="unknown token id 259"):
        tok.id_to_token(259)
    path = tmp_path / "tok.json"
    tok.save(path)
    again = BPETokenizer.load(path)
    assert again.unk_id == 258 and again.encode("x\x04\x04 ab") == tok.encode("x\x04\x04 ab")
