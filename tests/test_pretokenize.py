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


# ---- the regex engine (custom patterns) against the regex module ----

CUSTOM_PATTERNS = [
    GPT2_ORIGINAL,
    # cl100k_base as first released (without the possessive quantifiers).
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    r"\w+|[^\w\s]+", r"\d+?", r"a|", r"(?:a|)*", r"x*", r"\b\w", r"\w\B", r"(?i)[a-z]+", r"(?i)\p{Lu}+[.!?]",
    r"[^aeiou\s]{2,3}", r"\s+$", r"^\S+", r"\A.|.\z", r"(?>a+)b|\w", r"\p{Lu}\p{Ll}*+", r"(?=\w)\w{2}",
    r"(?!\d)\w+", r".", r"[\-\]x]+", r"[]a]+", r"(?:ab|a)(?:bc|c)?", r"\S+?\s", r"\p{^L}+", r"\P{L}{2,}?\P{N}",
    r"[\p{N}\s]+", r"(?i)STRASSE|ſ+", r"\x41|\u00e9|\U0001F600|\t", r"(a?){2,4}b", r"(?:a|b)*?c", r"[\w-]+",
    r"(?P<word>\w+)(?:'\w+)?", r"(?<x>\s)+", r"(?#a comment)\w", r"\pL\pN|\pM", r"\p{Letter}+|\p{Decimal_Number}",
    r"\p{LC}+|\p{Zs}|\p{Cased_Letter}", r"x{,2}|y{2}|z{2,}", r"{|x{", r"(?i:K)", r"a(?i)b|c", r"(?-i:a)", r".{3}\Z", r"[^\s\p{L}]{1,3}+",
    r" ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", r"(?:(?:a|b)+c)+", r"\d{2,}?\d", r"(?=(\w))\w+?",
]


@pytest.mark.parametrize("name", BUILTINS)
def test_engine_runs_tiktoken_patterns(name):
    """The engine, given tiktoken's regexes, agrees with the scanners (and so with regex.findall)."""
    for text in [BIBLE, *SAMPLES.values(), hamlet()[:60_000]]:
        assert _core.pretokenize(tiktoken_pattern(name), text) == _core.pretokenize(name, text)


@pytest.mark.parametrize("pattern", CUSTOM_PATTERNS)
def test_engine_matches_regex_module(pattern):
    for text in [BIBLE, *SAMPLES.values()]:
        assert _core.pretokenize(pattern, text) == findall(pattern, text), text[:40]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CUSTOM_PATTERNS + [tiktoken_pattern(n) for n in BUILTINS]), tricky_text())
def test_engine_on_random_unicode(pattern, text):
    text = "".join(c for c in text if agrees_with_regex_module(c))
    assert _core.pretokenize(pattern, text) == findall(pattern, text)


def test_engine_findall_semantics():
    # After an empty match the next may start at the same place only if it is not empty (Python's rule).
    assert _core.pretokenize("a|", "ab") == ["a", "", ""] == findall("a|", "ab")
    assert _core.pretokenize("x*", "axxb") == ["", "xx", "", ""] == findall("x*", "axxb")
    assert _core.pretokenize(r"\s+", "") == [] and _core.pretokenize("", "ab") == ["", "", ""]
    # Text no match covers is dropped.
    assert _core.pretokenize(r"\d+", "a1b22c") == ["1", "22"]


