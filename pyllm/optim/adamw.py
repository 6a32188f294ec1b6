"""AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, as ``torch.optim.AdamW`` (without
amsgrad or maximize). The whole update of a parameter group is one fused, multithreaded C++ kernel call.
"""
from .. import _core
from ..autograd import enable_grad
from .optimizer import Optimizer


class AdamW(Optimizer):
    """``p -= lr * wd * p; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g²;
    p -= lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)``.

    State per parameter (created on its first step with a gradient): ``step`` (int), ``exp_avg`` and
    ``exp_avg_sq`` (tensors shaped like the parameter). Parameters whose ``.grad`` is None are skipped and
    their step count does not advance.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            # Parameters share one kernel call per step count; the counts differ only for parameters that
            # were skipped on some steps.
            batches = {}
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {"step": 0, "exp_avg": _core.zeros(list(p.shape), p.dtype, p.device),
                                             "exp_avg_sq": _core.zeros(list(p.shape), p.dtype, p.device)}
                batch = batches.setdefault(state["step"] + 1, ([], [], [], []))
                batch[0].append(p)
                batch[1].append(grad if grad.is_contiguous() else grad.contiguous())
                batch[2].append(state["exp_avg"])
                batch[3].append(state["exp_avg_sq"])
            for step, (params, grads, exp_avgs, exp_avg_sqs) in batches.items():
                _core.adamw_step(params, grads, exp_avgs, exp_avg_sqs, float(group["lr"]), float(beta1),
                                 float(beta2), float(group["eps"]), float(group["weight_decay"]), step)
                for p in params:  # counted only once the update went through
                    self.state[p]["step"] = step
        return loss
