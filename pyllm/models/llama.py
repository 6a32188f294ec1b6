"""Llama: a decoder-only Transformer with RMSNorm, rotary position embeddings (RoPE), SwiGLU feed-forward
layers and grouped-query attention (Touvron et al. 2023; Llama 2 and 3).

    idx (B, T) -> embed_tokens -> num_hidden_layers x [x + self_attn(input_layernorm(x)) with RoPE on q, k;
               x + mlp(post_attention_layernorm(x)) with SwiGLU] -> norm -> lm_head -> logits (B, T, vocab)

There are no position embeddings and no biases; positions enter only through the rotation of q and k.
Parameter and config names are Hugging Face's LlamaForCausalLM/LlamaConfig ones (``model.embed_tokens``,
``model.layers.0.self_attn.q_proj``, ``model.layers.0.mlp.gate_proj``, ``model.norm``, ``lm_head``), so HF
checkpoints load by name, with no transposes.

>>> import pyllm
>>> cfg = LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
...                   num_attention_heads=4, num_key_value_heads=2)
>>> Llama(cfg, verbose=False)(pyllm.tensor([[1, 2, 3]]))[0].shape
(1, 3, 50)
"""
from dataclasses import dataclass

from .. import nn
from ..generate import generate, left_padding
from ..nn import functional as F


@dataclass
class LlamaConfig:
    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int = None      # None: as many as attention heads (no grouping)
    max_position_embeddings: int = 2048  # the context it was trained for (RoPE itself has no limit)
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = False
    attention_bias: bool = False
    initializer_range: float = 0.02
    head_dim: int = None                 # None: hidden_size // num_attention_heads
    rope_scaling: dict = None            # HF's dict, e.g. {"rope_type": "llama3", "factor": 8.0, ...}; None: none
    mlp_bias: bool = False

    def __post_init__(self):
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            if self.hidden_size % self.num_attention_heads:
                raise ValueError(f"LlamaConfig: hidden_size {self.hidden_size} is not divisible by "
                                 f"num_attention_heads {self.num_attention_heads} (give head_dim)")
            self.head_dim = self.hidden_size // self.num_attention_heads


class LlamaDecoderLayer(nn.Module):
    """Pre-norm block: ``x + self_attn(input_layernorm(x))``, then ``x + mlp(post_attention_layernorm(x))``."""

    def __init__(self, config, rotary):
        super().__init__()
        self.self_attn = nn.MultiHeadAttention(config.hidden_size, config.num_attention_heads,
                                               config.num_key_value_heads, bias=config.attention_bias,
                                               rotary=rotary, head_dim=config.head_dim)
        self.mlp = nn.SwiGLU(config.hidden_size, config.intermediate_size, bias=config.mlp_bias)
        self.input_layernorm = nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, x, kv_cache=None, attn_mask=None, position_ids=None):
        x = x + self.self_attn(self.input_layernorm(x), attn_mask=attn_mask, is_causal=True, kv_cache=kv_cache,
                               position_ids=position_ids)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    """Llama language model; ``forward(idx, targets=None, kv_cache=None, attention_mask=None) -> (logits,
    loss)`` as ``GPT``; with left padding, each row's RoPE positions start at its first real token."""

    def __init__(self, config, verbose=True):
        super().__init__()
        self.config = config
        rotary = nn.RotaryEmbedding(config.head_dim, config.rope_theta, config.rope_scaling)
        self.model = nn.ModuleDict(dict(
            embed_tokens=nn.Embedding(config.vocab_size, config.hidden_size),
            layers=nn.ModuleList([LlamaDecoderLayer(config, rotary) for _ in range(config.num_hidden_layers)]),
            norm=nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps),
        ))
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        if verbose:
            print(f"number of parameters: {self.num_parameters() / 1e6:.2f}M")

    def _init_weights(self, module):
        """HF's LlamaPreTrainedModel init: N(0, initializer_range) for every Linear and Embedding weight."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def new_kv_cache(self):
        return [nn.KVCache() for _ in range(self.config.num_hidden_layers)]

    @property
    def max_context(self):
        """None: RoPE puts no hard limit on the sequence length."""
        return None

    def forward(self, idx, targets=None, kv_cache=None, attention_mask=None):
        if idx.ndim != 2 or idx.dtype.is_floating_point:
            raise ValueError(f"Llama: idx must be integer token ids of shape (B, T), got {idx.dtype} of shape "
                             f"{tuple(idx.shape)}")
        if kv_cache is not None and len(kv_cache) != self.config.num_hidden_layers:
            raise ValueError(f"Llama: kv_cache has {len(kv_cache)} entries for {self.config.num_hidden_layers} "
                             f"layers")
        B, T = idx.shape
        start = kv_cache[0].seq_len if kv_cache is not None else 0
        attn_mask, pos = (None, None) if attention_mask is None else left_padding(attention_mask, B, start, T,
                                                                                  "Llama")
        x = self.model.embed_tokens(idx)                                       # (B, T, C)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, kv_cache=kv_cache[i] if kv_cache is not None else None, attn_mask=attn_mask,
                      position_ids=pos)
        logits = self.lm_head(self.model.norm(x))                              # (B, T, vocab_size)
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
