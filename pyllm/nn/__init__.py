"""Neural-network building blocks. ``pyllm.nn.functional`` holds the ops (PyTorch names)."""
from . import functional