def test_engine_documented_differences_from_the_regex_module():
    # '$' is Rust's (end of text only); Python's also matches before a final newline.
    assert _core.pretokenize(r"\w+$", "ab\n") == [] and findall(r"\w+$", "ab\n") == ["ab"]
    assert _core.pretokenize(r"\w+$", "ab") == ["ab"]
    # (?i) is simple case folding: no Turkic dotted/dotless i pairs (the regex module adds them).
    assert _core.pretokenize("(?i)i", "iIİı") == ["i", "I"] and findall("(?i)i", "iIİı") == ["i", "I", "İ"]
    # ... and it closes classes over case as Rust's regex does: (?i)\p{Lu} adds the other cases of upper-case
    # letters; the regex module makes it every cased letter (Lu, Ll, Lt), such as the ligature U+FB01.
    assert _core.pretokenize(r"(?i)\p{Lu}", "Aa\ufb01") == ["A", "a"] and findall(r"(?i)\p{Lu}", "Aa\ufb01") == ["A", "a", "\ufb01"]
    # \x{...}, as in Rust (the regex module lacks it).
    assert _core.pretokenize(r"\x{4e2d}+", "a中中b") == ["中中"]


@pytest.mark.parametrize("pattern, position, problem", [
    (r"(?<=a)b", 0, "lookbehind is not supported"),
    (r"ab(?<!a)", 2, "lookbehind is not supported"),
    (r"(a)\1", 3, "backreference is not supported"),
    (r"(?P<n>a)(?P=n)", 8, "named backreference"),
    (r"(a", 0, "unterminated group"),
    (r"a)", 1, "unbalanced"),
    (r"[z-a]", 1, "range out of order"),
    (r"x[a", 1, "unterminated character class"),
    (r"*a", 0, "nothing to repeat"),
    (r"a|+", 2, "nothing to repeat"),
    (r"a**", 2, "quantifier on a quantifier"),
    (r"a{3,2}", 1, "n < m"),
    (r"a{100001}", 1, "over 100000"),
    (r"\p{Greek}", 0, "Unicode property 'Greek'"),
    (r"(?s).", 2, "inline flag 's'"),
    (r"(?m)^a", 2, "inline flag 'm'"),
    (r"[[:alpha:]]", 1, "POSIX class"),
    (r"[a&&b]", 2, "set operation"),
    (r"\q", 0, "unknown escape \\q"),
    (r"ab\k<n>", 2, "unknown escape \\k"),
    (r"^*", 1, "quantified zero-width assertion"),
    (r"(?=a)+", 5, "quantified zero-width assertion"),
    (r"x\u12", 1, "malformed hex escape"),
    (r"\x{110000}", 0, "no Unicode scalar value"),
    (r"(?|a)", 0, "group syntax is not supported"),
    ("é(?<=a)", 1, "lookbehind"),  # positions count code points, not bytes
    (r"\01", 0, "octal escape"),
    (r"[\d-z]", 3, "range from a class escape"),
    ("a\\", 1, "trailing backslash"),
])
def test_engine_rejects_unsupported_syntax(pattern, position, problem):
    with pytest.raises(ValueError, match=regex.escape(f"regex '{pattern}': ") + ".*" + regex.escape(problem)
                       + f".* at position {position}$"):
        _core.pretokenize(pattern, "abc")


@pytest.mark.parametrize("pattern, text", [
    (r"(a+)+b", "a" * 40),
    (r"(?:a|a)*b", "a" * 40),
    (r"(?:\w+\s?)*$", "word " * 30 + "!"),
])
def test_engine_step_budget_stops_catastrophic_backtracking(pattern, text):
    import time
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"backtracking steps .* catastrophically"):
        _core.pretokenize(pattern, text)
    assert time.perf_counter() - start < 10  # 2^40 steps would take hours


def test_engine_handles_long_runs_without_recursion():
    """Long greedy and lazy runs and long alternation loops neither overflow the stack nor go quadratic."""
    text = "a" * 300_000 + " " * 200_000 + "b"
    assert _core.pretokenize(r"\p{L}+|\s+(?!\S)|\s+", text) == ["a" * 300_000, " " * 199_999, " ", "b"]
    assert _core.pretokenize(r"(?:a|b)+", "ab" * 100_000) == ["ab" * 100_000]
    assert _core.pretokenize(r"a+?$", "a" * 50_000) == ["a" * 50_000]
