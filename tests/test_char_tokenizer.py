"""The character-level tokenizer: ids against a plain dictionary lookup, round trips on random Unicode,
unknown characters, and its file."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyllm
from pyllm.tokenizers import char as char_module
from pyllm.tokenizers.char import CharTokenizer

SAMPLE = """First Citizen:
Before we proceed any further, hear me speak.

All:
Speak, speak.

MENENIUS: Ça va? Naïve façade — “quoted” 😀 東京\tend\r\n"""


def test_train_sorts_the_alphabet_and_ids_follow_it():
    tok = CharTokenizer.train(SAMPLE)
    assert tok.chars == sorted(set(SAMPLE))
    lookup = {c: i for i, c in enumerate(tok.chars)}
    assert tok.encode(SAMPLE) == [lookup[c] for c in SAMPLE]
    assert tok.decode(tok.encode(SAMPLE)) == SAMPLE
    assert tok.vocab_size == len(tok) == len(set(SAMPLE))
    assert tok.encode("") == [] and tok.decode([]) == ""
    assert CharTokenizer.train(SAMPLE.splitlines(keepends=True)).chars == tok.chars  # an iterable of texts


def test_given_alphabet_keeps_its_order():
    tok = CharTokenizer("zyx é")
    assert tok.encode("xyzé ") == [2, 1, 0, 4, 3]
    assert tok.token_to_id("é") == 4 and tok.token_to_id("q") is None and tok.token_to_id("ab") is None
    assert tok.id_to_token(0) == "z"


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1), probe=st.text())
def test_random_unicode_round_trips(text, probe):
    tok = CharTokenizer.train(text)
    ids = tok.encode(text)
    assert ids == [tok.chars.index(c) for c in text]
    assert tok.decode(ids) == text
    assert tok.decode(np.array(ids)) == text and tok.decode(pyllm.tensor(ids)) == text
    known = "".join(c for c in probe if c in tok.chars)
    assert tok.decode(tok.encode(known)) == known


def test_unknown_character_raises_naming_it_and_its_position():
    tok = CharTokenizer.train("abc ")
    with pytest.raises(ValueError, match=r"character 'Z' \(U\+005A\) at position 4 is not in the alphabet"):
        tok.encode("abc Zabc")
    with pytest.raises(ValueError, match=r"character '😀' \(U\+1F600\) at position 0"):
        tok.encode("😀")
    with pytest.raises(ValueError, match="at position 0"):
        CharTokenizer([]).encode("a")


def test_unknown_character_maps_to_unk_token():
    tok = CharTokenizer.train("abc", unk_token="<unk>")
    assert tok.vocab_size == 4 and tok.unk_token_id == 3 and tok.token_to_id("<unk>") == 3
    assert tok.encode("aZc😀") == [0, 3, 2, 3]
    assert tok.decode(tok.encode("aZc")) == "a<unk>c"
    assert CharTokenizer([], unk_token="?").encode("xy") == [0, 0]


def test_save_and_load(tmp_path):
    tok = CharTokenizer.train(SAMPLE, unk_token="<unk>")
    path = tmp_path / "chars.json"
    tok.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["chars"] == tok.chars
    loaded = CharTokenizer.load(path)
    assert loaded.chars == tok.chars and loaded.unk_token == "<unk>"
    assert loaded.encode(SAMPLE + "\u2603") == tok.encode(SAMPLE + "\u2603")
    assert [p.name for p in tmp_path.iterdir()] == ["chars.json"]


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "chars.json"
    CharTokenizer("ab").save(path)
    before = path.read_bytes()

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(char_module.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        CharTokenizer("xyz").save(path)
    assert path.read_bytes() == before  # the old file is intact, and no partial file is left behind
    assert [p.name for p in tmp_path.iterdir()] == ["chars.json"]


def test_bad_input_raises(tmp_path):
    with pytest.raises(ValueError, match="holds 'a' twice"):
        CharTokenizer("aba")
    with pytest.raises(ValueError, match="single characters, got 'ab'"):
        CharTokenizer(["ab"])
    with pytest.raises(ValueError, match="also a character"):
        CharTokenizer("ab", unk_token="a")
    tok = CharTokenizer("ab")
    with pytest.raises(ValueError, match="unknown id 2"):
        tok.decode([0, 2])
    with pytest.raises(ValueError, match="unknown id -1"):
        tok.decode([-1])
    with pytest.raises(ValueError, match="unknown id 5"):
        tok.id_to_token(5)
    with pytest.raises(ValueError, match="must be 1-D"):
        tok.decode([[0, 1]])
    with pytest.raises(TypeError, match="must be integers"):
        tok.decode([0.5])
    with pytest.raises(TypeError, match="text must be str"):
        tok.encode(b"ab")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        CharTokenizer.load(bad)
    bad.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="bad.json is not a character tokenizer file"):
        CharTokenizer.load(bad)
    with pytest.raises(FileNotFoundError):
        CharTokenizer.load(tmp_path / "missing.json")
