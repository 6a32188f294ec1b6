"""Transformer: the encoder-decoder of "Attention Is All You Need" (Vaswani et al. 2017), for translation.

    src (B, S) -> embed_tokens * sqrt(d_model) + sinusoidal positions -> encoder_layers x [self-attention
               (padding mask), feed-forward] -> memory (B, S, d_model)
    tgt_in (B, T) -> embed_tokens * sqrt(d_model) + positions -> decoder_layers x [causal self-attention,
               cross-attention over memory, feed-forward] -> lm_head -> logits (B, T, decoder vocab)

Each sublayer has a residual connection and a LayerNorm after the sum (post-LN, as the paper; Marian and
BART too); ``normalize_before=True`` moves the norm before the sublayer (pre-LN) and adds a final norm at the
end of the encoder and of the decoder (mBART's ``layer_norm``). With a shared vocabulary (``decoder_vocab_size``
None) one matrix embeds source and target tokens and, transposed, produces the logits (the paper's section 3.4).

Parameter names are Hugging Face's MarianMTModel ones (``model.shared``, ``model.encoder.layers.0.self_attn.q_proj``,
``...self_attn.out_proj``, ``self_attn_layer_norm``, ``model.decoder.layers.0.encoder_attn``,
``encoder_attn_layer_norm``, ``fc1``, ``fc2``, ``final_layer_norm``, ``lm_head``, the ``final_logits_bias``
buffer), so Marian weights map by name: ``load_state_dict(hf_state, strict=False)`` leaves nothing missing,
and the only unexpected keys are ``model.{encoder,decoder}.embed_tokens.weight`` (aliases of
``model.shared.weight``, which one module here holds) and ``model.{encoder,decoder}.embed_positions.weight``
(the sinusoids, computed here; ``positions="split"`` is Marian's layout of them, sines then cosines). A Marian
config maps as ``activation_function="swish"``, ``positions="split"``, ``scale_embedding`` and
``normalize_before=False``, with ``bos_token_id`` = its ``decoder_start_token_id`` (the pad id); the tests
check logits and ``generate`` tokens against ``MarianMTModel`` on copied weights.

>>> import pyllm
>>> cfg = TransformerConfig(vocab_size=50, d_model=16, encoder_layers=1, decoder_layers=1,
...                         encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
...                         decoder_ffn_dim=32, max_position_embeddings=32)
>>> model = Transformer(cfg, verbose=False)
>>> src, tgt_in = pyllm.tensor([[5, 6, 7, 0]]), pyllm.tensor([[1, 9]])
>>> logits, loss = model(src, tgt_in, src_padding_mask=src == 0, labels=pyllm.tensor([[9, 2]]))
>>> logits.shape, loss.shape
((1, 2, 50), ())
"""
import math
from dataclasses import dataclass
from typing import Optional

from .. import nn
from .._creation import arange, zeros
from ..beam_search import generate_seq2seq
from ..nn import functional as F
from ..nn.modules.activation import HF_ACTIVATIONS



