"""Generates core/src/text/bert_chars_data.inc: the character classes and mappings of BERT's normalizer and
pre-tokenizer, exactly as Hugging Face `tokenizers` applies them.

    python scripts/gen_bert_chars.py        # needs `tokenizers` (the test extra); rewrites the .inc file

No single Unicode database reproduces HF's BERT pipeline: its control/punctuation/nonspacing-mark classes come
from the `unicode_categories` crate (Unicode 8-era tables), its NFD from `unicode-normalization-alignments`
(Unicode 12.1), its lowercasing from Rust's std (the newest Unicode), its whitespace from Rust's
`char::is_whitespace`. So the tables are read off the reference itself, one code point at a time, and
cross-checked: the CJK ranges and Hangul decomposition must match their closed forms, every mapping's output
must stay in the class the C++ code assumes, and each combining class (from Python's unicodedata) is kept only
where HF's reordering shows it knows the character. tests/test_wordpiece.py checks every code point against
HF again, so a new `tokenizers` release that changes a table fails the tests until this script is re-run.
"""
import pathlib
import unicodedata

import tokenizers
from tokenizers import normalizers, pre_tokenizers

OUT = pathlib.Path(__file__).resolve().parents[1] / "core" / "src" / "text" / "bert_chars_data.inc"
BLOCK = 128  # code points per block of the two-stage flag table

# Flag bits; core/src/text/bert_chars.h declares the same names.
DROP, SPACE, WHITESPACE, PUNCT, NONSPACING, DECOMP, LOWER, COMBINING = (1 << i for i in range(8))

