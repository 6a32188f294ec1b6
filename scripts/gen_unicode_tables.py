"""Writes core/src/text/unicode_tables.{h,cpp}: per code point the general category, the White_Space
property and Unicode \\w membership, as a two-level table, plus simple case folding orbits.

    python scripts/gen_unicode_tables.py        # needs unicodedata2 and regex (pip), not run by CI

Sources: general categories from `unicodedata2` (a newer Unicode than Python's own `unicodedata`);
White_Space and \\w from the `regex` module (which uses the same Unicode version; checked below) because
unicodedata has no binary properties; \\w is UTS #18's definition, the one Rust's `regex` crate uses:
Alphabetic + Mark + Decimal_Number + Connector_Punctuation + Join_Control. Simple case folding (CaseFolding.txt
statuses C and S, as Rust's regex uses for (?i)) comes from the regex module's case-insensitive matching,
less its Turkic i pairs, and is checked to contain the folding of Python's own str.casefold/lower.
"""
import importlib.metadata
import pathlib
import sys

import regex
import unicodedata2

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_H = ROOT / "core" / "src" / "text" / "unicode_tables.h"
OUT_CPP = ROOT / "core" / "src" / "text" / "unicode_tables.cpp"

# The order of the Category enum (kCn first, so that a zeroed byte reads as unassigned).
CATEGORIES = ["Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi",
              "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"]
WHITE_SPACE, WORD = 0x20, 0x40
BLOCK_BITS = 8  # 256 code points a block: 166 distinct blocks, so the block index fits a byte
MAX_CP = 0x110000


def properties():
    """One byte per code point: category index | WHITE_SPACE | WORD."""
    props = bytearray(MAX_CP)
    for cp in range(MAX_CP):
        ch = chr(cp)
        cat = unicodedata2.category(ch)
        value = CATEGORIES.index(cat)
        if 0xD800 <= cp < 0xE000:
            props[cp] = value  # surrogates: the regex module cannot match them; they never reach us as UTF-8
            continue
        ws = regex.match(r"\s", ch) is not None
        # White_Space is Z* plus the controls TAB..CR and NEL (stable since Unicode 6.3); check the regex module agrees.
        assert ws == (cat in ("Zs", "Zl", "Zp") or 9 <= cp <= 13 or cp == 0x85), hex(cp)
        if ws:
            value |= WHITE_SPACE
        if regex.match(r"\w", ch) is not None:
            value |= WORD
        props[cp] = value
    # The regex module must share unicodedata2's Unicode version, or its \s and \w would be off by a version.
    for cat in ("L", "N", "M", "Cn"):
        pattern = regex.compile(rf"\p{{{cat}}}")
        for cp in range(0, MAX_CP, 7):
            if 0xD800 <= cp < 0xE000:
                continue
            assert (pattern.match(chr(cp)) is not None) == unicodedata2.category(chr(cp)).startswith(cat), (cat, hex(cp))
    return props


def two_level(props):
    size = 1 << BLOCK_BITS
    blocks, index = {}, []
    for start in range(0, MAX_CP, size):
        block = bytes(props[start:start + size])
        index.append(blocks.setdefault(block, len(blocks)))
    assert len(blocks) <= 256, "the block index no longer fits a byte: use uint16_t"
    return index, list(blocks)


def simple_fold(ch):
    """CaseFolding.txt's C or S mapping of ch from Python's own data (ch itself when there is none)."""
    folded = ch.casefold()
    if len(folded) == 1:
        return folded
    lower = ch.lower()  # status F: the S mapping, where one exists, is the one-character lowercase
    return lower if len(lower) == 1 else ch


# The regex module's (?i) also equates i with U+0130 and I with U+0131 (Turkic casing); simple case
# folding, which Rust's regex uses, does not.
TURKIC = {0x130, 0x131}


def case_orbits():
    """Sets of code points that simple case folding makes equivalent (each with 2+ members), from the
    regex module's case-insensitive matching (Unicode 18) among every code point that has a case mapping."""
    cased = [cp for cp in range(MAX_CP) if not 0xD800 <= cp < 0xE000 and (
        unicodedata2.category(chr(cp)) in ("Lu", "Ll", "Lt") or simple_fold(chr(cp)) != chr(cp)
        or chr(cp).upper() != chr(cp))]
    haystack = "".join(chr(cp) for cp in cased)
    parent = {}

    def find(cp):
        while parent.get(cp, cp) != cp:
            cp = parent[cp]
        return cp

    for cp in cased:
        if cp in TURKIC:
            continue
        for match in regex.findall("(?i)" + regex.escape(chr(cp)), haystack):
            if ord(match) not in TURKIC:
                parent[find(ord(match))] = find(cp)
    classes = {}
    for cp in cased:
        classes.setdefault(find(cp), set()).add(cp)
    orbits = sorted(sorted(c) for c in classes.values() if len(c) > 1)
    # Python's own (older) folding must be contained in it.
    orbit_of = {cp: i for i, orbit in enumerate(orbits) for cp in orbit}
    for cp in range(MAX_CP):
        if 0xD800 <= cp < 0xE000:
            continue
        folded = ord(simple_fold(chr(cp)))
        assert folded == cp or orbit_of.get(cp, -1) == orbit_of.get(folded, -2), (hex(cp), hex(folded))
    return orbits


