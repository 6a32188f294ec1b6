"""Layers as modules (``pyllm.nn.Linear``, ...), each holding its parameters and calling functional ops."""
from .container import ModuleDict, ModuleList, Sequential
from .module import Module, Parameter

__all__ = ["Module", "ModuleDict", "ModuleList", "Parameter", "Sequential"]
