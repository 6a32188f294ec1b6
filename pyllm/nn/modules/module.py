"""``Module`` and ``Parameter``: the bookkeeping behind every layer and model, as in ``torch.nn``.

A module's attributes are sorted as they are assigned: a ``Parameter`` goes to ``_parameters``, a ``Module``
to ``_modules``, a tensor given to ``register_buffer`` to ``_buffers``. Everything else (the walk over the
tree, state dicts, train/eval, dtype changes) follows from those three dictionaries. Names are dotted paths
through the tree, so a model whose attributes follow Hugging Face's names has Hugging Face's weight names:

>>> class Block(Module):
...     def __init__(self):
...         super().__init__()
...         self.w = Parameter(pyllm.ones(2, 3))
>>> class Net(Module):
...     def __init__(self):
...         super().__init__()
...         self.h = ModuleList([Block(), Block()])
>>> [name for name, _ in Net().named_parameters()]
['h.0.w', 'h.1.w']
"""
from collections import OrderedDict, namedtuple

import numpy as np

from ... import _core
from ...autograd import no_grad
from ..utils import zero_grad_

Tensor = _core.Tensor


class Parameter(Tensor):
    """A tensor that is a module's learnable weight: assigning one to a module attribute registers it.
    It shares ``data``'s storage (no copy) and, unlike other tensors, requires grad by default."""

    def __init__(self, data, requires_grad=True):
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter: data must be a pyllm.Tensor, got {type(data).__name__}")
        super().__init__(data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)