def c_array(values, per_line=24):
    lines = []
    for i in range(0, len(values), per_line):
        lines.append("    " + ",".join(str(v) for v in values[i:i + per_line]) + ",")
    return "\n".join(lines)


def main():
    version = unicodedata2.unidata_version
    package = importlib.metadata.version("unicodedata2")
    props = properties()
    index, blocks = two_level(props)
    orbits = case_orbits()
    # Each member maps to the next member of its orbit (the last to the first): a cycle to walk.
    pairs = sorted((orbit[i], orbit[(i + 1) % len(orbit)]) for orbit in orbits for i in range(len(orbit)))
    size = 1 << BLOCK_BITS
    header = f"""// Generated by scripts/gen_unicode_tables.py from unicodedata2 {package} (Unicode {version});
// do not edit. Per code point: the general category, White_Space and \\w membership (a two-level table of
// bytes), and simple case folding as orbits.
#pragma once

#include <cstdint>

namespace pyllm::text::unicode {{

inline constexpr const char* kUnicodeVersion = "{version}";

enum Category : uint8_t {{
  {", ".join("k" + c for c in CATEGORIES)},
  kNumCategories
}};
inline constexpr const char* kCategoryNames[kNumCategories] = {{{", ".join(f'"{c}"' for c in CATEGORIES)}}};

// A property byte: the category in the low 5 bits, then these flags.
inline constexpr uint8_t kCategoryBits = 0x1f;
inline constexpr uint8_t kWhiteSpace = 0x{WHITE_SPACE:02x};  // the White_Space property (regex \\s)
inline constexpr uint8_t kWord = 0x{WORD:02x};        // UTS #18 \\w: Alphabetic, M, Nd, Pc, Join_Control
inline constexpr uint32_t kMaxCodePoint = 0x10FFFF;

extern const uint8_t kBlockIndex[{len(index)}];       // code point >> {BLOCK_BITS} -> block
extern const uint8_t kBlocks[{len(blocks)} * {size}];  // block * {size} + (code point & {size - 1}) -> property byte
extern const uint32_t kCaseOrbit[{len(pairs)}][2];    // (code point, next in its simple case folding orbit), sorted

// The property byte of a code point; anything past U+10FFFF reads as unassigned.
inline uint8_t properties(uint32_t cp) {{
  if (cp > kMaxCodePoint) return kCn;
  return kBlocks[kBlockIndex[cp >> {BLOCK_BITS}] * {size} + (cp & {size - 1})];
}}
inline Category category(uint32_t cp) {{ return static_cast<Category>(properties(cp) & kCategoryBits); }}
inline bool is_white_space(uint32_t cp) {{ return properties(cp) & kWhiteSpace; }}
inline bool is_word(uint32_t cp) {{ return properties(cp) & kWord; }}

// The next code point of cp's simple case folding orbit (cp itself when it has no other case): walking
// it until returning to cp visits every code point that (?i) matches against cp.
uint32_t next_in_case_orbit(uint32_t cp);

}}  // namespace pyllm::text::unicode
"""
    body = f"""// Generated by scripts/gen_unicode_tables.py from unicodedata2 {package} (Unicode {version});
// do not edit.
#include "text/unicode_tables.h"

#include <algorithm>

namespace pyllm::text::unicode {{

const uint8_t kBlockIndex[{len(index)}] = {{
{c_array(index)}
}};

const uint8_t kBlocks[{len(blocks)} * {size}] = {{
{c_array([v for block in blocks for v in block], 32)}
}};

const uint32_t kCaseOrbit[{len(pairs)}][2] = {{
{c_array([f"{{{a},{b}}}" for a, b in pairs], 8)}
}};

uint32_t next_in_case_orbit(uint32_t cp) {{
  const auto* end = kCaseOrbit + {len(pairs)};
  const auto* it = std::lower_bound(kCaseOrbit, end, cp, [](const uint32_t* e, uint32_t c) {{ return e[0] < c; }});
  return it != end && (*it)[0] == cp ? (*it)[1] : cp;
}}

}}  // namespace pyllm::text::unicode
"""
    OUT_H.write_text(header)
    OUT_CPP.write_text(body)
    print(f"Unicode {version}: {len(blocks)} blocks of {size} ({len(index) + len(blocks) * size} bytes), "
          f"{len(orbits)} case orbits ({len(pairs)} code points); wrote {OUT_H.relative_to(ROOT)} and "
          f"{OUT_CPP.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
