"""Token files, random-window LM batches, sentence-pair batches and the en-es Bible recipe, each checked
against an independent NumPy/Python computation on fresh random data."""
import doctest
import json
import os

import numpy as np
import pytest

import pyllm.data.pairs as pairs_module
import pyllm.data.tokens as tokens_module
from pyllm.data import (DownloadError, PairDataset, TokenDataset, bible, bible_en_es, prepare_tokens, read_meta)
from pyllm.tokenizers import BPETokenizer, CharTokenizer


def random_text(rng, n, alphabet="abcdefgh ijklm\nNOP.,;é"):
    return "".join(rng.choice(list(alphabet), n))


class FakeTokenizer:
    """Returns the ids it is given, so any id (huge, negative) can be produced."""

    def __init__(self, ids_per_text, vocab_size):
        self.ids, self.vocab_size = ids_per_text, vocab_size

    def encode(self, text):
        return self.ids[text]


def test_char_corpus_round_trips_with_split(tmp_path, rng):
    text = random_text(rng, int(rng.integers(500, 2000)))
    tok = CharTokenizer.train(text)
    fraction = float(rng.uniform(0.05, 0.5))
    meta = prepare_tokens(text, tok, tmp_path / "tok", val_fraction=fraction, tokenizer_name="chars.json")
    alphabet = sorted(set(text))
    expected = np.array([alphabet.index(c) for c in text])
    n_val = int(round(len(text) * fraction))
    assert meta == read_meta(tmp_path / "tok")
    assert meta["dtype"] == "uint16" and meta["vocab_size"] == len(alphabet) and meta["tokenizer"] == "CharTokenizer"
    assert meta["tokens"] == {"train": len(text) - n_val, "val": n_val}
    raw = np.fromfile(tmp_path / "tok" / "train.bin", dtype="<u2")
    np.testing.assert_array_equal(raw, expected[:len(text) - n_val])
    np.testing.assert_array_equal(TokenDataset.load(tmp_path / "tok", "val").tokens, expected[len(text) - n_val:])
    assert sorted(os.listdir(tmp_path / "tok")) == ["meta.json", "train.bin", "val.bin"]


def test_bpe_documents_with_separator(tmp_path, rng):
    docs = [random_text(rng, int(rng.integers(50, 300))) for _ in range(5)]
    tok = BPETokenizer.train(iter(docs), vocab_size=300, show_progress=False)  # an iterable: documents, not paths
    prepare_tokens(docs, tok, tmp_path, val_fraction=0.0, separator_id=299)
    expected = [i for d in docs for i in tok.encode_ordinary(d) + [299]]
    np.testing.assert_array_equal(TokenDataset.load(tmp_path).tokens, expected)
    assert read_meta(tmp_path)["tokens"]["val"] == 0


def test_files_as_input_and_uint32(tmp_path, rng):
    ids = rng.integers(0, 70000, 100)
    (tmp_path / "a.txt").write_text("A", encoding="utf-8")
    meta = prepare_tokens([tmp_path / "a.txt"], FakeTokenizer({"A": ids.tolist()}, 70000), tmp_path / "out", 0.2)
    assert meta["dtype"] == "uint32"
    np.testing.assert_array_equal(np.fromfile(tmp_path / "out" / "val.bin", dtype="<u4"), ids[80:])
    np.testing.assert_array_equal(TokenDataset.load(tmp_path / "out").tokens, ids[:80])


@pytest.mark.parametrize("ids, vocab, message", [
    ([2**32], 2**33, r"id 4294967296 .* \[0, 2\*\*32\)"),
    ([-1, 3], 10, "id -1"),
    ([2**70], 2**71, "not int64 integers"),
    ([5, 12], 10, "id 12 is outside the tokenizer's vocabulary of 10"),
    ([], 10, "encoded the corpus to no tokens"),
])
def test_bad_ids_raise(tmp_path, ids, vocab, message):
    with pytest.raises(ValueError, match=message):
        prepare_tokens("x", FakeTokenizer({"x": ids}, vocab), tmp_path)
    assert not (tmp_path / "meta.json").exists()