@dataclass
class TransformerConfig:
    """The paper's base model by default (d_model 512, 6 + 6 layers, 8 heads, d_ff 2048, dropout 0.1, ReLU);
    names as Hugging Face's MarianConfig."""

    vocab_size: int = 8000                  # source vocabulary (and target too, when shared)
    decoder_vocab_size: Optional[int] = None  # None: one vocabulary shared by source and target
    d_model: int = 512
    encoder_layers: int = 6
    decoder_layers: int = 6
    encoder_attention_heads: int = 8
    decoder_attention_heads: int = 8
    encoder_ffn_dim: int = 2048
    decoder_ffn_dim: int = 2048
    max_position_embeddings: int = 512      # the longest source or target sequence
    dropout: float = 0.1                    # on embeddings and on every sublayer's output (the paper's P_drop)
    attention_dropout: float = 0.0          # on attention weights
    activation_dropout: float = 0.0         # inside the feed-forward layers, after the activation
    activation_function: str = "relu"       # relu (the paper), gelu, or swish (Marian's opus-mt models)
    normalize_before: bool = False          # False: post-LN (the paper); True: pre-LN
    scale_embedding: bool = True            # token embeddings times sqrt(d_model), as the paper
    positions: str = "interleaved"          # sinusoid layout: "interleaved" (the paper) or "split" (Marian)
    tie_word_embeddings: bool = True        # lm_head shares the (target) token embedding matrix
    layer_norm_eps: float = 1e-5
    label_smoothing: float = 0.0            # the paper trains with 0.1
    pad_token_id: int = 0
    bos_token_id: int = 1                   # the decoder's first input (HF's decoder_start_token_id)
    eos_token_id: int = 2
    forced_eos_token_id: Optional[int] = None  # generation ends with this token at the length limit (Marian's)
    suppress_token_ids: tuple = ()          # tokens generation never picks (opus-mt's pad)
    renormalize_logits: bool = False        # beam search re-normalises scores after suppressing (opus-mt's)

    def __post_init__(self):
        if self.activation_function not in HF_ACTIVATIONS:
            raise ValueError(f"TransformerConfig: activation_function must be one of {sorted(HF_ACTIVATIONS)}, got "
                             f"{self.activation_function!r}")
        if self.positions not in ("interleaved", "split"):
            raise ValueError(f"TransformerConfig: positions must be 'interleaved' or 'split', got {self.positions!r}")
        for heads, name in ((self.encoder_attention_heads, "encoder"), (self.decoder_attention_heads, "decoder")):
            if self.d_model % heads:
                raise ValueError(f"TransformerConfig: d_model {self.d_model} is not divisible by {heads} "
                                 f"{name}_attention_heads")
        vocab = max(self.vocab_size, self.target_vocab_size)
        self.suppress_token_ids = tuple(self.suppress_token_ids)
        if not all(isinstance(t, int) and 0 <= t < vocab for t in self.suppress_token_ids):
            raise ValueError(f"TransformerConfig: suppress_token_ids must be token ids below {vocab}, got "
                             f"{self.suppress_token_ids}")
        for name in ("pad_token_id", "bos_token_id", "eos_token_id", "forced_eos_token_id"):
            if name == "forced_eos_token_id" and self.forced_eos_token_id is None:
                continue
            if not 0 <= getattr(self, name) < vocab:
                raise ValueError(f"TransformerConfig: {name} {getattr(self, name)} is outside the vocabulary of "
                                 f"{vocab}")

    @property
    def shared_vocab(self):
        return self.decoder_vocab_size is None

    @property
    def target_vocab_size(self):
        return self.vocab_size if self.decoder_vocab_size is None else self.decoder_vocab_size


class Attention(nn.MultiHeadAttention):
    """``nn.MultiHeadAttention`` with BART/Marian's name for the output projection, ``out_proj`` (Llama's
    ``o_proj``); everything else -- masks, the KV cache that grows for self-attention and is filled once for
    cross-attention -- is the shared module's."""

    def __init__(self, embed_dim, num_heads, dropout=0.0):
        super().__init__(embed_dim, num_heads, dropout=dropout)
        self.out_proj = self._modules.pop("o_proj")

    @property
    def o_proj(self):  # what MultiHeadAttention.forward calls
        return self.out_proj


def sublayer(x, norm, fn, dropout, normalize_before):
    """One residual sublayer: ``norm(x + drop(fn(x)))`` (post-LN) or ``x + drop(fn(norm(x)))`` (pre-LN)."""
    if normalize_before:
        return x + dropout(fn(norm(x)))
    return norm(x + dropout(fn(x)))


