"""Encoder: a BERT-style bidirectional Transformer encoder (Devlin et al. 2019), for classification and
sentence embeddings.

    input_ids (B, T) -> word + position + token-type embeddings -> LayerNorm -> num_hidden_layers x [post-LN
                block: self-attention over the unpadded tokens, GELU feed-forward] -> hidden states (B, T, H)
                -> pooled (B, H): "cls" (BERT's pooler: tanh(dense(h[:, 0]))) or "mean" (the mean of the real
                tokens' states, sentence-transformers' pooling), optionally L2-normalised
                -> [classifier -> logits (B, num_labels)]

Parameter names are Hugging Face's BertModel ones (``embeddings.word_embeddings``,
``encoder.layer.0.attention.self.query``, ``encoder.layer.0.attention.output.LayerNorm``,
``encoder.layer.0.intermediate.dense``, ``encoder.layer.0.output.dense``, ``pooler.dense``), so BERT and
sentence-transformers checkpoints (all-MiniLM-L6-v2) load by name, with no transposes; the classification head
is BertForSequenceClassification's ``classifier`` (whose checkpoints prefix the rest with ``bert.``).

``attention_mask`` follows Hugging Face: 1 (True) at real tokens, 0 at padding.

>>> import pyllm
>>> cfg = EncoderConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
...                     intermediate_size=32, max_position_embeddings=16, pooling="mean", normalize=True)
>>> hidden, pooled = Encoder(cfg, verbose=False)(pyllm.tensor([[2, 7, 9, 0]]), pyllm.tensor([[1, 1, 1, 0]]))
>>> hidden.shape, pooled.shape, round(float((pooled * pooled).sum()), 4)
((1, 4, 16), (1, 16), 1.0)
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import nn
from .._creation import arange, tensor, zeros
from ..autograd import no_grad
from ..nn import functional as F
from ..nn.modules.activation import HF_ACTIVATIONS
from ..nn.modules.attention import attention, merge_heads, split_heads



@dataclass
class EncoderConfig:
    """BERT-base by default; names as Hugging Face's BertConfig, plus how to pool and classify."""

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"                 # BERT's exact (erf) GELU; "gelu_new" (tanh) or "relu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2                 # segments (sentence A / B)
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    initializer_range: float = 0.02
    pooling: str = "cls"                     # "cls": BERT's pooler; "mean": mean of the real tokens' states
    normalize: bool = False                  # L2-normalise the pooled vector (sentence embeddings)
    num_labels: Optional[int] = None         # a classification head on the pooled vector, if given
    add_pooling_layer: bool = True           # BERT's pooler.dense (needed for pooling="cls")

    def __post_init__(self):
        if self.hidden_act not in HF_ACTIVATIONS:
            raise ValueError(f"EncoderConfig: hidden_act must be one of {sorted(HF_ACTIVATIONS)}, got {self.hidden_act!r}")
        if self.pooling not in ("cls", "mean"):
            raise ValueError(f"EncoderConfig: pooling must be 'cls' or 'mean', got {self.pooling!r}")
        if self.pooling == "cls" and not self.add_pooling_layer:
            raise ValueError("EncoderConfig: pooling='cls' needs add_pooling_layer=True (BERT's pooler)")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"EncoderConfig: hidden_size {self.hidden_size} is not divisible by "
                             f"num_attention_heads {self.num_attention_heads}")
        if self.num_labels is not None and self.num_labels < 1:
            raise ValueError(f"EncoderConfig: num_labels must be positive or None, got {self.num_labels}")


class SelfAttention(nn.Module):
    """BERT's ``attention.self``: ``query``, ``key``, ``value`` projections, attention over unpadded keys."""

    def __init__(self, config):
        super().__init__()
        H = config.hidden_size
        self.num_heads, self.dropout = config.num_attention_heads, config.attention_probs_dropout_prob
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)

    def forward(self, x, key_padding_mask=None):
        q, k, v = (split_heads(proj(x), self.num_heads) for proj in (self.query, self.key, self.value))  # (B, nh, T, hs)
        y = attention(q, k, v, key_padding_mask=key_padding_mask, dropout_p=self.dropout if self.training else 0.0)
        return merge_heads(y)                                                  # (B, nh, T, hs) -> (B, T, H)


