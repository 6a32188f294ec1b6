"""The optimizer base class, as ``torch.optim.Optimizer``: parameter groups with per-group options,
``zero_grad``, ``add_param_group`` and ``state_dict()`` / ``load_state_dict()`` that round-trip exactly.

Per-parameter state lives in ``optimizer.state[param]`` (a dict). ``state_dict()`` refers to parameters by
their position across all groups, so it can be loaded into a fresh optimizer over other tensors of the
same shapes.
"""
from .. import _core
from ..nn.utils import zero_grad_

Tensor = _core.Tensor


def _copy_value(value):
    """State and option values are copied so that a saved state dict never changes under later steps."""
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_value(v) for v in value]
    return value


class Optimizer:
    """Base class: subclasses pass their default options and implement ``step``."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}  # param -> dict of that parameter's state, filled lazily by step()
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got " + type(params).__name__)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Adds a group of parameters with its own options; options it leaves out take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        elif params is None:
            raise ValueError("param_group must have a 'params' entry")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + type(p).__name__)
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        if any(id(p) in ids for group in self.param_groups for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Drops every parameter's ``.grad`` (``set_to_none=True``) or fills it with zeros."""
        zero_grad_((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure=None):
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def state_dict(self):
        """``{"state": {position: state}, "param_groups": [options + "params": [positions]]}``; tensors are
        copies."""
        position = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _copy_value(v) for k, v in group.items() if k != "params"}
            packed["params"] = [position.setdefault(id(p), len(position)) for p in group["params"]]
            groups.append(packed)
        state = {position[id(p)]: _copy_value(s) for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restores options and state saved by ``state_dict()`` from an optimizer over parameters of the same
        layout. State tensors are copied (and cast to their parameter's dtype when floating point)."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for group, saved in zip(self.param_groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 "optimizer's group")
        by_position = {pos: p for group, saved in zip(self.param_groups, saved_groups)
                       for pos, p in zip(saved["params"], group["params"])}
        state = {}
        for pos, saved_state in state_dict["state"].items():
            if pos not in by_position:
                raise ValueError(f"loaded state dict has state for parameter {pos}, which no parameter group lists")
            param = by_position[pos]
            state[param] = {name: self._load_value(value, param) for name, value in saved_state.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: _copy_value(v) for k, v in saved.items() if k != "params"})
        self.state = state

    @staticmethod
    def _load_value(value, param):
        if isinstance(value, Tensor) and value.dtype.is_floating_point and value.dtype != param.dtype:
            return value.detach().to(param.dtype)
        return _copy_value(value)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        lines.append(")")
        return "\n".join(lines)
