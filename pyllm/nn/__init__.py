"""Neural-network building blocks. ``pyllm.nn.functional`` holds the ops (PyTorch names);
``pyllm.nn.utils`` the gradient utilities (``clip_grad_norm_``)."""
from . import functional, utils
