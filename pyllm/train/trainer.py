"""The training loop: nanoGPT's train.py as a class.

    config = TrainConfig(max_iters=2000, learning_rate=1e-3, out_dir="out/shakespeare")
    train, val = TokenDataset.load(d, "train"), TokenDataset.load(d, "val")
    trainer = Trainer(model, config, partial(train.get_batch, 12, 64), partial(val.get_batch, 12, 64))
    trainer.fit()          # or trainer.resume() then trainer.fit(): continues exactly where the checkpoint was

Each step: the learning rate from the schedule, ``gradient_accumulation_steps`` forward/backward passes on
batches drawn with the data generator (the loss divided by their number, so the gradient is the big batch's),
gradient clipping, one AdamW step. Every ``eval_interval`` steps: the mean validation loss over ``eval_iters``
batches (the same batches at every evaluation, drawn from a generator seeded by ``seed``, so the curve
compares like with like), a log row, a checkpoint and the loss curve. Every ``log_interval`` steps: a log row
with the loss, LR, gradient norm and tokens/s.

Determinism: the trainer seeds pyllm's default generator (dropout), Python's random and its NumPy data
generator from ``seed``; a checkpoint stores all three states with the weights and the optimizer's state, so a
resumed run draws the same batches and dropout masks and its losses equal an uninterrupted run's exactly.

Ctrl-C asks the loop to stop at the end of the current step: it saves a checkpoint and ``fit`` returns with
``trainer.interrupted`` set (a second Ctrl-C interrupts at once, without saving). A ``KeyboardInterrupt``
raised by a callback does the same.
"""
import dataclasses
import math
import os
import random
import signal
import sys
import time
from typing import Optional

import numpy as np

from .. import _core
from ..autograd import no_grad
from ..nn.utils import clip_grad_norm_
from ..plot import line_plot
from .checkpoint import read_checkpoint, save_checkpoint
from .optim import configure_optimizer, get_lr
from .progress import MetricsLog, ProgressBar


