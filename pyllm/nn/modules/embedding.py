"""``Embedding``: a lookup table from token ids to vectors (GPT-2's ``wte`` and ``wpe``)."""
from ... import _creation
from .. import functional as F
from .. import init
from .module import Module, Parameter


class Embedding(Module):
    """``Embedding(num_embeddings, embedding_dim, padding_idx=None)``: weight (num_embeddings, embedding_dim)
    drawn from N(0, 1) as in PyTorch; the ``padding_idx`` row starts at zero and gets no gradient.

    >>> import pyllm
    >>> Embedding(10, 3)(pyllm.tensor([[1, 2], [4, 9]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for {self.num_embeddings} "
                                 f"embeddings")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(_creation.empty(self.num_embeddings, self.embedding_dim, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            init.zeros_(self.weight[self.padding_idx])

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
