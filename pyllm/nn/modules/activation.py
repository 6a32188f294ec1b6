"""Activation functions as modules, for ``Sequential`` and for feed-forward layers that take one as an
argument: ``GELU`` (GPT-2 uses ``approximate="tanh"``), ``SiLU`` (Llama's SwiGLU gate), ``ReLU`` (the original
Transformer)."""
from .. import functional as F
from .module import Module


class GELU(Module):
    """x * Phi(x); ``approximate="tanh"`` is the tanh formula GPT-2 was trained with (HF's ``gelu_new``).

    >>> import pyllm
    >>> round(GELU()(pyllm.tensor([1.0])).item(), 4)
    0.8413
    """

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x * sigmoid(x) (a.k.a. swish)."""

    def forward(self, input):
        return F.silu(input)


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, input):
        return F.relu(input)


# Hugging Face's names (config.json's ``hidden_act`` / ``activation_function``) -> a function making the module.
HF_ACTIVATIONS = {"gelu": GELU, "gelu_new": lambda: GELU("tanh"), "gelu_pytorch_tanh": lambda: GELU("tanh"),
                  "relu": ReLU, "silu": SiLU, "swish": SiLU}
