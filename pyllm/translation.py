"""Translation end to end: train an English -> Spanish ``Transformer`` on Bible verses, translate with beam
search, measure with BLEU and chrF. ``pyllm translate`` is a thin layer over these functions.

    model, tok = train_translator("out/translate")              # tokenizer.json + checkpoint.safetensors there
    model, tok = load_translator("out/translate")
    translate(model, tok, ["In the beginning was the Word."])   # -> one Spanish string per sentence
    result = evaluate_translator(model, tok, bible_en_es()["test"])   # .bleu, .chrf, .hypotheses

One byte-level BPE vocabulary is trained on both sides of the training split and shared by source and target
(so one embedding matrix embeds both and produces the logits, as the paper); its last three ids are the
special tokens ``<pad>``, ``<s>`` (the decoder's start) and ``</s>`` (end of sentence).
"""
import dataclasses
import os
from collections import namedtuple

import numpy as np

from . import _core
from .data.corpora import bible_en_es
from .data.pairs import PairDataset
from .eval import bleu, chrf
from .models import Transformer, TransformerConfig
from .tokenizers import BPETokenizer
from .train import TrainConfig, Trainer, read_checkpoint

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>")
TOKENIZER_FILE = "tokenizer.json"
Evaluation = namedtuple("Evaluation", ["bleu", "chrf", "sources", "references", "hypotheses"])


@dataclasses.dataclass
class TranslatorConfig:
    """What ``train_translator`` builds and how long it trains. The defaults train in about 10 minutes on 2 CPU
    cores (README, "Translate"); the paper's base model is d_model=512, layers=6, heads=8, ffn_dim=2048, a
    37,000-token vocabulary, 100,000 steps of 25,000-token batches on 8 GPUs."""

    vocab_size: int = 8000          # shared BPE vocabulary, special tokens included
    d_model: int = 128
    layers: int = 2                 # encoder layers, and as many decoder layers
    heads: int = 4
    ffn_dim: int = 512
    dropout: float = 0.1
    label_smoothing: float = 0.1    # as the paper
    max_len: int = 96               # training pairs with a longer side (in tokens) are left out
    batch_tokens: int = 2048        # padded tokens per batch (length-bucketed batches)
    max_iters: int = 600
    learning_rate: float = 3e-3
    warmup_iters: int = 60
    eval_interval: int = 200
    eval_iters: int = 5
    seed: int = 1337

    def model_config(self, tokenizer):
        V = tokenizer.vocab_size
        pad, bos, eos = (tokenizer.token_to_id(t) for t in SPECIAL_TOKENS)
        return TransformerConfig(vocab_size=V, d_model=self.d_model, encoder_layers=self.layers,
                                 decoder_layers=self.layers, encoder_attention_heads=self.heads,
                                 decoder_attention_heads=self.heads, encoder_ffn_dim=self.ffn_dim,
                                 decoder_ffn_dim=self.ffn_dim, max_position_embeddings=max(self.max_len, 256),
                                 dropout=self.dropout, label_smoothing=self.label_smoothing, pad_token_id=pad,
                                 bos_token_id=bos, eos_token_id=eos)


def seq2seq_loss(model, batch):
    """The Trainer's loss for a ``PairBatch``: the model's cross-entropy on the labels."""
    return model(batch.src, batch.tgt_in, batch.src_padding_mask, batch.tgt_padding_mask, labels=batch.labels)[1]


def _pair_dataset(tokenizer, pairs, config, seed):
    src = tokenizer.encode_ordinary_batch([en for _, en, _ in pairs])
    tgt = tokenizer.encode_ordinary_batch([es for _, _, es in pairs])
    pad, bos, eos = (tokenizer.token_to_id(t) for t in SPECIAL_TOKENS)
    # batch_size never binds (a pair has >= 1 token): the token budget alone sizes batches
    return PairDataset(src, tgt, pad, bos, eos, batch_size=config.batch_tokens, max_tokens=config.batch_tokens,
                       max_len=config.max_len, seed=seed)


