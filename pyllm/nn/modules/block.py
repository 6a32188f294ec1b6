"""``TransformerBlock``: attention and feed-forward sublayers, each with a residual connection and a norm,
either before the sublayer (pre-LN: GPT-2, Llama, most modern models; trains without warmup tricks) or after
the residual sum (post-LN: the original Transformer, BERT).

    pre-LN:   x = x + drop(attn(ln_1(x)));  [x = x + drop(cross_attn(ln_cross(x), memory))];  x = x + drop(mlp(ln_2(x)))
    post-LN:  x = ln_1(x + drop(attn(x)));  [x = ln_cross(x + drop(cross_attn(x, memory)))];  x = ln_2(x + drop(mlp(x)))

The bracketed cross-attention sublayer is there when ``cross_attention=True`` (the encoder-decoder's decoder).
Parameter names are GPT-2's (``ln_1``, ``attn``, ``ln_2``, ``mlp``); ``attn``, ``mlp`` and ``norm`` can be
swapped for other modules with the same call signature (GPT-2 passes its fused-projection attention).
"""
from .attention import MultiHeadAttention
from .dropout import Dropout
from .feedforward import MLP
from .module import Module
from .normalization import LayerNorm


class TransformerBlock(Module):
    """One layer of a Transformer: ``block(x)`` (encoder-style self-attention), ``block(x, is_causal=True)``
    (decoder-style), ``block(x, memory)`` with ``cross_attention=True`` (decoder of an encoder-decoder).

    d_ff defaults to 4 * d_model; ``activation`` is the MLP's (default GELU); ``norm`` makes a norm layer from
    d_model (default ``LayerNorm(d_model, eps=1e-5, bias=bias)``); ``attn`` and ``mlp`` replace the default
    ``MultiHeadAttention`` and ``MLP``.

    >>> import pyllm
    >>> TransformerBlock(16, 4)(pyllm.randn(2, 5, 16), is_causal=True).shape
    (2, 5, 16)
    """

    def __init__(self, d_model, n_heads, d_ff=None, n_kv_heads=None, dropout=0.0, bias=True, norm_first=True,
                 cross_attention=False, activation=None, norm=None, attn=None, mlp=None):
        super().__init__()
        make_norm = norm if norm is not None else (lambda d: LayerNorm(d, bias=bias))
        self.norm_first = norm_first
        self.ln_1 = make_norm(d_model)
        self.attn = attn if attn is not None else MultiHeadAttention(d_model, n_heads, n_kv_heads, bias=bias,
                                                                     dropout=dropout)
        if cross_attention:
            self.ln_cross = make_norm(d_model)
            self.cross_attn = MultiHeadAttention(d_model, n_heads, bias=bias, dropout=dropout)
        else:
            self.cross_attn = None
        self.ln_2 = make_norm(d_model)
        self.mlp = mlp if mlp is not None else MLP(d_model, 4 * d_model if d_ff is None else d_ff, activation, bias)
        self.dropout = Dropout(dropout)  # on each sublayer's output, before the residual sum

    def forward(self, x, memory=None, attn_mask=None, key_padding_mask=None, is_causal=False,
                memory_key_padding_mask=None, kv_cache=None, cross_kv_cache=None):
        if (memory is not None) != (self.cross_attn is not None):
            raise ValueError("TransformerBlock: memory must be given exactly when the block has cross-attention "
                             f"(cross_attention={self.cross_attn is not None}, memory given: {memory is not None})")

        def self_attn(h):
            return self.attn(h, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                             kv_cache=kv_cache)

        def cross_attn(h):
            return self.cross_attn(h, memory, key_padding_mask=memory_key_padding_mask, kv_cache=cross_kv_cache)

        sublayers = [(self.ln_1, self_attn)]
        if self.cross_attn is not None:
            sublayers.append((self.ln_cross, cross_attn))
        sublayers.append((self.ln_2, self.mlp))
        for norm, sublayer in sublayers:
            if self.norm_first:
                x = x + self.dropout(sublayer(norm(x)))
            else:
                x = norm(x + self.dropout(sublayer(x)))
        return x