class _HookHandle:
    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def mismatch_message(title, missing, unexpected, noun="keys"):
    """``title`` then a line listing the missing names and one listing the unexpected ones (those present)."""
    lines = [title]
    for kind, names in (("missing", missing), ("unexpected", unexpected)):
        if names:
            lines.append(f"  {kind} {noun} ({len(names)}): {', '.join(names)}")
    return "\n".join(lines)


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model: subclasses set attributes in ``__init__`` (after calling
    ``super().__init__()``) and compute in ``forward``; call the module, not ``forward``."""

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(self, hook):
        """Calls ``hook(module, args, output)`` after every forward; a non-None return replaces the output.
        Returns a handle whose ``remove()`` unregisters it. Used to look inside a model, e.g. to record the
        q, k, v an attention layer computes (pyllm.explain)."""
        key = object()
        self._forward_hooks[key] = hook
        return _HookHandle(self._forward_hooks, key)

    # ---- registration ----
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        if isinstance(value, (Parameter, Module)):
            for table in (self._parameters, self._buffers, self._modules):
                table.pop(name, None)
            self.__dict__.pop(name, None)
            (self._parameters if isinstance(value, Parameter) else self._modules)[name] = value
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} (a tensor or None)")
            self._buffers[name] = value
        elif name in self._parameters or name in self._modules:
            if value is not None:
                kind = "parameter" if name in self._parameters else "submodule"
                raise TypeError(f"cannot assign a {type(value).__name__} to {kind} {name!r} "
                                f"(a {'Parameter' if kind == 'parameter' else 'Module'} or None)")
            (self._parameters if name in self._parameters else self._modules)[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # only called when normal lookup fails
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Adds ``param`` (a Parameter, or None for an absent optional weight such as a bias) as ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        if param is None:
            self.__dict__.pop(name, None)
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Adds ``tensor`` as state that is not learned (e.g. a causal mask, RoPE's frequencies); it moves
        with ``to()`` and, if ``persistent``, is part of the state dict."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a pyllm.Tensor or None, got {type(tensor).__name__}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: {name!r} is already a parameter or submodule")
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        (self._non_persistent.add if not persistent else self._non_persistent.discard)(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self.__dict__.pop(name, None)
        self._modules[name] = module

    # ---- walking the tree ----
    def named_modules(self, prefix="", memo=None):
        """(dotted name, module) for this module and every descendant, each module once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, table, prefix, recurse, remove_duplicate):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs; a parameter shared by two modules (a tied embedding) comes once,
        under its first name."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self):
        """The number of learnable scalars, a shared (tied) parameter counted once."""
        return sum(p.numel() for p in self.parameters())

    def apply(self, fn):
        """Calls ``fn(module)`` on every descendant, then on this module (as PyTorch; used for init)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- state ----
    def state_dict(self, prefix=""):
        """{dotted name: tensor} of every parameter and persistent buffer, detached (sharing storage). Tied
        parameters appear under each of their names, as in PyTorch and Hugging Face checkpoints."""
        out = OrderedDict()
        for module_prefix, module in self.named_modules(prefix.rstrip(".")):
            dot = module_prefix + "." if module_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[dot + name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copies ``state_dict``'s tensors (pyllm tensors or NumPy arrays) into this module's parameters and
        persistent buffers, in place. Raises KeyError listing missing and unexpected names when ``strict``,
        ValueError naming the tensor and both shapes on a shape mismatch (always: a wrong shape is never
        loaded). Returns (missing_keys, unexpected_keys).

        ``assign=True`` (as torch's): the state dict's tensors *become* the parameters (new Parameter objects
        sharing their memory and keeping their dtype, tied ones staying tied) and buffers, without a copy --
        how a checkpoint's memory-mapped weights are adopted. Build the optimizer after loading."""
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(mismatch_message(f"load_state_dict for {type(self).__name__}:", missing, unexpected))
        sources = {}
        for name, target in own.items():
            if name not in state_dict:
                continue
            src = state_dict[name]
            if isinstance(src, np.ndarray):
                src = _core.from_numpy(np.ascontiguousarray(src))
            if not isinstance(src, Tensor):
                raise TypeError(f"load_state_dict: {name!r} is a {type(src).__name__}, not a tensor or array")
            if tuple(src.shape) != tuple(target.shape):
                raise ValueError(f"load_state_dict: {name!r} has shape {tuple(src.shape)} in the state dict but "
                                 f"{tuple(target.shape)} in the model")
            sources[name] = src
        if assign:
            self._assign(sources)
            return IncompatibleKeys(missing, unexpected)
        with no_grad():
            for name, src in sources.items():  # every check passed before anything is written
                target = own[name]
                target.copy_(src if src.dtype == target.dtype else src.to(target.dtype))
        return IncompatibleKeys(missing, unexpected)

    def _assign(self, sources):
        """load_state_dict(assign=True): {name: tensor} replaces the parameters and buffers of those names."""
        replaced = {}  # id(old parameter) -> new one: a parameter tied under two names gets one replacement
        for prefix, module in self.named_modules():
            dot = prefix + "." if prefix else ""
            for name, p in module._parameters.items():
                if p is not None and dot + name in sources:
                    if id(p) not in replaced:
                        replaced[id(p)] = Parameter(sources[dot + name].detach(), p.requires_grad)
                    module._parameters[name] = replaced[id(p)]
            for name, b in module._buffers.items():
                if b is not None and dot + name in sources:
                    module._buffers[name] = sources[dot + name].detach()

    # ---- modes and conversions ----
    def train(self, mode=True):
        """Training mode (dropout active) or, with ``mode=False``, evaluation mode, for the whole tree."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        zero_grad_(self.parameters(), set_to_none)

    def to(self, *args, **kwargs):
        """``model.to(pyllm.float64)`` converts floating-point parameters and buffers (new Parameter objects:
        build the optimizer after converting); ``model.to("cpu")`` is a no-op, other devices raise as
        ``Tensor.to`` does."""
        def convert(t):
            if not t.dtype.is_floating_point:
                kw = {k: v for k, v in kwargs.items() if k != "dtype"}
                a = [x for x in args if not isinstance(x, _core.dtype)]
                return t.to(*a, **kw)
            return t.to(*args, **kwargs)

        converted = {}  # id(old) -> new: a tied parameter stays one parameter
        for module in self.modules():
            for name, p in module._parameters.items():
                if p is not None:
                    if id(p) not in converted:
                        q = convert(p.detach())
                        converted[id(p)] = p if q.dtype == p.dtype else Parameter(q, p.requires_grad)
                    module._parameters[name] = converted[id(p)]
            for name, b in module._buffers.items():
                if b is not None:
                    module._buffers[name] = convert(b)
        return self

    def float(self):
        return self.to(_core.dtype.float32)

    def double(self):
        return self.to(_core.dtype.float64)

    # ---- printing ----
    def extra_repr(self):
        """The line inside this module's parentheses in ``repr`` (e.g. ``in_features=4, out_features=2``)."""
        return ""

    def __repr__(self):
        children = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"