def test_input_errors(tmp_path):
    tok = CharTokenizer("ab")
    with pytest.raises(ValueError, match="the corpus is empty"):
        prepare_tokens(["", ""], tok, tmp_path)
    with pytest.raises(ValueError, match="separator_id -1 is not an id"):
        prepare_tokens("ab", tok, tmp_path, separator_id=-1)
    with pytest.raises(ValueError, match="val_fraction must be in"):
        prepare_tokens("ab", tok, tmp_path, val_fraction=1.0)
    with pytest.raises(FileNotFoundError, match="tokenize the corpus first"):
        TokenDataset.load(tmp_path)
    prepare_tokens("abba" * 10, tok, tmp_path, val_fraction=0.25)
    with open(tmp_path / "train.bin", "r+b") as f:
        f.truncate(10)
    with pytest.raises(ValueError, match="truncated"):
        TokenDataset.load(tmp_path)
    with pytest.raises(ValueError, match="no split 'test'"):
        TokenDataset.load(tmp_path, "test")
    data = TokenDataset.load(tmp_path, "val")  # 10 tokens
    with pytest.raises(ValueError, match="block_size 10 needs at least 11 tokens, but the data holds 10"):
        data.get_batch(2, 10, np.random.default_rng(0))
    (tmp_path / "meta.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a pyllm token-file"):
        read_meta(tmp_path)


def test_get_batch_matches_numpy_windows(rng):
    tokens = rng.integers(0, 65536, int(rng.integers(50, 500))).astype(np.uint16)
    B, T = int(rng.integers(1, 8)), int(rng.integers(1, 40))
    seed = int(rng.integers(2**32))
    x, y = TokenDataset(tokens).get_batch(B, T, np.random.default_rng(seed))
    starts = np.random.default_rng(seed).integers(0, len(tokens) - T, B)  # nanoGPT: randint(len(data) - T)
    assert x.dtype == y.dtype == x.dtype.int64 and tuple(x.shape) == tuple(y.shape) == (B, T)
    for b, s in enumerate(starts):
        assert x[b].tolist() == [int(v) for v in tokens[s:s + T]]
        assert y[b].tolist() == [int(v) for v in tokens[s + 1:s + T + 1]]
    # The data generator's state resumes the batch stream exactly.
    g = np.random.default_rng(seed)
    data = TokenDataset(tokens)
    data.get_batch(B, T, g)
    state = g.bit_generator.state
    after = data.get_batch(B, T, g)[0].tolist()
    g2 = np.random.default_rng()
    g2.bit_generator.state = json.loads(json.dumps(state))
    assert data.get_batch(B, T, g2)[0].tolist() == after


def random_pairs(rng, n):
    # Each source starts with a unique id (index + 3), so a batch row identifies its pair.
    src = [[i + 3] + rng.integers(3, 50, int(rng.integers(0, 12))).tolist() for i in range(n)]
    tgt = [rng.integers(3, 50, int(rng.integers(1, 12))).tolist() for _ in range(n)]
    return src, tgt


