"""The Trainer with a tiny model: its steps equal a PyTorch re-implementation (schedule, decay groups, clipping,
AdamW), accumulation equals one big batch, resume equals an uninterrupted run exactly, Ctrl-C and a raised
KeyboardInterrupt save a loadable checkpoint, corrupt checkpoints raise, and the logs hold every evaluation."""
import csv
import doctest
import math
import os
import signal
from functools import partial

import numpy as np
import pytest
import torch

import pyllm
import pyllm.nn.functional as F
import pyllm.train.optim as optim_module
from pyllm import nn
from pyllm.data import TokenDataset
from pyllm.io import SafetensorsError, save_file
import pyllm.train.trainer as trainer_module
from pyllm.train import (TrainConfig, Trainer, decay_groups, load_weights, plot_losses, read_checkpoint,
                         read_jsonl)

V, C, T = 13, 8, 6


class Affine(nn.Module):
    def __init__(self, weight, bias):
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)


class TinyLM(nn.Module):
    """Embedding -> dropout -> tanh(linear) * gain -> linear head: 2-D weights, a bias and a 1-D gain."""

    def __init__(self, rng, dtype=np.float32, p_drop=0.0):
        super().__init__()
        init = {"wte": rng.normal(0, 0.5, (V, C)), "fc.weight": rng.normal(0, 0.4, (C, C)),
                "fc.bias": rng.normal(0, 0.1, C), "gain": rng.uniform(0.5, 1.5, C), "head": rng.normal(0, 0.4, (V, C))}
        self.init = {k: v.astype(dtype) for k, v in init.items()}
        self.wte = nn.Parameter(pyllm.tensor(self.init["wte"]))
        self.fc = Affine(pyllm.tensor(self.init["fc.weight"]), pyllm.tensor(self.init["fc.bias"]))
        self.gain = nn.Parameter(pyllm.tensor(self.init["gain"]))
        self.head = nn.Parameter(pyllm.tensor(self.init["head"]))
        self.p_drop = p_drop

    def forward(self, idx, targets):
        x = F.embedding(idx, self.wte)                                     # (B, T, C)
        x = F.dropout(x, self.p_drop, self.training)
        h = F.tanh(F.linear(x, self.fc.weight, self.fc.bias)) * self.gain  # (B, T, C)
        logits = F.linear(h, self.head)                                    # (B, T, V)
        return logits, F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))


def token_data(rng, n=400):
    return TokenDataset(rng.integers(0, V, n).astype(np.uint16))


def config(tmp_path, name="run", **overrides):
    base = dict(max_iters=12, learning_rate=3e-2, min_lr=3e-3, warmup_iters=3, weight_decay=0.1, grad_clip=1.0,
                eval_interval=4, eval_iters=2, seed=1234, out_dir=str(tmp_path / name), progress=False)
    return TrainConfig(**{**base, **overrides})


def weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def losses(history, kind="train", key="loss"):
    return [(r["step"], r[key]) for r in history if r["kind"] == kind]


def test_lr_schedule_against_formula(rng):
    lr, min_lr = float(rng.uniform(1e-4, 1e-2)), float(rng.uniform(0, 1e-5))
    warmup, decay = int(rng.integers(1, 20)), int(rng.integers(30, 80))
    cfg = TrainConfig(learning_rate=lr, min_lr=min_lr, warmup_iters=warmup, lr_decay_iters=decay, max_iters=100)
    it = np.arange(100)
    progress = np.clip((it - warmup) / (decay - warmup), 0, 1)
    expected = np.where(it < warmup, lr * (it + 1) / (warmup + 1),
                        min_lr + (lr - min_lr) * (np.cos(np.pi * progress) + 1) / 2)
    np.testing.assert_allclose([cfg.lr_at(i) for i in it], expected, rtol=1e-13, atol=0)
    assert TrainConfig(decay_lr=False, learning_rate=lr).lr_at(57) == lr
    assert doctest.testmod(optim_module).failed == 0


