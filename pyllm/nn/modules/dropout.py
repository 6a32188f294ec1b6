"""``Dropout``: zeroes each element with probability p while training and scales the rest by 1/(1-p)."""
from .. import functional as F
from .module import Module


class Dropout(Module):
    """Active in ``train()`` mode only; draws from pyllm's generator (``pyllm.manual_seed``).

    >>> import pyllm
    >>> Dropout(0.5).eval()(pyllm.ones(3)).tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