# BERT's "Chinese character" ranges (tokenizers' normalizers/bert.rs, is_chinese_char).
CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
       (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def hangul_nfd(cp):
    s = cp - HANGUL_FIRST
    out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
    if s % 28:
        out.append(0x11A7 + s % 28)
    return out


def probe():
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False,
                                       lowercase=False)
    chinese = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False,
                                         lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True,
                                       lowercase=False)
    nfd, lower, pre = normalizers.NFD(), normalizers.Lowercase(), pre_tokenizers.BertPreTokenizer()
    flags = [0] * 0x110000
    decomp, lowercase, stripped = {}, {}, {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue  # surrogates are not characters; UTF-8 input never holds them
        c = chr(cp)
        cleaned = clean.normalize_str(c)
        if cleaned == "":
            flags[cp] |= DROP
        elif cleaned == " " and c != " ":
            flags[cp] |= SPACE
        else:
            assert cleaned == c, hex(cp)
        words = [w for w, _ in pre.pre_tokenize_str("a" + c + "a")]
        if words == ["a", "a"]:
            flags[cp] |= WHITESPACE
        elif words == ["a", c, "a"]:
            flags[cp] |= PUNCT
        else:
            assert words == ["a" + c + "a"], (hex(cp), words)
        assert (chinese.normalize_str(c) == f" {c} ") == any(lo <= cp <= hi for lo, hi in CJK), hex(cp)
        d = nfd.normalize_str(c)
        if d != c:
            flags[cp] |= DECOMP
            if HANGUL_FIRST <= cp <= HANGUL_LAST:
                assert [ord(x) for x in d] == hangul_nfd(cp), hex(cp)
            else:
                decomp[cp] = [ord(x) for x in d]
        stripped[cp] = strip.normalize_str(c)
        if d == c and stripped[cp] == "":
            flags[cp] |= NONSPACING
        low = lower.normalize_str(c)
        if low != c:
            flags[cp] |= LOWER
            lowercase[cp] = [ord(x) for x in low]
    return flags, decomp, lowercase, stripped


def check_closure(flags, decomp, lowercase, stripped):
    """What the C++ code relies on. It splits words on the decomposed characters, then drops the nonspacing
    marks and lowercases what is left: so decompositions must be complete, stripping accents must be NFD
    followed by dropping the marks, and neither dropping marks nor lowercasing may create or remove a word
    boundary (whitespace or punctuation)."""
    for cp, parts in decomp.items():
        assert not any(flags[p] & DECOMP for p in parts), hex(cp)
        assert "".join(chr(p) for p in parts if not flags[p] & NONSPACING) == stripped[cp], hex(cp)
    for cp in range(0x110000):
        assert not (flags[cp] & NONSPACING and flags[cp] & (WHITESPACE | PUNCT)), hex(cp)
    for cp, parts in lowercase.items():
        assert not flags[cp] & (WHITESPACE | PUNCT), hex(cp)
        assert not any(flags[p] & (WHITESPACE | PUNCT) for p in parts), hex(cp)


def combining_classes(flags):
    """Canonical combining classes of the characters HF's NFD reorders. unicodedata may know characters newer
    than HF's tables (which treat those as starters): a class is kept only where HF reorders by it."""
    nfd = normalizers.NFD()
    ccc = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        k = unicodedata.combining(chr(cp))
        if k == 0:
            continue
        # A mark of class 1 after X moves in front of X exactly when HF gives X a class above 1; a mark of
        # class 230 before X moves behind X when X's class is below 230.
        if k > 1:
            known = nfd.normalize_str("a" + chr(cp) + "\u0334") == "a\u0334" + chr(cp)
        else:
            known = nfd.normalize_str("a\u0301" + chr(cp)) == "a" + chr(cp) + "\u0301"
        if known:
            ccc[cp] = k
            flags[cp] |= COMBINING
    return ccc


def c_array(decl, values, per_line=16):
    rows = [", ".join(str(v) for v in values[i:i + per_line]) for i in range(0, len(values), per_line)]
    return f"{decl} = {{\n    " + ",\n    ".join(rows) + "};\n"


def mapping_arrays(name, mapping):
    """Sorted keys, (offset << 8 | length) spans and the concatenated outputs of a code point -> code points
    mapping."""
    keys, spans, data = [], [], []
    for cp in sorted(mapping):
        keys.append(cp)
        spans.append(len(data) << 8 | len(mapping[cp]))
        data.extend(mapping[cp])
    return (c_array(f"constexpr uint32_t k{name}Keys[{len(keys)}]", keys)
            + c_array(f"constexpr uint32_t k{name}Spans[{len(spans)}]", spans)
            + c_array(f"constexpr char32_t k{name}Data[{len(data)}]", data))


def main():
    flags, decomp, lowercase, stripped = probe()
    check_closure(flags, decomp, lowercase, stripped)
    ccc = combining_classes(flags)
    blocks, index = {}, []
    for start in range(0, 0x110000, BLOCK):
        block = tuple(flags[start:start + BLOCK])
        index.append(blocks.setdefault(block, len(blocks)))
    assert len(blocks) < 256
    flat = [f for block in blocks for f in block]
    keys = sorted(ccc)
    text = (
        f"// Generated by scripts/gen_bert_chars.py from tokenizers {tokenizers.__version__}; do not edit.\n"
        f"// Flags of code point cp: kFlagBlocks[kFlagIndex[cp / {BLOCK}] * {BLOCK} + cp % {BLOCK}].\n"
        + c_array(f"constexpr uint8_t kFlagIndex[{len(index)}]", index, 32)
        + c_array(f"constexpr uint8_t kFlagBlocks[{len(flat)}]", flat, 32)
        + "// Canonical decompositions (Hangul syllables are computed instead).\n"
        + mapping_arrays("Decomp", decomp)
        + "// Lowercase mappings.\n"
        + mapping_arrays("Lower", lowercase)
        + "// Canonical combining classes of the characters flagged kCombining.\n"
        + c_array(f"constexpr uint32_t kCombiningKeys[{len(keys)}]", keys)
        + c_array(f"constexpr uint8_t kCombiningClasses[{len(keys)}]", [ccc[k] for k in keys])
    )
    OUT.write_text(text)
    print(f"{OUT}: {len(blocks)} flag blocks, {len(decomp)} decompositions, {len(lowercase)} lowercase "
          f"mappings, {len(ccc)} combining classes")


if __name__ == "__main__":
    main()