def test_decay_groups(rng):
    model = TinyLM(rng)
    decayed, plain = decay_groups(model, 0.25)
    assert decayed["weight_decay"] == 0.25 and plain["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert sorted(names[id(p)] for p in decayed["params"]) == ["fc.weight", "head", "wte"]
    assert sorted(names[id(p)] for p in plain["params"]) == ["fc.bias", "gain"]


def torch_reference(model, cfg, batches):
    """The same steps in PyTorch: AdamW with the two groups, clip_grad_norm_, nanoGPT's get_lr."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in model.init.items()}
    opt = torch.optim.AdamW([{"params": [p["wte"], p["fc.weight"], p["head"]], "weight_decay": cfg.weight_decay},
                             {"params": [p["fc.bias"], p["gain"]], "weight_decay": 0.0}],
                            lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)
    out = []
    for step in range(cfg.max_iters):
        if step < cfg.warmup_iters:
            lr = cfg.learning_rate * (step + 1) / (cfg.warmup_iters + 1)
        else:
            ratio = (step - cfg.warmup_iters) / (cfg.max_iters - cfg.warmup_iters)
            lr = cfg.min_lr + 0.5 * (1 + math.cos(math.pi * ratio)) * (cfg.learning_rate - cfg.min_lr)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        x, y = (torch.from_numpy(t.numpy()) for t in batches[step])
        h = torch.tanh(p["wte"][x] @ p["fc.weight"].T + p["fc.bias"]) * p["gain"]
        loss = torch.nn.functional.cross_entropy((h @ p["head"].T).reshape(-1, V), y.reshape(-1))
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(p.values()), cfg.grad_clip)
        opt.step()
        out.append((loss.item(), norm.item()))
    return out, {k: v.detach().numpy() for k, v in p.items()}


def test_steps_match_pytorch_adamw(tmp_path, rng):
    model = TinyLM(rng, np.float64).double()
    data = token_data(rng)
    cfg = config(tmp_path, grad_clip=0.05, eval_interval=0)  # a small clip: every step is clipped
    trainer = Trainer(model, cfg, partial(data.get_batch, 3, T), partial(data.get_batch, 3, T))
    g = np.random.default_rng(cfg.seed)
    batches = [data.get_batch(3, T, g) for _ in range(cfg.max_iters)]  # what the trainer will draw
    history = trainer.fit()
    ref, ref_weights = torch_reference(model, cfg, batches)
    rows = [r for r in history if r["kind"] == "train"]
    np.testing.assert_allclose([r["loss"] for r in rows], [l for l, _ in ref], rtol=1e-12)
    np.testing.assert_allclose([r["grad_norm"] for r in rows], [n for _, n in ref], rtol=1e-10)
    assert min(n for _, n in ref) > 0.05
    np.testing.assert_allclose([r["lr"] for r in rows], [cfg.lr_at(i) for i in range(cfg.max_iters)], rtol=0)
    for name, value in weights(model).items():
        np.testing.assert_allclose(value, ref_weights[name], rtol=1e-11, atol=1e-13, err_msg=name)


def test_accumulation_equals_big_batch(tmp_path, rng):
    seed = int(rng.integers(2**31))
    data = token_data(rng)
    micro = partial(data.get_batch, 2, T)

    def big(g):  # the three micro-batches the accumulating run draws, as one batch
        parts = [micro(g) for _ in range(3)]
        return tuple(F.cat([p[i] for p in parts]) for i in range(2))

    runs = []
    for accum, draw in ((3, micro), (1, big)):
        model = TinyLM(np.random.default_rng(seed), np.float64).double()
        cfg = config(tmp_path, f"accum{accum}", gradient_accumulation_steps=accum, eval_interval=0, max_iters=6)
        runs.append((Trainer(model, cfg, draw).fit(), weights(model)))
    (h3, w3), (h1, w1) = runs
    np.testing.assert_allclose([l for _, l in losses(h3)], [l for _, l in losses(h1)], rtol=1e-12)
    for name in w1:
        np.testing.assert_allclose(w3[name], w1[name], rtol=1e-12, atol=1e-12, err_msg=name)


def run(tmp_path, name, model_seed, data, callbacks=(), **overrides):
    model = TinyLM(np.random.default_rng(model_seed), p_drop=0.2)  # dropout draws from pyllm's generator
    cfg = config(tmp_path, name, gradient_accumulation_steps=2, **overrides)
    trainer = Trainer(model, cfg, partial(data.get_batch, 4, T), partial(data.get_batch, 4, T), callbacks=callbacks)
    return trainer, model


def stop_at(step):
    def callback(trainer, row):
        if row["step"] == step:
            raise KeyboardInterrupt
    return callback


def test_resume_equals_uninterrupted_and_seeded_determinism(tmp_path, rng):
    data = token_data(rng)
    full, full_model = run(tmp_path, "full", 0, data)
    full.fit()
    again, _ = run(tmp_path, "again", 0, data)
    assert losses(again.fit()) == losses(full.history)  # same seed, same losses, exactly
    other, _ = run(tmp_path, "other", 0, data, seed=99)
    assert losses(other.fit()) != losses(full.history)

    first, first_model = run(tmp_path, "split", 0, data, callbacks=[stop_at(6)])
    first.fit()
    assert first.interrupted and first.step == 6
    saved = load_weights(first.checkpoint_path)  # the interrupt's checkpoint loads
    for name, value in weights(first_model).items():
        np.testing.assert_array_equal(saved[name].numpy(), value)
    # A fresh process would build the model with other weights and other RNG states: resume restores them.
    pyllm.manual_seed(4321)
    second, second_model = run(tmp_path, "split", 77, data)
    second.resume().fit()
    assert not second.interrupted
    assert losses(second.history) == losses(full.history)
    assert losses(second.history, "eval", "val_loss") == losses(full.history, "eval", "val_loss")
    assert losses(second.history, "eval", "train_loss") == losses(full.history, "eval", "train_loss")
    for name, value in weights(full_model).items():
        np.testing.assert_array_equal(weights(second_model)[name], value)
    logged = read_jsonl(os.path.join(second.config.out_dir, "metrics.jsonl"))
    assert [(r["kind"], r["step"]) for r in logged] == [(r["kind"], r["step"]) for r in full.history]


def test_sigint_saves_at_the_step_boundary(tmp_path, rng):
    data = token_data(rng)

    def ctrl_c(trainer, row):
        if row["step"] == 3:
            os.kill(os.getpid(), signal.SIGINT)

    handler = signal.getsignal(signal.SIGINT)
    trainer, model = run(tmp_path, "sigint", 0, data, callbacks=[ctrl_c])
    trainer.fit()
    assert trainer.interrupted and trainer.step == 3
    assert signal.getsignal(signal.SIGINT) is handler  # the trainer's handler is gone
    saved = load_weights(trainer.checkpoint_path)
    np.testing.assert_array_equal(saved["head"].numpy(), model.head.detach().numpy())
    trainer.callbacks = []
    trainer.fit()  # fit again: carries on to the end
    assert not trainer.interrupted and trainer.step == trainer.config.max_iters


def test_logs_hold_every_eval(tmp_path, rng):
    data = token_data(rng)
    trainer, _ = run(tmp_path, "logs", 0, data, max_iters=10, eval_interval=3, log_interval=2)
    history = trainer.fit()
    rows = read_jsonl(os.path.join(trainer.config.out_dir, "metrics.jsonl"))
    assert rows == history
    assert [r["step"] for r in rows if r["kind"] == "eval"] == [0, 3, 6, 9, 10]
    assert [r["step"] for r in rows if r["kind"] == "train"] == [2, 4, 6, 8, 10]
    with open(os.path.join(trainer.config.out_dir, "metrics.csv"), newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["kind"], int(r["step"])) for r in table] == [(r["kind"], r["step"]) for r in rows]
    for r, c in zip(rows, table):
        for key in ("loss", "val_loss", "train_loss", "lr"):
            assert (r.get(key) is None and c[key] == "") or float(c[key]) == r[key]
    evals = [r for r in rows if r["kind"] == "eval"]
    assert evals[0]["train_loss"] is None and all(r["val_loss"] > 0 for r in evals)
    train_losses = [r["loss"] for r in history if r["kind"] == "train"]
    assert all(np.isfinite(train_losses))


def test_corrupt_checkpoints_raise(tmp_path, rng):
    data = token_data(rng)
    trainer, _ = run(tmp_path, "ok", 0, data, max_iters=4)
    trainer.metadata = {"model": {"n_embd": C}}
    trainer.fit()
    path = trainer.checkpoint_path
    raw = open(path, "rb").read()
    fresh, _ = run(tmp_path, "fresh", 1, data)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(raw[:len(raw) - 7])
    with pytest.raises(SafetensorsError, match="cut.safetensors.*(truncated|run past the end)"):
        fresh.resume(cut)
    save_file({"w": pyllm.zeros(2)}, tmp_path / "plain.safetensors")
    with pytest.raises(SafetensorsError, match="not a pyllm training checkpoint"):
        fresh.resume(tmp_path / "plain.safetensors")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        fresh.resume(tmp_path / "missing.safetensors")

    class Wider(TinyLM):
        def __init__(self, rng):
            super().__init__(rng)
            self.extra = nn.Parameter(pyllm.zeros(3))

    assert read_checkpoint(path)[2]["metadata"] == {"model": {"n_embd": C}}
    wrong = Trainer(Wider(rng), config(tmp_path, "wrong"), partial(data.get_batch, 4, T))
    with pytest.raises(ValueError, match="does not fit this model.*missing keys.*extra"):
        wrong.resume(path)


def test_plot_losses_hook(tmp_path, monkeypatch):
    history = [{"kind": "eval", "step": 0, "train_loss": None, "val_loss": 3.0},
               {"kind": "train", "step": 1, "loss": 2.5}, {"kind": "train", "step": 2, "loss": 2.0},
               {"kind": "eval", "step": 2, "train_loss": 2.25, "val_loss": 2.4}]
    path = str(tmp_path / "loss.png")
    assert plot_losses(path, history)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    calls = []
    monkeypatch.setattr(trainer_module, "line_plot",
                        lambda path, series, title, xlabel, ylabel: calls.append((path, series, xlabel, ylabel)))
    assert plot_losses(path, history)
    assert calls == [(path, {"train": ([1, 2], [2.5, 2.0]), "val": ([0, 2], [3.0, 2.4])}, "step", "loss")]
    assert not plot_losses(path, history[:1][:0])


def test_config_errors():
    with pytest.raises(ValueError, match="gradient_accumulation_steps must be >= 1"):
        TrainConfig(gradient_accumulation_steps=0)
    with pytest.raises(ValueError, match="min_lr <= learning_rate"):
        TrainConfig(learning_rate=1e-4, min_lr=1e-3)
