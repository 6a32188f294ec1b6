"""BERT's WordPiece tokenizer, id for id what Hugging Face's BertTokenizerFast gives.

    tok = WordPieceTokenizer.from_file("all-MiniLM-L6-v2/")       # tokenizer.json, or vocab.txt
    tok.encode("Hello, world!")                 # [101, 7592, 1010, 2088, 999, 102]: [CLS] ... [SEP]
    tok.encode_pair("A question?", "An answer.")
    batch = tok.encode_batch(texts, padding=True)  # {"input_ids", "token_type_ids", "attention_mask"}: (B, T)
    tok.decode(ids, skip_special_tokens=True)

Text is cleaned (control characters dropped, whitespace normalized), CJK ideographs split apart, accents
stripped and letters lowercased (uncased models), split at whitespace and punctuation, and each word split
greedily into the longest vocabulary pieces ("##" marks a piece that continues a word); a word with no
such split, or longer than 100 characters, becomes [UNK]. All of it runs in the compiled core
(core/src/text/wordpiece.h); this module reads the files and shapes the results.
"""
import json
import pathlib

import numpy as np

from .. import _core

# Rust's char::is_whitespace, which HF's vocabulary reader trims from the end of each line.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_BERT_SPECIAL_TOKENS = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def _bert_template(cls_id, sep_id):
    """[CLS] A [SEP] and [CLS] A [SEP] B [SEP], B's part with type id 1: (single, pair) as core pieces."""
    single = [(-1, [cls_id], 0), (0, [], 0), (-1, [sep_id], 0)]
    pair = single + [(1, [], 1), (-1, [sep_id], 1)]
    return single, pair


def _template_pieces(items, special_tokens, path):
    """TemplateProcessing's list of {"SpecialToken": ...} / {"Sequence": ...} as core pieces."""
    pieces = []
    for item in items:
        if "Sequence" in item:
            pieces.append(({"A": 0, "B": 1}[item["Sequence"]["id"]], [], item["Sequence"]["type_id"]))
        else:
            name = item["SpecialToken"]["id"]
            if name not in special_tokens:
                raise ValueError(f"{path}: the post-processor's template names {name!r}, which it does not define")
            pieces.append((-1, list(special_tokens[name]["ids"]), item["SpecialToken"]["type_id"]))
    return pieces


