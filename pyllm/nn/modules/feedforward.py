"""Position-wise feed-forward layers, applied to each token's vector independently after attention.

- ``MLP``: Linear -> activation -> Linear, GPT-2's names ``c_fc`` and ``c_proj`` (GELU, hidden 4 * d).
- ``SwiGLU``: Llama's gated variant (Shazeer, "GLU Variants Improve Transformer"):
  ``down_proj(silu(gate_proj(x)) * up_proj(x))``.
"""
from .. import functional as F
from .activation import GELU
from .linear import Linear
from .module import Module


class MLP(Module):
    """``c_proj(activation(c_fc(x)))``; ``activation`` is a module (default ``GELU()``; GPT-2 uses
    ``GELU("tanh")``, the original Transformer ``ReLU()``).

    >>> import pyllm
    >>> MLP(8, 32)(pyllm.randn(2, 3, 8)).shape
    (2, 3, 8)
    """

    def __init__(self, d_model, d_hidden, activation=None, bias=True):
        super().__init__()
        self.c_fc = Linear(d_model, d_hidden, bias)
        self.act = GELU() if activation is None else activation
        self.c_proj = Linear(d_hidden, d_model, bias)

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class SwiGLU(Module):
    """``down_proj(silu(gate_proj(x)) * up_proj(x))``, no biases by default (as Llama).

    >>> import pyllm
    >>> SwiGLU(8, 24)(pyllm.randn(2, 3, 8)).shape
    (2, 3, 8)
    """

    def __init__(self, d_model, d_hidden, bias=False):
        super().__init__()
        self.gate_proj = Linear(d_model, d_hidden, bias)
        self.up_proj = Linear(d_model, d_hidden, bias)
        self.down_proj = Linear(d_hidden, d_model, bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