class AddNorm(nn.Module):
    """BERT's ``attention.output`` and ``output``: ``LayerNorm(x + dropout(dense(h)))`` (post-LN)."""

    def __init__(self, d_in, config):
        super().__init__()
        self.dense = nn.Linear(d_in, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, h, x):
        return self.LayerNorm(x + self.dropout(self.dense(h)))


class Layer(nn.Module):
    """``encoder.layer.N``: attention (``self`` then ``output``), then ``intermediate`` (dense + GELU) and
    ``output`` (dense, residual, LayerNorm)."""

    def __init__(self, config):
        super().__init__()
        self.attention = nn.ModuleDict({"self": SelfAttention(config), "output": AddNorm(config.hidden_size, config)})
        self.intermediate = nn.ModuleDict({"dense": nn.Linear(config.hidden_size, config.intermediate_size)})
        self.intermediate_act_fn = HF_ACTIVATIONS[config.hidden_act]()
        self.output = AddNorm(config.intermediate_size, config)

    def forward(self, x, key_padding_mask=None):
        x = self.attention.output(self.attention["self"](x, key_padding_mask), x)
        return self.output(self.intermediate_act_fn(self.intermediate.dense(x)), x)


class Embeddings(nn.Module):
    """``embeddings``: word + learned position + token-type embeddings, LayerNorm, dropout."""

    def __init__(self, config):
        super().__init__()
        H = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, H, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, H)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, H)
        self.LayerNorm = nn.LayerNorm(H, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids):
        T = input_ids.shape[1]
        x = (self.word_embeddings(input_ids) + self.position_embeddings(arange(T))
             + self.token_type_embeddings(token_type_ids))                    # (B, T, H)
        return self.dropout(self.LayerNorm(x))