class WordPieceTokenizer:
    """A BERT tokenizer over `vocab` (the tokens in id order, or a {token: id} dict covering 0..n-1), set up as
    transformers' BertTokenizerFast(vocab_file=...) sets it up. `strip_accents=None` follows
    `do_lower_case`. The five special tokens are matched in the raw text (so "[MASK]" in a text is the mask
    token); pass None for one the vocabulary lacks."""

    def __init__(self, vocab, *, do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True,
                 clean_text=True, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]",
                 mask_token="[MASK]", continuing_subword_prefix="##", max_input_chars_per_word=100):
        tokens = self._tokens_in_id_order(vocab, "WordPieceTokenizer")
        ids = {token: i for i, token in enumerate(tokens)}  # a repeated token: its last id, as HF keeps it
        if unk_token not in ids:
            raise ValueError(f"WordPieceTokenizer: unk_token {unk_token!r} is not in the vocabulary")
        optional = {"sep_token": sep_token, "pad_token": pad_token, "cls_token": cls_token, "mask_token": mask_token}
        for role, token in optional.items():
            if token is not None and token not in ids:
                raise ValueError(f"WordPieceTokenizer: {role} {token!r} is not in the vocabulary (pass {role}=None "
                                 f"if the vocabulary has none)")
        specials = dict.fromkeys([unk_token, *(t for t in optional.values() if t is not None)])
        added = [(token, ids[token], True, False, False) for token in specials]
        single, pair = ([], []) if cls_token is None or sep_token is None else _bert_template(ids[cls_token],
                                                                                              ids[sep_token])
        self._build(tokens, unk_token=unk_token, continuing_prefix=continuing_subword_prefix,
                    max_input_chars_per_word=max_input_chars_per_word, clean_text=clean_text,
                    handle_chinese_chars=tokenize_chinese_chars,
                    strip_accents=do_lower_case if strip_accents is None else strip_accents,
                    lowercase=do_lower_case, added_tokens=added, single_template=single, pair_template=pair,
                    wordpiece_decoder=True, decoder_cleanup=True, pad_token=pad_token)

    def _build(self, tokens, pad_token, **options):
        self._core = _core.WordPiece(tokens, **options)
        self.pad_token = pad_token

    @staticmethod
    def _tokens_in_id_order(vocab, where):
        if isinstance(vocab, dict):
            tokens = [None] * len(vocab)
            for token, i in vocab.items():
                if not isinstance(i, int) or not 0 <= i < len(vocab) or tokens[i] is not None:
                    raise ValueError(f"{where}: the vocabulary's ids must be 0..{len(vocab) - 1}, each once; "
                                     f"{token!r} has id {i!r}")
                tokens[i] = token
            return tokens
        tokens = list(vocab)
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"{where}: vocabulary tokens must be str, got {type(token).__name__}")
        return tokens

    # ---- loading ----

    @classmethod
    def from_file(cls, path, **options):
        """Loads a BERT vocabulary: a tokenizer.json (Hugging Face's format: WordPiece model, BertNormalizer,
        BertPreTokenizer, TemplateProcessing), a vocab.txt (one token per line; `options` as for the
        constructor), or a model directory holding either (tokenizer.json preferred; with vocab.txt, the
        directory's tokenizer_config.json supplies do_lower_case and the other options)."""
        path = pathlib.Path(path)
        if path.is_dir() and (path / "tokenizer.json").exists():
            path = path / "tokenizer.json"
        elif path.is_dir():
            config = path / "tokenizer_config.json"
            if config.exists():
                settings = json.loads(config.read_text(encoding="utf-8"))
                keys = ("do_lower_case", "strip_accents", "tokenize_chinese_chars") + _BERT_SPECIAL_TOKENS
                options = {**{k: settings[k] for k in keys if k in settings}, **options}
            path = path / "vocab.txt"
        if path.suffix == ".json":
            if options:
                raise ValueError(f"WordPieceTokenizer.from_file: {path} defines its own settings; options "
                                 f"{sorted(options)} apply to a vocab.txt")
            return cls.from_tokenizer_json(path)
        return cls.from_vocab_file(path, **options)

    @classmethod
    def from_vocab_file(cls, path, **options):
        """A BERT vocab.txt: the token of id i on line i."""
        path = pathlib.Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"WordPieceTokenizer: no vocabulary file {str(path)!r}")
        lines = path.read_text(encoding="utf-8").split("\n")
        if lines[-1] == "":
            lines.pop()
        return cls([line.rstrip(_WHITESPACE) for line in lines], **options)

    @classmethod
    def from_tokenizer_json(cls, path):
        """A Hugging Face tokenizer.json with a WordPiece model. Its "truncation" and "padding" settings are
        ignored: as in transformers, they are arguments of each call here."""
        path = pathlib.Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"WordPieceTokenizer: no tokenizer file {str(path)!r}")
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        model = spec.get("model") or {}
        if model.get("type") != "WordPiece":
            raise ValueError(f"{path}: the model is {model.get('type')!r}, not WordPiece")
        tokens = cls._tokens_in_id_order(model["vocab"], str(path))
        prefix = model.get("continuing_subword_prefix", "##")

        normalizer = spec.get("normalizer")
        if normalizer is None:
            normalization = dict(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=False)
        elif normalizer.get("type") == "BertNormalizer":
            lowercase = normalizer.get("lowercase", True)
            strip = normalizer.get("strip_accents")
            normalization = dict(clean_text=normalizer.get("clean_text", True),
                                 handle_chinese_chars=normalizer.get("handle_chinese_chars", True),
                                 strip_accents=lowercase if strip is None else strip, lowercase=lowercase)
        else:
            raise ValueError(f"{path}: normalizer {normalizer.get('type')!r} is not supported (BertNormalizer is)")
        pre = spec.get("pre_tokenizer") or {}
        if pre.get("type") != "BertPreTokenizer":
            raise ValueError(f"{path}: pre-tokenizer {pre.get('type')!r} is not supported (BertPreTokenizer is)")

        added = []
        for t in spec.get("added_tokens", []):
            if t.get("normalized") or t.get("single_word"):
                raise ValueError(f"{path}: added token {t['content']!r} is normalized or single_word; only tokens "
                                 f"matched verbatim in the raw text are supported")
            added.append((t["content"], t["id"], bool(t.get("special")), bool(t.get("lstrip")), bool(t.get("rstrip"))))
        ids = {token: i for i, token in enumerate(tokens)}
        ids.update((t[0], t[1]) for t in added)

        post = spec.get("post_processor")
        if post is None:
            single, pair = [], []
        elif post.get("type") == "TemplateProcessing":
            single = _template_pieces(post["single"], post["special_tokens"], path)
            pair = _template_pieces(post["pair"], post["special_tokens"], path)
        elif post.get("type") == "BertProcessing":
            single, pair = _bert_template(post["cls"][1], post["sep"][1])
        else:
            raise ValueError(f"{path}: post-processor {post.get('type')!r} is not supported "
                             f"(TemplateProcessing and BertProcessing are)")

        decoder = spec.get("decoder")
        if decoder is not None and decoder.get("type") != "WordPiece":
            raise ValueError(f"{path}: decoder {decoder.get('type')!r} is not supported (WordPiece is)")
        if decoder is not None and decoder.get("prefix", "##") != prefix:
            raise ValueError(f"{path}: the decoder's prefix {decoder.get('prefix')!r} differs from the model's {prefix!r}")
        padding = spec.get("padding") or {}
        pad_token = padding.get("pad_token", "[PAD]")

        tok = cls.__new__(cls)
        tok._build(tokens, unk_token=model.get("unk_token", "[UNK]"), continuing_prefix=prefix,
                   max_input_chars_per_word=model.get("max_input_chars_per_word", 100), **normalization,
                   added_tokens=added, single_template=single, pair_template=pair,
                   wordpiece_decoder=decoder is not None,
                   decoder_cleanup=decoder is not None and decoder.get("cleanup", True),
                   pad_token=pad_token if pad_token in ids else None)
        return tok

    # ---- encoding ----

    @staticmethod
    def _check_text(text, where):
        if not isinstance(text, str):
            raise TypeError(f"WordPieceTokenizer.{where}: text must be str, got {type(text).__name__}")

    @staticmethod
    def _max_length(max_length):
        if max_length is None:
            return 0
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"WordPieceTokenizer: max_length must be a positive int or None, got {max_length!r}")
        return max_length

    def encode(self, text, add_special_tokens=True, max_length=None):
        """The ids of `text`: [CLS] ... [SEP] unless add_special_tokens is False; at most max_length ids (the
        text's tokens are cut, the special tokens kept)."""
        self._check_text(text, "encode")
        return self._core.encode(text, None, add_special_tokens, self._max_length(max_length))

    def encode_pair(self, text, text_pair, add_special_tokens=True, max_length=None):
        """The ids of two texts as one input: [CLS] text [SEP] text_pair [SEP]; cut to max_length ids taking
        from the longer text first."""
        self._check_text(text, "encode_pair")
        self._check_text(text_pair, "encode_pair")
        return self._core.encode(text, text_pair, add_special_tokens, self._max_length(max_length))

    def encode_batch(self, texts, text_pairs=None, add_special_tokens=True, max_length=None, padding=False,
                     num_threads=None, return_tensors="np"):
        """Encodes many texts (or pairs) in parallel, with the GIL released. Without padding: a list of id
        lists. With padding=True (to the longest) or "max_length" (to max_length): a dict of int64 arrays
        (B, T) "input_ids", "token_type_ids" and "attention_mask" (1 for real tokens, 0 for padding), as
        NumPy arrays or, with return_tensors="pyllm", pyllm tensors. num_threads: at most this many threads
        (default pyllm.get_num_threads())."""
        if isinstance(texts, str):
            raise TypeError("WordPieceTokenizer.encode_batch: texts must be a list of str, not one str")
        if text_pairs is not None and len(text_pairs) != len(texts):
            raise ValueError(f"WordPieceTokenizer.encode_batch: {len(texts)} texts but {len(text_pairs)} text_pairs")
        max_length = self._max_length(max_length)
        threads = 0 if num_threads is None else int(num_threads)
        if padding is False:
            return self._core.encode_batch(texts, text_pairs, add_special_tokens, max_length, threads)
        if padding not in (True, "longest", "max_length"):
            raise ValueError(f"WordPieceTokenizer.encode_batch: padding must be False, True, 'longest' or "
                             f"'max_length', got {padding!r}")
        if padding == "max_length" and not max_length:
            raise ValueError("WordPieceTokenizer.encode_batch: padding='max_length' needs max_length")
        if return_tensors not in ("np", "pyllm"):
            raise ValueError(f"WordPieceTokenizer.encode_batch: return_tensors must be 'np' or 'pyllm', got "
                             f"{return_tensors!r}")
        if self.pad_token_id is None:
            raise ValueError("WordPieceTokenizer.encode_batch: padding needs a pad token, and this vocabulary has none")
        arrays = self._core.encode_batch_padded(texts, text_pairs, add_special_tokens, max_length, threads,
                                                max_length if padding == "max_length" else 0, self.pad_token_id)
        if return_tensors == "pyllm":
            arrays = [_core.from_numpy(a) for a in arrays]
        return dict(zip(("input_ids", "token_type_ids", "attention_mask"), arrays))

    def num_special_tokens_to_add(self, pair=False):
        """How many ids encode (pair=False) or encode_pair (pair=True) adds around the text: 2 and 3 for BERT.
        Handy to cut a long document into pieces that fit a model."""
        return self._core.num_special_tokens(bool(pair))

    def tokenize(self, text):
        """The tokens (strings) of `text`, without special tokens: ["hello", ",", "un", "##aff", ...]."""
        return [self._core.id_to_token(i) for i in self.encode(text, add_special_tokens=False)]

    # ---- decoding ----

    def decode(self, ids, skip_special_tokens=False, clean_up_tokenization_spaces=False):
        """The text of `ids` (a list, NumPy array or 1-D tensor): tokens joined by spaces, "##" pieces joined
        to the token before, no space before . , ! ? (HF's WordPiece decoder). skip_special_tokens leaves out
        [CLS], [SEP], [PAD] ...; clean_up_tokenization_spaces also joins "' s" forms as transformers'
        decode(clean_up_tokenization_spaces=True) does. ValueError for an id outside the vocabulary."""
        array = np.asarray(ids)
        if array.ndim != 1 and array.size:
            raise ValueError(f"WordPieceTokenizer.decode: ids must be 1-D, got shape {array.shape}")
        if array.size and array.dtype.kind not in "iu":
            raise TypeError(f"WordPieceTokenizer.decode: ids must be integers, got {array.dtype}")
        text = self._core.decode(array.reshape(-1).tolist(), skip_special_tokens)
        if clean_up_tokenization_spaces:
            for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                                  (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
                text = text.replace(before, after)
        return text

    # ---- vocabulary ----

    @property
    def vocab_size(self):
        return self._core.vocab_size

    def __len__(self):
        return self._core.vocab_size

    def token_to_id(self, token):
        """The id of `token`, or None."""
        return self._core.token_to_id(token)

    def id_to_token(self, id):
        """The token of `id`; ValueError if there is none."""
        return self._core.id_to_token(id)

    @property
    def pad_token_id(self):
        return None if self.pad_token is None else self.token_to_id(self.pad_token)

    def __repr__(self):
        return f"WordPieceTokenizer(vocab_size={self.vocab_size})"
