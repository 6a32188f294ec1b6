"""Neural-network building blocks, as ``torch.nn``: ``Module``, ``Parameter`` and the layers
(``pyllm.nn.modules``); ``pyllm.nn.functional`` holds the ops (PyTorch names); ``pyllm.nn.utils`` the
gradient utilities (``clip_grad_norm_``)."""
from . import functional, init, utils
from .modules import *  # noqa: F401,F403
from .modules import __all__