class Encoder(nn.Module):
    """``forward(input_ids, attention_mask=None, token_type_ids=None) -> (hidden_states (B, T, H), pooled (B, H))``;
    ``classify(input_ids, attention_mask=None, token_type_ids=None, labels=None) -> (logits, loss)`` with a
    classification head (``num_labels``): dropout then ``classifier`` on the pooled vector, loss the mean
    cross-entropy against ``labels`` (B,)."""

    def __init__(self, config, verbose=True):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = nn.ModuleDict({"layer": nn.ModuleList([Layer(config) for _ in range(config.num_hidden_layers)])})
        if config.add_pooling_layer:
            self.pooler = nn.ModuleDict({"dense": nn.Linear(config.hidden_size, config.hidden_size)})
        if config.num_labels is not None:
            self.dropout = nn.Dropout(config.hidden_dropout_prob)
            self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.apply(self._init_weights)
        if verbose:
            print(f"number of parameters: {self.num_parameters() / 1e6:.2f}M")

    def _init_weights(self, module):
        """HF's BertPreTrainedModel init: N(0, initializer_range) weights, zero biases, the padding row zero."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                nn.init.zeros_(module.weight[module.padding_idx])

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        cfg = self.config
        if input_ids.ndim != 2 or input_ids.dtype.is_floating_point:
            raise ValueError(f"Encoder: input_ids must be integer token ids of shape (B, T), got {input_ids.dtype} "
                             f"of shape {tuple(input_ids.shape)}")
        B, T = input_ids.shape
        if T > cfg.max_position_embeddings:
            raise ValueError(f"Encoder: {T} tokens is longer than max_position_embeddings ({cfg.max_position_embeddings})")
        for name, t in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
            if t is not None and tuple(t.shape) != (B, T):
                raise ValueError(f"Encoder: {name} of shape {tuple(t.shape)} does not match input_ids ({B}, {T})")
        token_type_ids = zeros(B, T, dtype=input_ids.dtype) if token_type_ids is None else token_type_ids
        padding = None if attention_mask is None else attention_mask == 0        # (B, T), True at padding
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.encoder.layer:
            x = layer(x, padding)
        return x, self.pool(x, attention_mask)

    def pool(self, hidden, attention_mask=None):
        """(B, T, H) hidden states -> (B, H), as ``config.pooling`` and ``config.normalize`` say."""
        if self.config.pooling == "cls":
            pooled = self.pooler.dense(hidden[:, 0]).tanh()                     # BERT's pooler on [CLS]
        elif attention_mask is None:
            pooled = hidden.mean(dim=1)
        else:
            weights = attention_mask.to(hidden.dtype).unsqueeze(-1)             # (B, T, 1): 1 at real tokens
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)  # sentence-transformers'
        if self.config.normalize:
            pooled = pooled / (pooled * pooled).sum(dim=-1, keepdim=True).sqrt().clamp(min=1e-12)  # F.normalize
        return pooled

    def embed(self, tokenizer, sentences, batch_size=32, max_length=None):
        """Sentence embeddings: a float32 NumPy array (N, hidden_size), a row per str of ``sentences``, pooled
        as ``config.pooling`` and ``config.normalize`` say. A sentence-transformers model read by
        ``pyllm.from_pretrained`` (all-MiniLM-L6-v2) has its own pooling there -- the mean of the real tokens'
        states, L2-normalised -- so ``emb @ emb.T`` holds the cosine similarities. ``tokenizer`` (a
        ``WordPieceTokenizer``, e.g. ``pyllm.tokenizers.from_pretrained(path)``) adds [CLS] and [SEP] and cuts
        each sentence to ``max_length`` tokens (default: max_position_embeddings); batches of ``batch_size``
        are padded to their longest sentence, which does not change the embeddings. Runs in eval mode (no
        dropout), without gradients.

        >>> model, tok = pyllm.from_pretrained("all-MiniLM-L6-v2"), pyllm.tokenizers.from_pretrained("all-MiniLM-L6-v2")  # doctest: +SKIP
        >>> emb = model.embed(tok, ["A cat sits on the mat.", "A dog runs in the park."])   # doctest: +SKIP
        >>> emb.shape, round(float(emb[0] @ emb[1]), 2)                                     # doctest: +SKIP
        ((2, 384), 0.09)
        """
        if isinstance(sentences, str) or not all(isinstance(s, str) for s in sentences):
            raise TypeError("Encoder.embed: sentences must be a list of str")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"Encoder.embed: batch_size must be a positive int, got {batch_size!r}")
        if not callable(getattr(tokenizer, "encode_batch", None)):
            raise TypeError(f"Encoder.embed: tokenizer must batch and pad (a WordPieceTokenizer), got "
                            f"{type(tokenizer).__name__}")
        max_length = self.config.max_position_embeddings if max_length is None else max_length
        out = np.zeros((len(sentences), self.config.hidden_size), dtype=np.float32)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for i in range(0, len(sentences), batch_size):
                    batch = tokenizer.encode_batch(list(sentences[i:i + batch_size]), max_length=max_length,
                                                   padding=True)
                    _, pooled = self(tensor(batch["input_ids"]), tensor(batch["attention_mask"]),
                                     tensor(batch["token_type_ids"]))
                    out[i:i + batch_size] = pooled.numpy()
        finally:
            self.train(was_training)
        return out

    def save_pretrained(self, path):
        """Writes a Hugging Face BertModel directory (config.json + model.safetensors) that
        ``transformers.AutoModel.from_pretrained(path)`` and ``pyllm.from_pretrained(path)`` read; with
        ``pooling="mean"`` also sentence-transformers' modules.json and 1_Pooling/config.json. The Encoder needs
        BERT's pooler (``add_pooling_layer``) and no classification head."""
        from ..io.hf import save_pretrained
        save_pretrained(self, path)

    def classify(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        if self.config.num_labels is None:
            raise ValueError("Encoder: classify needs a classification head (EncoderConfig(num_labels=...))")
        _, pooled = self(input_ids, attention_mask, token_type_ids)
        logits = self.classifier(self.dropout(pooled))                         # (B, num_labels)
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return logits, loss
