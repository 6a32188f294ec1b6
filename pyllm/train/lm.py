"""A language model from corpus to samples, as ``pyllm train`` runs it, and back from its directory, as
``pyllm sample`` and ``pyllm eval`` load it.

    opts = LMOptions(max_iters=200, out_dir="out/tiny")        # nanoGPT's Shakespeare-char CPU defaults
    model, tokenizer, trainer = train_language_model(opts)     # tokenizer, token files, GPT, Trainer.fit()
    model, tokenizer, meta = load_trained("out/tiny")          # the same model, rebuilt from the directory
    print(sample_text(model, tokenizer, "ROMEO:", max_new_tokens=100, seed=1))

The run directory holds everything needed to continue or use the run: ``tokenizer.json``, ``data/`` (the
token files), ``checkpoint.safetensors`` (weights, optimizer and RNG states; its metadata records the model
class and config and the tokenizer's kind), ``metrics.jsonl``/``.csv`` and ``loss.png``.
"""
import codecs
import dataclasses
import json
import os
from functools import partial
from typing import List, Optional

import numpy as np

from .. import _core
from ..data import TokenDataset, prepare_tokens, read_meta, shakespeare
from ..models import GPT, GPTConfig, Llama, LlamaConfig
from ..tokenizers import BPETokenizer, CharTokenizer, formats
from ..tokenizers.char import FORMAT as char_format
from .checkpoint import read_checkpoint
from .trainer import TrainConfig, Trainer

ENDOFTEXT = "<|endoftext|>"
MODELS = {"gpt": (GPT, GPTConfig), "llama": (Llama, LlamaConfig)}


@dataclasses.dataclass
class LMOptions(TrainConfig):
    """What ``pyllm train`` takes: the data, tokenizer and model, then the Trainer's settings (inherited, with
    nanoGPT's names). The defaults are nanoGPT's Shakespeare-char CPU configuration."""

    data: List[str] = dataclasses.field(default_factory=lambda: ["shakespeare"])  # "shakespeare" or text files
    tokenizer: str = "char"               # "char", "bpe" (trained on the data) or a saved tokenizer file
    vocab_size: int = 2048                # for "bpe": 256 bytes + merges + <|endoftext|>
    model: str = "gpt"                    # "gpt" (GPT-2 layout) or "llama" (RMSNorm, RoPE, SwiGLU)
    n_layer: int = 4
    n_head: int = 4
    n_kv_head: Optional[int] = None       # llama: key/value heads for grouped-query attention
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    batch_size: int = 12
    val_fraction: float = 0.1
    out_dir: str = "out/shakespeare-char"
    eval_iters: int = 20
    log_interval: int = 10

    def __post_init__(self):
        super().__post_init__()
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, got {self.model!r}")
        for name in ("n_layer", "n_head", "n_embd", "block_size", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if isinstance(self.data, str):
            self.data = [self.data]
        if not self.data:
            raise ValueError("data: name at least one corpus or text file")

    def train_config(self):
        """The Trainer's part of these options."""
        return TrainConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(TrainConfig)})


def load_corpus(data):
    """The training text: ``["shakespeare"]`` (the complete works, fetched once) or UTF-8 text files, as one
    string per source. ValueError for an empty corpus, FileNotFoundError naming a missing file."""
    texts = []
    for source in data:
        if source == "shakespeare":
            texts.append(shakespeare())
            continue
        if not os.path.isfile(source):
            raise FileNotFoundError(f"no such text file: {source!r} (give 'shakespeare' or UTF-8 text files)")
        with open(source, encoding="utf-8") as f:
            texts.append(f.read())
    if not any(t.strip() for t in texts):
        raise ValueError(f"the corpus {data} is empty")
    return texts


def load_tokenizer(path):
    """A tokenizer file written by CharTokenizer.save or BPETokenizer.save, or a Hugging Face tokenizer.json."""
    with open(path, encoding="utf-8") as f:
        try:
            doc = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not a tokenizer file ({e})") from None
    if isinstance(doc, dict) and doc.get("format") == char_format:
        return CharTokenizer.load(path)
    return formats.load_any(path)


