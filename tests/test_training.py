"""End to end: a tiny MLP and a one-block GPT-style Transformer, trained a few AdamW steps in pyllm and in
PyTorch from the same initial weights on the same batches, give the same losses and weights."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyllm
import pyllm.nn.functional as F
from util import assert_close


def _params(rng, shapes):
    """Identical parameter sets in both libraries: {name: tensor}."""
    arrays = {name: (rng.standard_normal(shape) * scale).astype(np.float32) for name, (shape, scale) in shapes.items()}
    ours = {k: pyllm.tensor(v, requires_grad=True) for k, v in arrays.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    return ours, theirs


def _train(forward, ours, theirs, batches, steps, lr=3e-3):
    opt_ours = pyllm.optim.AdamW(list(ours.values()), lr=lr, weight_decay=0.1)
    opt_theirs = torch.optim.AdamW(list(theirs.values()), lr=lr, weight_decay=0.1)
    losses = []
    for step in range(steps):
        x, y = batches[step % len(batches)]
        loss_ours = forward(ours, pyllm.tensor(x), pyllm.tensor(y), F)
        loss_theirs = forward(theirs, torch.tensor(x), torch.tensor(y), TF)
        opt_ours.zero_grad()
        opt_theirs.zero_grad()
        loss_ours.backward()
        loss_theirs.backward()
        pyllm.nn.utils.clip_grad_norm_(list(ours.values()), 1.0)
        torch.nn.utils.clip_grad_norm_(list(theirs.values()), 1.0)
        opt_ours.step()
        opt_theirs.step()
        losses.append((loss_ours.item(), loss_theirs.item()))
    return losses


def mlp_forward(p, x, y, lib):
    h = lib.gelu(lib.linear(x, p["fc1.weight"], p["fc1.bias"]))
    return lib.cross_entropy(lib.linear(h, p["fc2.weight"], p["fc2.bias"]), y)


def test_mlp_trains_like_pytorch(rng):
    shapes = {"fc1.weight": ((32, 16), 0.25), "fc1.bias": ((32,), 0.1), "fc2.weight": ((10, 32), 0.18),
              "fc2.bias": ((10,), 0.1)}
    ours, theirs = _params(rng, shapes)
    batches = [(rng.standard_normal((64, 16)).astype(np.float32), rng.integers(0, 10, 64)) for _ in range(4)]
    losses = _train(mlp_forward, ours, theirs, batches, steps=8)
    for a, b in losses:
        assert a == pytest.approx(b, rel=1e-4)
    assert losses[4][0] < losses[0][0]  # the same batch, four updates later
    for name in ours:
        assert_close(ours[name], theirs[name], rtol=1e-4, atol=1e-5)


V, C, H, T = 37, 24, 3, 9  # vocab, width, heads, context: odd sizes on purpose


def gpt_block_forward(p, idx, targets, lib):
    """One pre-LN GPT-2 block with tied embeddings. idx, targets: (B, T)."""
    B, Tn = idx.shape
    pos = pyllm.arange(Tn) if lib is F else torch.arange(Tn)
    x = lib.embedding(idx, p["wte"]) + lib.embedding(pos, p["wpe"])            # (B,T,C)
    h = lib.layer_norm(x, (C,), p["ln_1.weight"], p["ln_1.bias"])
    q, k, v = lib.linear(h, p["c_attn.weight"], p["c_attn.bias"]).split(C, dim=2)
    q, k, v = (t.view(B, Tn, H, C // H).transpose(1, 2) for t in (q, k, v))      # (B,H,T,D)
    a = lib.scaled_dot_product_attention(q, k, v, is_causal=True)
    a = a.transpose(1, 2).reshape(B, Tn, C)                                       # (B,T,C)
    x = x + lib.linear(a, p["attn.c_proj.weight"], p["attn.c_proj.bias"])
    h = lib.layer_norm(x, (C,), p["ln_2.weight"], p["ln_2.bias"])
    h = lib.gelu(lib.linear(h, p["c_fc.weight"], p["c_fc.bias"]), approximate="tanh")
    x = x + lib.linear(h, p["mlp.c_proj.weight"], p["mlp.c_proj.bias"])
    x = lib.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"])
    logits = lib.linear(x, p["wte"])                                              # (B,T,V), tied head
    return lib.cross_entropy(logits.reshape(B * Tn, V), targets.reshape(B * Tn))


def test_one_block_transformer_trains_like_pytorch(rng):
    shapes = {
        "wte": ((V, C), 0.02), "wpe": ((T, C), 0.02),
        "ln_1.weight": ((C,), 0.1), "ln_1.bias": ((C,), 0.1),
        "c_attn.weight": ((3 * C, C), 0.2), "c_attn.bias": ((3 * C,), 0.02),
        "attn.c_proj.weight": ((C, C), 0.2), "attn.c_proj.bias": ((C,), 0.02),
        "ln_2.weight": ((C,), 0.1), "ln_2.bias": ((C,), 0.1),
        "c_fc.weight": ((4 * C, C), 0.2), "c_fc.bias": ((4 * C,), 0.02),
        "mlp.c_proj.weight": ((C, 4 * C), 0.1), "mlp.c_proj.bias": ((C,), 0.02),
        "ln_f.weight": ((C,), 0.1), "ln_f.bias": ((C,), 0.1),
    }
    ours, theirs = _params(rng, shapes)
    for name in ("ln_1.weight", "ln_2.weight", "ln_f.weight"):  # norms start near 1, as initialized in practice
        with pyllm.no_grad():
            ours[name] += 1.0
        with torch.no_grad():
            theirs[name] += 1.0
    batches = []
    for _ in range(3):
        seq = rng.integers(0, V, (4, T + 1))
        batches.append((seq[:, :-1], seq[:, 1:]))
    losses = _train(gpt_block_forward, ours, theirs, batches, steps=6)
    for a, b in losses:
        assert a == pytest.approx(b, rel=2e-4)
    assert losses[3][0] < losses[0][0]  # the same batch, three updates later
    for name in ours:
        a, b = ours[name].detach().numpy(), theirs[name].detach().numpy()
        if name == "c_attn.bias":
            # The key bias adds q·b_k to every score of a row, which softmax ignores: its exact gradient is
            # zero, so both libraries hold rounding noise that Adam scales up to ±lr. Compare q and v parts.
            a, b = np.delete(a, np.s_[C:2 * C]), np.delete(b, np.s_[C:2 * C])
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=2e-5, err_msg=name)
