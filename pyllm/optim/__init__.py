"""Optimizers whose update runs as one fused C++ kernel over all parameters."""
from .adamw import AdamW
from .optimizer import Optimizer

__all__ = ["AdamW", "Optimizer"]