def test_pair_batches_hold_every_pair_once_with_masks(rng):
    src, tgt = random_pairs(rng, int(rng.integers(20, 80)))
    batch_size, max_tokens = int(rng.integers(1, 9)), int(rng.integers(13, 60))
    data = PairDataset(src, tgt, pad_id=0, bos_id=1, eos_id=2, batch_size=batch_size, max_tokens=max_tokens, seed=7)
    seen = []
    for b in data.batches(seed=3):
        B, S = b.src.shape
        T = b.tgt_in.shape[1]
        assert B <= batch_size and B * max(S, T) <= max_tokens
        src_np, tgt_in, labels = b.src.numpy(), b.tgt_in.numpy(), b.labels.numpy()
        src_pad, tgt_pad = b.src_padding_mask.numpy(), b.tgt_padding_mask.numpy()
        for row in range(B):
            i = int(src_np[row, 0]) - 3
            seen.append(i)
            s, t = src[i], tgt[i]
            assert src_np[row].tolist() == s + [0] * (S - len(s))
            assert src_pad[row].tolist() == [False] * len(s) + [True] * (S - len(s))
            assert tgt_in[row].tolist() == [1] + t + [0] * (T - len(t) - 1)
            assert labels[row].tolist() == t + [2] + [-100] * (T - len(t) - 1)
            assert tgt_pad[row].tolist() == [False] * (len(t) + 1) + [True] * (T - len(t) - 1)
        assert S == max(len(src[int(v) - 3]) for v in src_np[:, 0])  # padded to the batch's longest only
    assert sorted(seen) == list(range(len(src)))
    # Deterministic: the same seeds give the same batches; another shuffle seed another order.
    again = PairDataset(src, tgt, 0, 1, 2, batch_size=batch_size, max_tokens=max_tokens, seed=7)
    first = [b.src.numpy()[:, 0].tolist() for b in data.batches(seed=3)]
    assert first == [b.src.numpy()[:, 0].tolist() for b in again.batches(seed=3)]
    if len(data) > 3:
        assert first != [b.src.numpy()[:, 0].tolist() for b in data.batches(seed=4)]


def test_pair_bucketing_sorts_by_length_and_drops_long(rng):
    src, tgt = random_pairs(rng, 60)
    max_len = 8
    data = PairDataset(src, tgt, 0, 1, 2, batch_size=5, max_len=max_len)
    kept = [i for i in range(60) if len(src[i]) <= max_len and len(tgt[i]) + 1 <= max_len]
    assert data.dropped == 60 - len(kept)
    rows = [int(v) - 3 for b in data.batches() for v in b.src.numpy()[:, 0]]
    assert sorted(rows) == kept
    keys = [(len(src[i]), len(tgt[i])) for i in rows]
    assert keys == sorted(keys)  # unshuffled batches come in (source length, target length) order
    assert data.get_batch(np.random.default_rng(0)).src.shape[0] <= 5


def test_pair_errors():
    with pytest.raises(ValueError, match="3 source sentences but 2 targets"):
        PairDataset([[1]] * 3, [[1]] * 2, 0, 1, 2)
    with pytest.raises(ValueError, match="pair 1 has an empty target"):
        PairDataset([[4], [5]], [[4], []], 0, 1, 2)
    with pytest.raises(ValueError, match="does not fit in max_tokens=3"):
        PairDataset([[4, 5, 6, 7]], [[4]], 0, 1, 2, max_tokens=3)
    with pytest.raises(ValueError, match="no pairs of at most 1 tokens"):
        PairDataset([[4, 5]], [[4]], 0, 1, 2, max_len=1)


def test_bible_en_es_split(tmp_path):
    try:
        english, spanish = bible("kjv"), bible("sparv")
    except DownloadError as e:
        pytest.skip(str(e))
    splits = bible_en_es(val_size=300, test_size=200, seed=5)
    expected = [(r, en, es) for (r, en), (_, es) in zip(english, spanish) if en.strip() and es.strip()]
    assert {k: len(v) for k, v in splits.items()} == {"val": 300, "test": 200, "train": len(expected) - 500}
    position = {r: i for i, (r, _, _) in enumerate(expected)}
    merged = sorted(splits["train"] + splits["val"] + splits["test"], key=lambda p: position[p[0]])
    assert merged == expected  # disjoint, complete, the verses aligned
    for part in splits.values():
        assert [position[r] for r, _, _ in part] == sorted(position[r] for r, _, _ in part)
    perm = np.random.default_rng(5).permutation(len(expected))
    assert sorted(position[r] for r, _, _ in splits["test"]) == sorted(perm[300:500].tolist())
    assert bible_en_es(val_size=300, test_size=200, seed=5) == splits
    with pytest.raises(ValueError, match="must be non-negative and leave training pairs"):
        bible_en_es(val_size=len(expected))


def test_docstring_examples():
    assert doctest.testmod(tokens_module).failed == 0
    assert doctest.testmod(pairs_module).failed == 0
