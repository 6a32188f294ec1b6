"""Pre-tokenization: the built-in scanners (gpt2, cl100k, o200k) and the regex engine for custom patterns
must cut text into exactly the chunks of `regex.findall` with tiktoken's patterns (and of tiktoken itself),
and the Unicode tables behind them must agree with Python's unicodedata."""
import functools
import unicodedata

import pytest
import regex
import tiktoken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiktoken_ext import openai_public

from pyllm import _core
from text_samples import BIBLE, SAMPLES, hamlet

BUILTINS = ("gpt2", "cl100k", "o200k")


@functools.lru_cache(maxsize=None)
def tiktoken_pattern(name):
    """The split regex tiktoken itself uses for an encoding, read from its source (the rank loaders, which
    would download, are stubbed out)."""
    saved = openai_public.load_tiktoken_bpe, openai_public.data_gym_to_mergeable_bpe_ranks
    openai_public.load_tiktoken_bpe = openai_public.data_gym_to_mergeable_bpe_ranks = lambda *a, **k: {}
    try:
        return {"gpt2": openai_public.gpt2, "cl100k": openai_public.cl100k_base,
                "o200k": openai_public.o200k_base}[name]()["pat_str"]
    finally:
        openai_public.load_tiktoken_bpe, openai_public.data_gym_to_mergeable_bpe_ranks = saved


# GPT-2's pattern as released (tiktoken's is an equivalent, faster rewrite).
GPT2_ORIGINAL = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def findall(pattern, text):
    return [m.group(0) for m in regex.finditer(pattern, text)]


# ---- the Unicode tables ----

CATEGORIES = None


def our_category(cp):
    global CATEGORIES
    if CATEGORIES is None:
        names = _core.unicode_category_names
        CATEGORIES = [names[b] for b in _core.unicode_categories()]
    return CATEGORIES[cp]


# Code points assigned in Python 3.11's Unicode (14.0) whose category changed by ours (18.0).
RECATEGORIZED = {0x0295: ("Ll", "Lo"),    # LATIN LETTER PHARYNGEAL VOICED FRICATIVE, Lo since Unicode 17
                 0x1171E: ("Mn", "Mc")}   # AHOM CONSONANT SIGN MEDIAL RA


