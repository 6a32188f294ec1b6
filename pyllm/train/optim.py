"""The learning-rate schedule and AdamW's parameter groups, as nanoGPT (train.py's get_lr, model.py's
configure_optimizers).

>>> [round(get_lr(it, 1e-3, 1e-4, warmup_iters=2, lr_decay_iters=6), 6) for it in range(8)]
[0.000333, 0.000667, 0.001, 0.000868, 0.00055, 0.000232, 0.0001, 0.0001]
"""
import math

from ..optim import AdamW


def get_lr(it, learning_rate, min_lr, warmup_iters, lr_decay_iters):
    """The learning rate at iteration ``it``: linear warmup over ``warmup_iters`` steps (it + 1 of
    warmup_iters + 1, so it is never 0), then cosine decay from ``learning_rate`` to ``min_lr`` at
    ``lr_decay_iters``, and ``min_lr`` after that."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / max(1, lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # from 1 down to 0
    return min_lr + coeff * (learning_rate - min_lr)


def decay_groups(model, weight_decay):
    """AdamW's two parameter groups, by nanoGPT's rule: every parameter with 2 or more dims (the weights of
    linear layers and embeddings, tied heads included once) is decayed; 1-D (and 0-D) parameters — biases,
    LayerNorm/RMSNorm gains — are not, as shrinking them towards 0 does not regularize anything useful."""
    params = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def configure_optimizer(model, weight_decay, learning_rate, betas, eps=1e-8):
    """AdamW over ``decay_groups(model, weight_decay)``."""
    return AdamW(decay_groups(model, weight_decay), lr=learning_rate, betas=betas, eps=eps)