def train_translator(out_dir, config=None, splits=None, resume=False, progress=True, log=print):
    """Trains the en -> es model on ``splits`` (default ``bible_en_es()``: {"train", "val", ...} lists of
    (reference, english, spanish)) and returns (model, tokenizer). Writes ``out_dir/tokenizer.json`` and the
    Trainer's checkpoint, metrics and loss curve. ``resume=True`` continues the checkpoint in ``out_dir``
    (with its tokenizer) up to ``config.max_iters``."""
    config = config or TranslatorConfig()
    splits = splits if splits is not None else bible_en_es()
    for name in ("train", "val"):
        if not splits.get(name):
            raise ValueError(f"train_translator: the {name!r} split is empty")
    tok_path = os.path.join(out_dir, TOKENIZER_FILE)
    if resume:
        if not os.path.exists(os.path.join(out_dir, "checkpoint.safetensors")):
            raise FileNotFoundError(f"train_translator: nothing to resume: {out_dir}/checkpoint.safetensors is missing")
        tokenizer = BPETokenizer.load(tok_path)
    else:
        texts = (text for _, en, es in splits["train"] for text in (en, es))
        tokenizer = BPETokenizer.train(texts, config.vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False)
        os.makedirs(out_dir, exist_ok=True)
        tokenizer.save(tok_path)
    train = _pair_dataset(tokenizer, splits["train"], config, config.seed)
    val = _pair_dataset(tokenizer, splits["val"], config, config.seed)
    log(f"{len(splits['train'])} training pairs ({train.dropped} longer than {config.max_len} tokens left out) in "
        f"{len(train)} batches, {len(splits['val'])} validation pairs; vocabulary {tokenizer.vocab_size}")
    _core.manual_seed(config.seed)  # the initial weights
    model_config = config.model_config(tokenizer)
    model = Transformer(model_config, verbose=False)
    log(f"Transformer: {model.num_parameters() / 1e6:.2f}M parameters, d_model {config.d_model}, "
        f"{config.layers}+{config.layers} layers, {config.heads} heads, ffn {config.ffn_dim}")
    train_config = TrainConfig(max_iters=config.max_iters, learning_rate=config.learning_rate,
                               min_lr=config.learning_rate / 10, warmup_iters=config.warmup_iters,
                               eval_interval=config.eval_interval, eval_iters=config.eval_iters, beta2=0.98,
                               weight_decay=0.01, log_interval=10, seed=config.seed, out_dir=out_dir,
                               progress=progress)
    metadata = {"model": dataclasses.asdict(model_config), "translator": dataclasses.asdict(config),
                "tokenizer": TOKENIZER_FILE}
    trainer = Trainer(model, train_config, train.get_batch, val.get_batch, loss_fn=seq2seq_loss, metadata=metadata)
    if resume:
        trainer.resume()
        log(f"resumed at step {trainer.step}")
    trainer.fit()
    return model, tokenizer


def load_translator(directory):
    """(model, tokenizer) from a directory written by ``train_translator``, the model in eval mode."""
    path = os.path.join(directory, "checkpoint.safetensors")
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_translator: {path} does not exist (train with `pyllm translate` first)")
    weights, _, state = read_checkpoint(path)
    metadata = state.get("metadata") or {}
    if "model" not in metadata:
        raise ValueError(f"load_translator: {path} is not a translation checkpoint (no model config in its metadata)")
    model = Transformer(TransformerConfig(**metadata["model"]), verbose=False)
    model.load_state_dict(weights)
    tokenizer = BPETokenizer.load(os.path.join(directory, metadata.get("tokenizer", TOKENIZER_FILE)))
    return model.eval(), tokenizer


def translate(model, tokenizer, sentences, num_beams=4, length_penalty=1.0, batch_size=32, max_new_tokens=None):
    """The translations of ``sentences`` (a list of str), in order. Sentences are batched by length; each gets
    up to ``max_new_tokens`` tokens (default 1.5 x its batch's longest source + 10, within the model's
    positions)."""
    cfg = model.config
    ids = tokenizer.encode_ordinary_batch(list(sentences))
    limit = cfg.max_position_embeddings
    for i, s in enumerate(ids):
        if len(s) > limit:
            raise ValueError(f"translate: sentence {i} has {len(s)} tokens; the model takes at most {limit}")
        if not s:
            raise ValueError(f"translate: sentence {i} is empty")
    order = np.argsort([len(s) for s in ids], kind="stable")
    out = [None] * len(ids)
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        S = max(len(ids[i]) for i in rows)
        src = np.full((len(rows), S), cfg.pad_token_id, dtype=np.int64)
        for r, i in enumerate(rows):
            src[r, :len(ids[i])] = ids[i]
        mask = np.arange(S) >= np.array([len(ids[i]) for i in rows])[:, None]
        n = max_new_tokens if max_new_tokens is not None else int(1.5 * S) + 10
        generated = model.generate(_core.from_numpy(src), _core.from_numpy(mask), max_new_tokens=min(n, limit - 1),
                                   num_beams=num_beams, length_penalty=length_penalty).numpy()
        for r, i in enumerate(rows):
            tokens = generated[r, 1:].tolist()                                 # after the start token
            if cfg.eos_token_id in tokens:
                tokens = tokens[:tokens.index(cfg.eos_token_id)]
            out[i] = tokenizer.decode([t for t in tokens if t != cfg.pad_token_id]).strip()
    return out


def evaluate_translator(model, tokenizer, pairs, **translate_kwargs):
    """Translates the English side of ``pairs`` ([(reference, english, spanish)]) and scores the output
    against the Spanish side: an ``Evaluation`` with corpus BLEU and chrF (pyllm.eval, equal to sacrebleu's)."""
    sources = [en for _, en, _ in pairs]
    references = [es for _, _, es in pairs]
    hypotheses = translate(model, tokenizer, sources, **translate_kwargs)
    return Evaluation(bleu(hypotheses, [references]), chrf(hypotheses, [references]), sources, references, hypotheses)