@dataclasses.dataclass
class TrainConfig:
    """Training hyperparameters, with nanoGPT's names and its Shakespeare-char CPU defaults."""

    max_iters: int = 2000                 # optimizer steps
    learning_rate: float = 1e-3           # peak LR, after warmup
    min_lr: float = 1e-4                  # where the cosine decay ends (nanoGPT: learning_rate / 10)
    warmup_iters: int = 100
    lr_decay_iters: Optional[int] = None  # the step the decay reaches min_lr; None: max_iters
    decay_lr: bool = True                 # False: constant learning_rate
    weight_decay: float = 0.1             # on parameters with >= 2 dims only (see decay_groups)
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-8
    grad_clip: float = 1.0                # max global gradient norm; 0 disables clipping
    gradient_accumulation_steps: int = 1  # micro-batches per optimizer step
    eval_interval: int = 250              # steps between evaluations (and checkpoints); 0: only at the end
    eval_iters: int = 20                  # validation batches per evaluation
    log_interval: int = 1                 # steps between log rows
    seed: int = 1337
    out_dir: str = "out"                  # checkpoint.safetensors, metrics.jsonl/.csv, loss.png
    progress: bool = True                 # the progress bar on stderr

    def __post_init__(self):
        for name in ("max_iters", "warmup_iters", "eval_interval", "eval_iters"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig: {name} must be >= 0, got {getattr(self, name)}")
        for name in ("gradient_accumulation_steps", "log_interval"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig: {name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.min_lr <= self.learning_rate:
            raise ValueError(f"TrainConfig: need 0 <= min_lr <= learning_rate, got {self.min_lr}, "
                             f"{self.learning_rate}")
        if self.grad_clip < 0:
            raise ValueError(f"TrainConfig: grad_clip must be >= 0, got {self.grad_clip}")

    def lr_at(self, it):
        if not self.decay_lr:
            return self.learning_rate
        decay_iters = self.max_iters if self.lr_decay_iters is None else self.lr_decay_iters
        return get_lr(it, self.learning_rate, self.min_lr, self.warmup_iters, decay_iters)


def default_loss(model, batch):
    """nanoGPT's model convention: ``model(x, targets) -> (logits, loss)``."""
    return model(*batch)[1]


class Trainer:
    """Trains ``model`` with ``config``.

    ``train_data``, ``val_data``: callables ``rng -> batch`` (a tuple of tensors) that draw a batch with the
    NumPy generator they are given, e.g. ``functools.partial(token_dataset.get_batch, B, T)`` or
    ``pair_dataset.get_batch``. ``loss_fn(model, batch) -> 0-d loss tensor`` (default: ``model(*batch)[1]``).
    ``callbacks``: functions ``fn(trainer, row)`` called after every step with its log row. ``metadata``: any
    JSON-serializable dict stored in each checkpoint (e.g. the model's config and the tokenizer's path, what a
    sampler needs to rebuild the model); ``read_checkpoint(path)[2]["metadata"]`` returns it. Tokens/s counts
    the elements of the batch's first tensor."""

    def __init__(self, model, config, train_data, val_data=None, loss_fn=default_loss, callbacks=(), metadata=None):
        self.model, self.config, self.metadata = model, config, metadata
        self.train_data, self.val_data, self.loss_fn = train_data, val_data, loss_fn
        self.callbacks = list(callbacks)
        self.optimizer = configure_optimizer(model, config.weight_decay, config.learning_rate,
                                             (config.beta1, config.beta2), config.eps)
        _core.manual_seed(config.seed)
        random.seed(config.seed)
        self.data_rng = np.random.default_rng(config.seed)
        self.step = 0
        self.history = []        # every log row: {"kind": "train" | "eval", "step": ..., ...}
        self.last_eval_step = None
        self.interrupted = False
        self._stop_requested = False
        self._losses_since_eval = []
        self._boundary = True      # between steps: the state a checkpoint can capture
        self._t0, self._elapsed_before = time.perf_counter(), 0.0
        os.makedirs(config.out_dir, exist_ok=True)
        self.checkpoint_path = os.path.join(config.out_dir, "checkpoint.safetensors")
        self.log = MetricsLog(config.out_dir)
        self.log.rewrite([])
        self._bar = None

    # ---- the loop ----
    def fit(self):
        """Trains up to ``config.max_iters`` steps from the current step; returns the history."""
        cfg = self.config
        self.model.train()
        self.interrupted = self._stop_requested = False
        self._bar = ProgressBar(cfg.max_iters, self.step) if cfg.progress else None
        restore_sigint = self._catch_sigint()
        try:
            while self.step < cfg.max_iters:
                if self._stop_requested:
                    raise KeyboardInterrupt
                if cfg.eval_interval and self.step % cfg.eval_interval == 0 and self.last_eval_step != self.step:
                    self._evaluate_and_save()
                self._boundary = False
                row = self._train_step()
                self._boundary = True
                for callback in self.callbacks:
                    callback(self, row)
            if self.last_eval_step != self.step:
                self._evaluate_and_save()
            plot_losses(os.path.join(cfg.out_dir, "loss.png"), self.history)
        except KeyboardInterrupt:
            if not self._boundary:
                raise  # mid-step: the weights may be half updated; the last checkpoint stands
            self.interrupted = True
            self.save_checkpoint()
            plot_losses(os.path.join(cfg.out_dir, "loss.png"), self.history)
            self._print(f"interrupted at step {self.step}: checkpoint saved to {self.checkpoint_path}; "
                        "resume to continue")
        finally:
            restore_sigint()
            if self._bar is not None:
                self._bar.close()
        return self.history

    def _train_step(self):
        cfg = self.config
        lr = cfg.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum, tokens = 0.0, 0
        for _ in range(cfg.gradient_accumulation_steps):
            batch = self.train_data(self.data_rng)
            tokens += batch[0].numel()
            loss = self.loss_fn(self.model, batch)
            # Mean over micro-batches: the gradient of equally sized micro-batches is the whole batch's.
            (loss / cfg.gradient_accumulation_steps).backward()
            loss_sum += loss.item()
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        grad_norm = clip_grad_norm_(params, cfg.grad_clip if cfg.grad_clip else math.inf).item()
        self.optimizer.step()
        self.step += 1
        loss = loss_sum / cfg.gradient_accumulation_steps
        self._losses_since_eval.append(loss)
        row = {"kind": "train", "step": self.step, "loss": loss, "lr": lr, "grad_norm": grad_norm,
               "tokens_per_s": tokens / max(time.perf_counter() - start, 1e-9), "elapsed": self._elapsed()}
        if self.step % cfg.log_interval == 0 or self.step == cfg.max_iters:
            self._record(row)
        if self._bar is not None:
            self._bar.update(self.step, loss, lr, tokens)
        return row

    @no_grad()
    def evaluate(self):
        """The mean loss over ``eval_iters`` validation batches (the same ones every time), in eval mode."""
        if self.val_data is None or self.config.eval_iters == 0:
            return None
        rng = np.random.default_rng([self.config.seed, 1])  # a stream apart from the training data's
        self.model.eval()
        try:
            losses = [self.loss_fn(self.model, self.val_data(rng)).item() for _ in range(self.config.eval_iters)]
        finally:
            self.model.train()
        return float(np.mean(losses))

    def _evaluate_and_save(self):
        val_loss = self.evaluate()
        train_loss = float(np.mean(self._losses_since_eval)) if self._losses_since_eval else None
        self._losses_since_eval = []
        self.last_eval_step = self.step
        self._record({"kind": "eval", "step": self.step, "train_loss": train_loss, "val_loss": val_loss,
                      "lr": self.config.lr_at(self.step), "elapsed": self._elapsed()})
        self._print(f"step {self.step}: train loss {_fmt(train_loss)}, val loss {_fmt(val_loss)}")
        if self.step > 0:
            self.save_checkpoint()
            plot_losses(os.path.join(self.config.out_dir, "loss.png"), self.history)

    # ---- checkpoints ----
    def save_checkpoint(self, path=None):
        """Writes the whole training state to ``path`` (default ``<out_dir>/checkpoint.safetensors``)."""
        save_checkpoint(path or self.checkpoint_path, self.model, self.optimizer, {
            "step": self.step,
            "last_eval_step": self.last_eval_step,
            "losses_since_eval": self._losses_since_eval,
            "config": dataclasses.asdict(self.config),
            "metadata": self.metadata,
            "rng": {"pyllm": list(_core.default_generator().get_state()),
                    "numpy": self.data_rng.bit_generator.state,
                    "python": list(random.getstate())},
            "history": self.history,
        })

    def resume(self, path=None):
        """Loads a checkpoint written by ``save_checkpoint``: weights, optimizer, RNG states, step and history
        (the metric logs are rewritten from it). The trainer keeps its own config, so a run can be extended."""
        path = path or self.checkpoint_path
        model_state, optimizer_state, state = read_checkpoint(path)
        try:
            self.model.load_state_dict(model_state)
            self.optimizer.load_state_dict(optimizer_state)
        except (KeyError, ValueError) as e:
            raise ValueError(f"{path}: the checkpoint does not fit this model: {e}") from None
        self.step = state["step"]
        self.last_eval_step = state["last_eval_step"]
        self._losses_since_eval = list(state["losses_since_eval"])
        self.history = state["history"]
        self._t0, self._elapsed_before = time.perf_counter(), self.history[-1]["elapsed"] if self.history else 0.0
        _core.default_generator().set_state(tuple(state["rng"]["pyllm"]))
        self.data_rng.bit_generator.state = state["rng"]["numpy"]
        version, internal, gauss = state["rng"]["python"]
        random.setstate((version, tuple(internal), gauss))
        self.log.rewrite(self.history)
        return self

    # ---- helpers ----
    def _record(self, row):
        self.history.append(row)
        self.log.append(row)

    def _print(self, message):
        if self._bar is not None:
            self._bar.write(message)
        elif self.config.progress:
            print(message, file=sys.stderr, flush=True)

    def _elapsed(self):
        """Seconds of training, those before a resume included."""
        return self._elapsed_before + time.perf_counter() - self._t0

    def _catch_sigint(self):
        """The first Ctrl-C sets a flag the loop checks between steps; the handler then steps aside, so a
        second one interrupts at once. Only the main thread can install handlers: elsewhere, nothing is."""
        def request_stop(signum, frame):
            self._stop_requested = True
            signal.signal(signal.SIGINT, previous)
        try:
            previous = signal.signal(signal.SIGINT, request_stop)
        except ValueError:
            return lambda: None
        return lambda: signal.signal(signal.SIGINT, previous)


def _fmt(value):
    return "n/a" if value is None else f"{value:.4f}"


def plot_losses(path, history):
    """The loss curves (train loss per logged step, val loss per evaluation) as a PNG at ``path``, drawn by
    ``pyllm.plot.line_plot``. Returns whether a plot was written (not before the first logged loss)."""
    train = [(r["step"], r["loss"]) for r in history if r["kind"] == "train"]
    val = [(r["step"], r["val_loss"]) for r in history if r["kind"] == "eval" and r["val_loss"] is not None]
    series = {name: ([s for s, _ in points], [v for _, v in points])
              for name, points in (("train", train), ("val", val)) if points}
    if not series:
        return False
    line_plot(path, series, title="loss", xlabel="step", ylabel="loss")
    return True