class Layer(nn.Module):
    """An encoder layer: self-attention (padding keys masked), then the feed-forward network
    ``fc2(drop(act(fc1(x))))``. A decoder layer (``decoder=True``): causal self-attention over the target so
    far, cross-attention ``encoder_attn`` over the encoder's output (``memory``), then the feed-forward
    network; ``kv_cache`` is its (self, cross) pair of ``KVCache``. (Not ``nn.TransformerBlock``, whose names
    are GPT-2's: ``ln_1``, ``attn``, ``mlp.c_fc``.)"""

    def __init__(self, config, decoder):
        super().__init__()
        d = config.d_model
        heads = config.decoder_attention_heads if decoder else config.encoder_attention_heads
        ffn_dim = config.decoder_ffn_dim if decoder else config.encoder_ffn_dim
        self.normalize_before = config.normalize_before
        self.self_attn = Attention(d, heads, config.attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        if decoder:
            self.encoder_attn = Attention(d, heads, config.attention_dropout)
            self.encoder_attn_layer_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.is_decoder = decoder
        self.fc1 = nn.Linear(d, ffn_dim)
        self.activation_fn = HF_ACTIVATIONS[config.activation_function]()
        self.activation_dropout = nn.Dropout(config.activation_dropout)
        self.fc2 = nn.Linear(ffn_dim, d)
        self.final_layer_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def feed_forward(self, x):
        return self.fc2(self.activation_dropout(self.activation_fn(self.fc1(x))))

    def forward(self, x, padding_mask=None, memory=None, memory_padding_mask=None, kv_cache=None):
        self_cache, cross_cache = kv_cache if kv_cache is not None else (None, None)
        x = sublayer(x, self.self_attn_layer_norm,
                     lambda h: self.self_attn(h, key_padding_mask=padding_mask, is_causal=self.is_decoder,
                                              kv_cache=self_cache),
                     self.dropout, self.normalize_before)
        if self.is_decoder:
            x = sublayer(x, self.encoder_attn_layer_norm,
                         lambda h: self.encoder_attn(h, memory, key_padding_mask=memory_padding_mask,
                                                     kv_cache=cross_cache),
                         self.dropout, self.normalize_before)
        return sublayer(x, self.final_layer_norm, self.feed_forward, self.dropout, self.normalize_before)


class Stack(nn.Module):
    """The encoder or the decoder: scaled token embeddings + sinusoidal positions, dropout, the layers, and
    (pre-LN only) a final ``layer_norm``."""

    def __init__(self, config, embed_tokens, decoder):
        super().__init__()
        self.embed_scale = math.sqrt(config.d_model) if config.scale_embedding else 1.0
        self.max_positions = config.max_position_embeddings
        self.embed_tokens = embed_tokens
        self.embed_positions = nn.SinusoidalPositionalEncoding(config.d_model, config.max_position_embeddings,
                                                               interleaved=config.positions == "interleaved")
        self.dropout = nn.Dropout(config.dropout)
        n_layers = config.decoder_layers if decoder else config.encoder_layers
        self.layers = nn.ModuleList([Layer(config, decoder) for _ in range(n_layers)])
        self.layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.normalize_before else None

    def embed(self, ids, start=0):
        """(B, T) ids at positions start .. start + T - 1 -> (B, T, d_model)."""
        if ids.ndim != 2 or ids.dtype.is_floating_point:
            raise ValueError(f"Transformer: token ids must be integers of shape (B, T), got {ids.dtype} of shape "
                             f"{tuple(ids.shape)}")
        T = ids.shape[1]
        if start + T > self.max_positions:
            raise ValueError(f"Transformer: a sequence of {start + T} tokens is longer than max_position_embeddings "
                             f"({self.max_positions})")
        x = self.embed_tokens(ids) * self.embed_scale + self.embed_positions(arange(start, start + T))  # (B, T, C)
        return self.dropout(x)

    def finish(self, x):
        return x if self.layer_norm is None else self.layer_norm(x)


class Transformer(nn.Module):
    """The encoder-decoder. ``forward(src, tgt_in, src_padding_mask=None, tgt_padding_mask=None, labels=None)
    -> (logits, loss)``; ``encode`` and ``decode`` split it for generation (``generate``: greedy or beam search).

    Masks are bool, True at padding (torch's ``key_padding_mask``): ``src_padding_mask`` (B, S),
    ``tgt_padding_mask`` (B, T). ``labels`` (B, T): the next target token at each position, -100 where no
    loss is wanted; the loss is their mean cross-entropy, with ``config.label_smoothing``.
    """

    def __init__(self, config, verbose=True):
        super().__init__()
        self.config = config
        d = config.d_model
        pad = config.pad_token_id
        if config.shared_vocab:
            shared = nn.Embedding(config.vocab_size, d, padding_idx=pad)
            src_embed = tgt_embed = shared
            parts = dict(shared=shared)
        else:
            src_embed = nn.Embedding(config.vocab_size, d, padding_idx=pad)
            tgt_embed = nn.Embedding(config.decoder_vocab_size, d, padding_idx=pad)
            parts = {}
        parts["encoder"] = Stack(config, src_embed, decoder=False)
        parts["decoder"] = Stack(config, tgt_embed, decoder=True)
        self.model = nn.ModuleDict(parts)
        self.lm_head = nn.Linear(d, config.target_vocab_size, bias=False)
        # Marian's output bias (zero unless loaded): kept as a buffer so Marian checkpoints load by name
        self.register_buffer("final_logits_bias", zeros(1, config.target_vocab_size))
        self.apply(self._init_weights)
        if config.tie_word_embeddings:
            self.lm_head.weight = tgt_embed.weight
        if verbose:
            print(f"number of parameters: {self.num_parameters() / 1e6:.2f}M")

    def _init_weights(self, module):
        """Xavier-uniform linear weights and zero biases (as torch.nn.Transformer); embeddings N(0, d^-1/2)
        (as fairseq: times sqrt(d) they start at unit scale, and as the output layer at small logits), the
        padding row zero."""
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.d_model ** -0.5)
            nn.init.zeros_(module.weight[module.padding_idx])

    def new_kv_cache(self):
        """One (self-attention, cross-attention) pair of ``KVCache`` per decoder layer."""
        return [(nn.KVCache(), nn.KVCache()) for _ in range(self.config.decoder_layers)]

    def encode(self, src, src_padding_mask=None):
        """(B, S) source ids -> memory (B, S, d_model)."""
        _check_mask(src_padding_mask, src, "src_padding_mask")
        encoder = self.model.encoder
        x = encoder.embed(src)
        for layer in encoder.layers:
            x = layer(x, src_padding_mask)
        return encoder.finish(x)

    def decode(self, tgt_in, memory, src_padding_mask=None, tgt_padding_mask=None, kv_cache=None):
        """(B, T) target ids -> logits (B, T, vocab). With ``kv_cache`` (``new_kv_cache()``), ``tgt_in`` holds
        only the new tokens, which take the positions after the cached ones; ``tgt_padding_mask`` then covers
        the cached and the new tokens (B, past + T)."""
        decoder = self.model.decoder
        if kv_cache is not None and len(kv_cache) != len(decoder.layers):
            raise ValueError(f"Transformer: kv_cache has {len(kv_cache)} entries for {len(decoder.layers)} "
                             f"decoder layers")
        start = kv_cache[0][0].seq_len if kv_cache is not None else 0
        if tgt_padding_mask is not None and (tgt_padding_mask.ndim != 2 or
                                             tuple(tgt_padding_mask.shape) != (tgt_in.shape[0], start + tgt_in.shape[1])):
            raise ValueError(f"Transformer: tgt_padding_mask must be (B, past + T) = ({tgt_in.shape[0]}, "
                             f"{start + tgt_in.shape[1]}), got {tuple(tgt_padding_mask.shape)}")
        x = decoder.embed(tgt_in, start)
        for i, layer in enumerate(decoder.layers):
            x = layer(x, tgt_padding_mask, memory, src_padding_mask, kv_cache[i] if kv_cache is not None else None)
        return self.lm_head(decoder.finish(x)) + self.final_logits_bias        # (B, T, vocab)

    def forward(self, src, tgt_in, src_padding_mask=None, tgt_padding_mask=None, labels=None):
        logits = self.decode(tgt_in, self.encode(src, src_padding_mask), src_padding_mask, tgt_padding_mask)
        loss = None
        if labels is not None:
            if tuple(labels.shape) != tuple(tgt_in.shape):
                raise ValueError(f"Transformer: labels of shape {tuple(labels.shape)} do not match tgt_in "
                                 f"{tuple(tgt_in.shape)}")
            B, T, V = logits.shape
            loss = F.cross_entropy(logits.reshape(B * T, V), labels.reshape(B * T),
                                   label_smoothing=self.config.label_smoothing)
        return logits, loss

    generate = generate_seq2seq

    def save_pretrained(self, path):
        """Writes a Hugging Face MarianMTModel directory (config.json + model.safetensors) that
        ``transformers.MarianMTModel.from_pretrained(path)`` and ``pyllm.from_pretrained(path)`` read; the model
        must be Marian's kind (one shared vocabulary, post-LN, ``positions="split"``)."""
        from ..io.hf import save_pretrained
        save_pretrained(self, path)


def _check_mask(mask, ids, name):
    if mask is not None and (tuple(mask.shape) != tuple(ids.shape) or mask.dtype.is_floating_point):
        raise ValueError(f"Transformer: {name} must be a bool tensor of the ids' shape {tuple(ids.shape)}, got "
                         f"{mask.dtype} of shape {tuple(mask.shape)}")