def build_tokenizer(opts, texts, verbose=True):
    """``opts.tokenizer``: "char" (the corpus's characters), "bpe" (byte-level BPE trained on the corpus to
    ``opts.vocab_size`` ids, GPT-2's split pattern, <|endoftext|> last) or the path of a saved tokenizer."""
    if opts.tokenizer == "char":
        return CharTokenizer.train(texts)
    if opts.tokenizer == "bpe":
        return BPETokenizer.train(iter(texts), opts.vocab_size, special_tokens=[ENDOFTEXT], show_progress=verbose)
    if not os.path.isfile(opts.tokenizer):
        raise FileNotFoundError(f"tokenizer: {opts.tokenizer!r} is neither 'char', 'bpe' nor a tokenizer file")
    return load_tokenizer(opts.tokenizer)


def model_config(opts, vocab_size):
    """The model's Config dataclass for these options."""
    if opts.model == "gpt":
        return GPTConfig(block_size=opts.block_size, vocab_size=vocab_size, n_layer=opts.n_layer,
                         n_head=opts.n_head, n_embd=opts.n_embd, dropout=opts.dropout)
    return LlamaConfig(vocab_size=vocab_size, hidden_size=opts.n_embd, intermediate_size=_swiglu_width(opts.n_embd),
                       num_hidden_layers=opts.n_layer, num_attention_heads=opts.n_head,
                       num_key_value_heads=opts.n_kv_head, max_position_embeddings=opts.block_size,
                       tie_word_embeddings=True)


def _swiglu_width(d):
    """Llama's hidden width: 2/3 of 4d (SwiGLU has three matrices, not two), rounded up to a multiple of 32."""
    return -(-int(8 * d / 3) // 32) * 32


def _separator(tokenizer):
    special = getattr(tokenizer, "special_tokens", {})
    return special.get(ENDOFTEXT)


def train_language_model(opts, verbose=True):
    """Tokenizes the corpus into ``opts.out_dir`` (tokenizer.json, data/), builds the model and trains it;
    returns (model, tokenizer, trainer)."""
    return _run(opts, resume=False, verbose=verbose)


def resume_language_model(opts, verbose=True):
    """Continues the run in ``opts.out_dir`` from its checkpoint, with its tokenizer and token files, up to
    ``opts.max_iters`` steps; the losses equal those of a run that was never interrupted."""
    return _run(opts, resume=True, verbose=verbose)


def _run(opts, resume, verbose):
    os.makedirs(opts.out_dir, exist_ok=True)
    tokenizer_path = os.path.join(opts.out_dir, "tokenizer.json")
    data_dir = os.path.join(opts.out_dir, "data")
    if resume:
        for needed in (tokenizer_path, os.path.join(data_dir, "meta.json")):
            if not os.path.exists(needed):
                raise FileNotFoundError(f"cannot resume: {needed} is missing (train without --resume first)")
        tokenizer = load_tokenizer(tokenizer_path)
    else:
        texts = load_corpus(opts.data)
        tokenizer = build_tokenizer(opts, texts, verbose)
        tokenizer.save(tokenizer_path)
        prepare_tokens(texts, tokenizer, data_dir, opts.val_fraction, separator_id=_separator(tokenizer),
                       tokenizer_name=tokenizer_path)
    meta = read_meta(data_dir)
    train, val = TokenDataset.load(data_dir, "train"), TokenDataset.load(data_dir, "val")
    if verbose:
        print(f"data: {meta['tokens']['train']:,} train and {meta['tokens']['val']:,} val tokens, vocabulary "
              f"{meta['vocab_size']:,} ({type(tokenizer).__name__})")
    cls, _ = MODELS[opts.model]
    config = model_config(opts, meta["vocab_size"])
    _core.manual_seed(opts.seed)  # the same initial weights for the same seed
    model = cls(config, verbose=verbose)
    metadata = {"model": opts.model, "model_config": dataclasses.asdict(config), "tokenizer": "tokenizer.json",
                "options": dataclasses.asdict(opts)}
    trainer = Trainer(model, opts.train_config(), partial(train.get_batch, opts.batch_size, opts.block_size),
                      partial(val.get_batch, opts.batch_size, opts.block_size) if len(val) > opts.block_size else None,
                      metadata=metadata)
    if resume:
        trainer.resume()
    trainer.fit()
    return model, tokenizer, trainer


def load_trained(run_dir, checkpoint="checkpoint.safetensors"):
    """(model in eval mode, tokenizer, checkpoint state) of a run directory written by ``pyllm train``."""
    path = os.path.join(run_dir, checkpoint)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{run_dir}: no {checkpoint} (is it a directory written by `pyllm train`?)")
    weights, _, state = read_checkpoint(path)
    metadata = state.get("metadata") or {}
    if metadata.get("model") not in MODELS or "model_config" not in metadata:
        raise ValueError(f"{path}: the checkpoint does not say which model it holds (no 'model'/'model_config' "
                         "metadata); it was not written by `pyllm train`")
    cls, config_cls = MODELS[metadata["model"]]
    model = cls(config_cls(**metadata["model_config"]), verbose=False)
    model.load_state_dict(weights)
    tokenizer = load_tokenizer(os.path.join(run_dir, metadata.get("tokenizer", "tokenizer.json")))
    return model.eval(), tokenizer, state


def load_model_and_tokenizer(path):
    """(model in eval mode, tokenizer) from any of: a run directory of ``pyllm train``, a Hugging Face model
    directory (config.json + weights + tokenizer files), or a llama-architecture ``.gguf`` file."""
    from .. import from_pretrained
    from ..tokenizers import from_pretrained as tokenizer_from_pretrained

    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "checkpoint.safetensors")):
        return load_trained(path)[:2]
    if (os.path.isdir(path) and os.path.isfile(os.path.join(path, "config.json"))) or \
            (os.path.isfile(path) and path.endswith(".gguf")):
        return from_pretrained(path), tokenizer_from_pretrained(path)
    raise FileNotFoundError(f"{path}: not a model: give the run directory of `pyllm train`, a Hugging Face model "
                            "directory (config.json) or a .gguf file")