def test_unicode_table_matches_unicodedata():
    """Every code point Python's unicodedata assigns has the same category in our tables, except the few
    Unicode recategorized since; code points it leaves unassigned may be assigned in ours (newer)."""
    assert _core.unicode_version == "18.0.0"
    assert len(_core.unicode_categories()) == 0x110000
    mismatched = {}
    for cp in range(0x110000):
        theirs = unicodedata.category(chr(cp))
        if theirs != "Cn" and our_category(cp) != theirs:
            mismatched[cp] = (theirs, our_category(cp))
    assert set(mismatched) <= set(RECATEGORIZED), {hex(cp): c for cp, c in mismatched.items() if cp not in RECATEGORIZED}
    for cp, (old, new) in mismatched.items():
        assert RECATEGORIZED[cp] == (old, new)
    newly_assigned = sum(1 for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cn" and our_category(cp) != "Cn")
    assert newly_assigned < 60_000  # Unicode 15-18 assigned about 30,000 (Python 3.11 has Unicode 14)


def test_unicode_table_matches_unicodedata2():
    """Where the generator's source is installed at the tables' version: identical for every code point."""
    unicodedata2 = pytest.importorskip("unicodedata2")
    if unicodedata2.unidata_version != _core.unicode_version:
        pytest.skip(f"unicodedata2 has Unicode {unicodedata2.unidata_version}, the tables {_core.unicode_version}")
    bad = [hex(cp) for cp in range(0x110000) if unicodedata2.category(chr(cp)) != our_category(cp)]
    assert not bad


def test_unicode_table_spot_checks():
    assert [our_category(ord(c)) for c in "Aa\u01c5\u02b0\u4e2d\u0301\u0903\u20dd5\u2163\u00b2_- \u2028\u2029\t"] == \
        ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Zs", "Zl", "Zp", "Cc"]
    assert our_category(0x0378) == "Cn" and our_category(0x10FFFF) == "Cn" and our_category(0xE000) == "Co"


# ---- the built-in scanners against regex.findall with tiktoken's patterns ----

def test_builtin_regexes_are_tiktokens():
    for name in BUILTINS:
        assert _core.pretokenize_regex(name) == tiktoken_pattern(name)
    assert _core.pretokenize_regex("(a)") == "(a)"


def check_builtins(text):
    for name in BUILTINS:
        got = _core.pretokenize(name, text)
        assert got == findall(tiktoken_pattern(name), text), name
        assert "".join(got) == text, name  # the three patterns match everywhere: chunks tile the text
    assert _core.pretokenize("gpt2", text) == findall(GPT2_ORIGINAL, text)


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_builtins_on_samples(sample):
    check_builtins(SAMPLES[sample])


def test_builtins_on_bible():
    check_builtins(BIBLE)
    assert _core.pretokenize("cl100k", "11:35 Jesus wept.") == ["11", ":", "35", " Jesus", " wept", "."]


def test_builtins_on_a_shakespeare_play():
    text = hamlet()
    assert len(text) > 100_000
    check_builtins(text)
    check_builtins(text.replace("\n", "\r\n"))


def test_none_pattern():
    assert _core.pretokenize("none", "a b\n c") == ["a b\n c"]
    assert _core.pretokenize("none", "") == []


@pytest.mark.parametrize("text, gpt2, cl100k, o200k", [
    # \s+(?!\S) gives back one white-space character to the word after the run.
    ("a   b", ["a", "  ", " b"], ["a", "  ", " b"], ["a", "  ", " b"]),
    ("a\u3000\u3000b", ["a", "\u3000", "\u3000", "b"], ["a", "\u3000", "\u3000b"], ["a", "\u3000", "\u3000b"]),
    # A run that ends the text is kept whole, except where o200k's \s*[\r\n]+ comes first.
    ("x  \n  ", ["x", "  \n  "], ["x", "  \n  "], ["x", "  \n", "  "]),
    ("x\n\n y", ["x", "\n\n", " y"], ["x", "\n\n", " y"], ["x", "\n\n", " y"]),
    # Contractions: case-insensitive in cl100k and o200k (U+017F folds to s); only after a word in o200k.
    ("'S x'll", ["'", "S", " x", "'ll"], ["'S", " x", "'ll"], ["'S", " x'll"]),
    ("don't", ["don", "'t"], ["don", "'t"], ["don't"]),
    ("DON'T", ["DON", "'", "T"], ["DON", "'T"], ["DON'T"]),
    ("'\u017f", ["'", "\u017f"], ["'\u017f"], ["'\u017f"]),
    # Digits: in runs of one to three in cl100k and o200k.
    ("1234567", ["1234567"], ["123", "456", "7"], ["123", "456", "7"]),
    # o200k's cased words.
    ("HTMLParser isOK", ["HTMLParser", " isOK"], ["HTMLParser", " isOK"], ["HTMLParser", " is", "OK"]),
    ("\u4e2dAB.", ["\u4e2dAB", "."], ["\u4e2dAB", "."], ["\u4e2d", "AB", "."]),
    ("\u0301A.", ["\u0301", "A", "."], ["\u0301A", "."], ["\u0301", "A", "."]),
    # Punctuation runs take the line breaks after them (and slashes in o200k).
    ("x.\n\ny", ["x", ".", "\n", "\n", "y"], ["x", ".\n\n", "y"], ["x", ".\n\n", "y"]),
    ("a//\n/b", ["a", "//", "\n", "/", "b"], ["a", "//\n", "/b"], ["a", "//\n/", "b"]),
])
def test_builtins_known_chunks(text, gpt2, cl100k, o200k):
    assert [_core.pretokenize(n, text) for n in BUILTINS] == [gpt2, cl100k, o200k]
    check_builtins(text)


# Characters the patterns treat specially, and pieces that combine them.
TRICKY_CHARS = ("aZ's'St'tm'Md'Dl'Lv'Ve'Er'R ſ\t\n\r\x0b\x0c\x85\u00a0\u1680\u2000\u2028\u2029\u202f\u3000"
                "\u180e\u200b\x1c .,!?/-_#@0123456789٣⅕²Ⅻ中文日本語한국어ᴬʰǅǈ\u0301\u0308\u20dd\u0903"
                "\U0001F600\u200d\U0001F468\uFE0FΐΣσ’\u0295\U00010940é\U0001D400")
TRICKY_PIECES = ("'s", "'S", "'ll", "'LL", "'re", "'ve", "'d", "'t", "'m", "n't", "’s", " \r\n", "\r\n", "\n\n",
                 "   ", "\t\t", "1234567", "HTMLParser", "don't", "DON'T", "ǅungla", "\u0301A", "中A", " //\n",
                 "👨\u200d👩\u200d👧", "e\u0301\u0302", "  \n ")


def tricky_text():
    char = st.one_of(st.sampled_from(TRICKY_CHARS), st.characters(exclude_categories=("Cs",)))
    piece = st.one_of(st.sampled_from(TRICKY_PIECES), st.text(char, min_size=1, max_size=4))
    return st.lists(piece, max_size=24).map("".join)


@functools.lru_cache(maxsize=None)
def agrees_with_regex_module(ch):
    """Whether the installed regex module classes ch as our tables do (it may have another Unicode version;
    the tables are tested on their own above, so random texts keep to characters both versions agree on)."""
    cat = our_category(ord(ch))
    for prop in ("L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "N"):
        if (regex.match(rf"\p{{{prop}}}", ch) is not None) != cat.startswith(prop):
            return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tricky_text())
def test_builtins_on_random_unicode(text):
    text = "".join(c for c in text if agrees_with_regex_module(c))
    check_builtins(text)


# ---- against tiktoken itself ----

def tiktoken_chunks(name, text, chunks):
    """tiktoken's chunks of text, made visible: with a vocabulary holding the single bytes and every chunk we
    expect, each of tiktoken's chunks that we also found encodes as one token (tiktoken looks a whole chunk
    up before merging), while any chunk that differs falls apart into other tokens."""
    ranks = {bytes([b]): b for b in range(256)}
    for chunk in chunks:
        ranks.setdefault(chunk.encode(), len(ranks))
    enc = tiktoken.Encoding(f"probe-{name}", pat_str=tiktoken_pattern(name), mergeable_ranks=ranks, special_tokens={})
    return [enc.decode_single_token_bytes(t).decode() for t in enc.encode_ordinary(text)]


# Characters that all Unicode versions since 13 class alike, so tiktoken's (Unicode 16) agrees with ours.
OLD_CHARS = "".join(c for c in TRICKY_CHARS if ord(c) not in (0x0295, 0x10940))


@pytest.mark.parametrize("name", BUILTINS)
def test_builtins_match_tiktoken(name):
    for text in [BIBLE, *SAMPLES.values(), hamlet()[:50_000]]:
        ours = _core.pretokenize(name, text)
        assert tiktoken_chunks(name, text, ours) == ours


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(TRICKY_PIECES), st.text(st.sampled_from(OLD_CHARS), min_size=1, max_size=4)),
                max_size=24).map("".join))
def test_builtins_match_tiktoken_on_random_text(text):
    for name in BUILTINS:
        ours = _core.pretokenize(name, text)
        assert tiktoken_chunks(name, text, ours) == ours, name
