"""``LayerNorm`` (GPT-2, BERT, the original Transformer) and ``RMSNorm`` (Llama): normalise each vector over
its last dims, then scale (and for LayerNorm shift) by learned per-feature weights."""
from ... import _creation
from .. import functional as F
from .module import Module, Parameter


def _as_shape(normalized_shape):
    return (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)


class _Norm(Module):
    """Shared bookkeeping: the normalised shape, eps, and the shape check that names both shapes."""

    def __init__(self, normalized_shape, eps):
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps

    def _check(self, input):
        n = len(self.normalized_shape)
        if input.ndim < n or tuple(input.shape[input.ndim - n:]) != self.normalized_shape:
            raise ValueError(f"{type(self).__name__}: expected input whose last dims are {self.normalized_shape}, "
                             f"got shape {tuple(input.shape)}")

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"


class LayerNorm(_Norm):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last ``len(normalized_shape)`` dims.

    >>> import pyllm
    >>> y = LayerNorm(4)(pyllm.tensor([[1.0, 2.0, 3.0, 4.0]]))
    >>> [round(v, 3) for v in y[0].tolist()]
    [-1.342, -0.447, 0.447, 1.342]
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        super().__init__(normalized_shape, eps)
        if elementwise_affine:
            self.weight = Parameter(_creation.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(_creation.zeros(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        self._check(input)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)


class RMSNorm(_Norm):
    """x / sqrt(mean(x²) + eps) * weight (Zhang & Sennrich); ``eps=None`` uses the dtype's machine epsilon, as
    torch.nn.RMSNorm (Llama configs pass 1e-5 or 1e-6).

    >>> import pyllm
    >>> [round(v, 3) for v in RMSNorm(2)(pyllm.tensor([3.0, 4.0])).tolist()]
    [0.849, 1.131]
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, dtype=None):
        super().__init__(normalized_shape, eps)
        if elementwise_affine:
            self.weight = Parameter(_creation.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def forward(self, input):
        self._check(input)
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)