def encode_prompt(tokenizer, prompt):
    """The ids of ``prompt`` (special tokens' text allowed, e.g. "<|endoftext|>" to start from nothing)."""
    if isinstance(tokenizer, BPETokenizer):
        return tokenizer.encode(prompt, allowed_special="all")
    return tokenizer.encode(prompt)


class TextStreamer:
    """Prints generated text as it comes: a ``streamer`` for ``generate`` that decodes each new id and writes
    the complete UTF-8 characters so far (a BPE token can end inside a character)."""

    def __init__(self, tokenizer, write):
        self.tokenizer, self.write = tokenizer, write
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def __call__(self, token_id):
        if hasattr(self.tokenizer, "decode_bytes"):
            self.write(self._decoder.decode(self.tokenizer.decode_bytes([token_id])))
        else:
            self.write(self.tokenizer.decode([token_id]))

    def close(self):
        self.write(self._decoder.decode(b"", final=True))


def sample_text(model, tokenizer, prompt="\n", max_new_tokens=500, temperature=0.8, top_k=200, top_p=None,
                repetition_penalty=1.0, do_sample=True, seed=None, stream=None):
    """The prompt's continuation as text (without the prompt). ``stream``: a function called with each piece
    of text as it is generated (e.g. ``sys.stdout.write``)."""
    ids = encode_prompt(tokenizer, prompt)
    if not ids:
        raise ValueError("the prompt encodes to no tokens; give at least one character")
    streamer = TextStreamer(tokenizer, stream) if stream is not None else None
    out = model.generate(_core.from_numpy(np.asarray([ids], dtype=np.int64)), max_new_tokens,
                         temperature=temperature, top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty,
                         eos_token_id=_separator(tokenizer), do_sample=do_sample, seed=seed, streamer=streamer)
    if streamer is not None:
        streamer.close()
    return tokenizer.decode(out[0, len(ids):].tolist())
