"""``Linear``: y = x Wᵀ + b, the projection inside every attention and feed-forward layer."""
import math

from ... import _creation
from .. import functional as F
from .. import init
from .module import Module, Parameter


class Linear(Module):
    """``Linear(in_features, out_features, bias=True)``: weight (out_features, in_features) as in PyTorch,
    initialised as torch does (Kaiming-uniform with a=sqrt(5), i.e. U(±1/sqrt(in_features)); the bias too).

    >>> import pyllm
    >>> Linear(4, 2)(pyllm.randn(3, 4)).shape
    (3, 2)
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(_creation.empty(self.out_features, self.in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(_creation.empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if input.shape[-1:] != (self.in_features,):
            raise ValueError(f"Linear: expected input with last dim {self.in_features}, got shape "
                             f"{tuple(input.shape)}")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
