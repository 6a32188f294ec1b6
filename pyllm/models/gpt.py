"""GPT: a decoder-only Transformer with GPT-2's layout and parameter names (after nanoGPT).

    idx (B, T) -> wte(idx) + wpe(pos) -> n_layer x [pre-LN block: causal self-attention, GELU MLP] -> ln_f
               -> lm_head (tied to wte) -> logits (B, T, vocab_size)

Parameter names are Hugging Face's GPT2LMHeadModel's (``transformer.wte``, ``transformer.h.0.attn.c_attn``,
``transformer.ln_f``, ``lm_head``), so its weights map by name. One difference: HF stores GPT-2's linear
layers as ``Conv1D`` whose weight is (in, out) — the transpose of our (out, in) ``Linear`` weight — so a loader
transposes ``c_attn``, ``c_proj`` and ``c_fc`` weights.

>>> import pyllm
>>> model = GPT(GPTConfig(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=8), verbose=False)
>>> logits, loss = model(pyllm.tensor([[1, 2, 3]]), targets=pyllm.tensor([[2, 3, 4]]))
>>> logits.shape, loss.shape
((1, 3, 50), ())
"""
import math
from dataclasses import dataclass

from .. import nn
from .._creation import arange
from ..generate import generate, left_padding
from ..nn import functional as F
from ..nn.modules.attention import attention, merge_heads, split_heads


@dataclass
class GPTConfig:
    block_size: int = 1024          # the longest sequence (number of learned positions)
    vocab_size: int = 50257         # GPT-2's BPE vocabulary
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True               # biases in Linear and LayerNorm layers, as GPT-2
    layer_norm_epsilon: float = 1e-5


class CausalSelfAttention(nn.Module):
    """GPT-2's attention: one fused projection ``c_attn`` to q, k, v, causal attention, ``c_proj``."""

    def __init__(self, config):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"GPTConfig: n_embd {config.n_embd} is not divisible by n_head {config.n_head}")
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)

    def forward(self, x, attn_mask=None, key_padding_mask=None, is_causal=True, kv_cache=None):
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)                     # (B, T, 3C) -> 3 x (B, T, C)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))             # (B, T, C) -> (B, nh, T, hs)
        if kv_cache is not None:
            k, v = kv_cache.update(k, v)                                       # (B, nh, past + T, hs)
        y = attention(q, k, v, attn_mask, key_padding_mask, is_causal, self.dropout if self.training else 0.0)
        return self.c_proj(merge_heads(y))                                     # (B, nh, T, hs) -> (B, T, C)


class GPT(nn.Module):
    """GPT-2-style language model; ``forward(idx, targets=None, kv_cache=None, attention_mask=None) ->
    (logits, loss)``.

    ``targets`` (B, T) are the next tokens (``idx`` shifted by one), -100 where no loss is wanted; the loss
    is their mean cross-entropy. ``kv_cache``: a list of n_layer ``KVCache`` (``model.new_kv_cache()``)
    holding the earlier tokens; ``idx`` then holds only the new ones. ``attention_mask`` (B, past + T), ints
    or bools, over the cached and the new tokens: 0 at left padding, 1 at real tokens, as Hugging Face's; the
    padding is masked out of attention and each row's positions (``wpe``) start at its first real token.
    """

    def __init__(self, config, verbose=True):
        super().__init__()
        self.config = config
        C = config.n_embd
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, C),
            wpe=nn.Embedding(config.block_size, C),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([self._block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(C, eps=config.layer_norm_epsilon, bias=config.bias),
        ))
        self.lm_head = nn.Linear(C, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying: one matrix embeds and un-embeds
        self.apply(self._init_weights)
        # GPT-2's scaled init: each residual projection is divided by sqrt(2 * n_layer), since 2 * n_layer of
        # them add up along the residual stream.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))
        if verbose:
            print(f"number of parameters: {self.get_num_params() / 1e6:.2f}M")

    @staticmethod
    def _block(config):
        return nn.TransformerBlock(
            config.n_embd, config.n_head, d_ff=4 * config.n_embd, dropout=config.dropout, bias=config.bias,
            activation=nn.GELU(approximate="tanh"),  # GPT-2's GELU (HF's "gelu_new")
            norm=lambda d: nn.LayerNorm(d, eps=config.layer_norm_epsilon, bias=config.bias),
            attn=CausalSelfAttention(config))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def get_num_params(self, non_embedding=True):
        """Parameters, each tied one once; without the position embeddings by default (as nanoGPT: the token
        embeddings count, since they are also the output layer)."""
        n = self.num_parameters()
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def new_kv_cache(self):
        return [nn.KVCache() for _ in range(self.config.n_layer)]

    @property
    def max_context(self):
        """The longest sequence the model can attend over (its learned positions)."""
        return self.config.block_size

    def forward(self, idx, targets=None, kv_cache=None, attention_mask=None):
        if idx.ndim != 2 or idx.dtype.is_floating_point:
            raise ValueError(f"GPT: idx must be integer token ids of shape (B, T), got {idx.dtype} of shape "
                             f"{tuple(idx.shape)}")
        if kv_cache is not None and len(kv_cache) != self.config.n_layer:
            raise ValueError(f"GPT: kv_cache has {len(kv_cache)} entries for {self.config.n_layer} layers")
        B, T = idx.shape
        start = kv_cache[0].seq_len if kv_cache is not None else 0
        if start + T > self.config.block_size:
            raise ValueError(f"GPT: cannot forward a sequence of length {start + T}, block_size is only "
                             f"{self.config.block_size}")
        attn_mask, pos = (None, None) if attention_mask is None else left_padding(attention_mask, B, start, T, "GPT")
        if pos is None:
            pos = arange(start, start + T)                                     # (T,), the same for every row
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # (B, T, C)
        for i, block in enumerate(self.transformer.h):
            x = block(x, attn_mask=attn_mask, is_causal=True, kv_cache=kv_cache[i] if kv_cache is not None else None)
        logits = self.lm_head(self.transformer.ln_f(x))                        # (B, T, vocab_size)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))
        return logits, loss

    generate = generate

    def save_pretrained(self, path):
        """Writes a Hugging Face model directory (config.json + model.safetensors) that
        ``transformers.AutoModelForCausalLM.from_pretrained(path)`` and ``pyllm.from_pretrained(path)`` read."""
        from ..io.hf import save_pretrained
        save_pretrained(self, path)
