"""pyllm.nn layers against torch.nn (or a plain torch re-implementation, or Hugging Face's Llama RoPE) on the
same weights: outputs and the gradients of inputs and parameters; masks, grouped-query heads, RoPE, the KV
cache against a full recompute, float64 gradcheck, initialisation statistics and error messages."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyllm
from pyllm import nn
from pyllm.autograd import gradcheck
from util import assert_close, pair, random_pair


def _from_torch(module, torch_state):
    """Loads {our name: torch tensor} into ``module`` (strict)."""
    module.load_state_dict({k: v.detach().numpy().copy() for k, v in torch_state.items()})
    return module


def _grad_pair(rng, y, ty, rtol=1e-4, atol=1e-5):
    """Checks the forward outputs match, then backpropagates the same random cotangent through both."""
    assert_close(y, ty, rtol=1e-5, atol=1e-5)
    g, tg = random_pair(rng, tuple(ty.shape))
    y.backward(g)
    ty.backward(tg)


def _close_grads(pairs, rtol=1e-4, atol=1e-5):
    for ours, theirs in pairs:
        assert_close(ours.grad, theirs.grad, rtol=rtol, atol=atol)


# ---- Linear, Embedding, norms, activations, Dropout ----

@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(rng, bias):
    tl = torch.nn.Linear(7, 5, bias=bias)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(rng.standard_normal((5, 7)).astype(np.float32)))
    lin = _from_torch(nn.Linear(7, 5, bias=bias), tl.state_dict())
    assert [n for n, _ in lin.named_parameters()] == [n for n, _ in tl.named_parameters()]
    x, tx = random_pair(rng, (2, 3, 7), requires_grad=True)
    _grad_pair(rng, lin(x), tl(tx))
    _close_grads([(x, tx), (lin.weight, tl.weight)] + ([(lin.bias, tl.bias)] if bias else []))


def test_linear_init_follows_torch(rng):
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound  # U(-b, b) has std b / sqrt(3)
    assert np.abs(w).max() > 0.99 * bound


def test_embedding_matches_torch_with_padding_idx(rng):
    te = torch.nn.Embedding(11, 6, padding_idx=3)
    emb = _from_torch(nn.Embedding(11, 6, padding_idx=3), te.state_dict())
    ids = rng.integers(0, 11, (4, 9))
    ids[0, :3] = 3
    y, ty = emb(pyllm.tensor(ids)), te(torch.from_numpy(ids))
    _grad_pair(rng, y, ty)
    _close_grads([(emb.weight, te.weight)])
    assert not emb.weight.grad.numpy()[3].any()


def test_embedding_init_is_standard_normal_with_a_zero_padding_row(rng):
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    w = nn.Embedding(500, 64, padding_idx=-1).weight.detach().numpy()
    assert not w[499].any()
    assert abs(w[:499].mean()) < 0.02 and abs(w[:499].std() - 1) < 0.02


@pytest.mark.parametrize("shape", [(10,), (3, 10)])
def test_layer_norm_matches_torch(rng, shape):
    tn = torch.nn.LayerNorm(shape, eps=1e-4)
    with torch.no_grad():
        tn.weight.copy_(torch.from_numpy(rng.standard_normal(shape).astype(np.float32)))
        tn.bias.copy_(torch.from_numpy(rng.standard_normal(shape).astype(np.float32)))
    ln = _from_torch(nn.LayerNorm(shape, eps=1e-4), tn.state_dict())
    x, tx = random_pair(rng, (2, 4) + shape, requires_grad=True)
    _grad_pair(rng, ln(x), tn(tx))
    _close_grads([(x, tx), (ln.weight, tn.weight), (ln.bias, tn.bias)])


@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rms_norm_matches_torch(rng, eps):
    tn = torch.nn.RMSNorm(12, eps=eps)
    with torch.no_grad():
        tn.weight.copy_(torch.from_numpy(rng.standard_normal(12).astype(np.float32)))
    rn = _from_torch(nn.RMSNorm(12, eps=eps), tn.state_dict())
    x, tx = random_pair(rng, (3, 5, 12), requires_grad=True)
    _grad_pair(rng, rn(x), tn(tx))
    _close_grads([(x, tx), (rn.weight, tn.weight)])


def test_norms_without_affine_parameters_have_none():
    assert list(nn.LayerNorm(4, elementwise_affine=False).state_dict()) == []
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]
    assert list(nn.RMSNorm(4, elementwise_affine=False).state_dict()) == []


@pytest.mark.parametrize("ours,theirs", [(nn.GELU(), torch.nn.GELU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")),
                                         (nn.SiLU(), torch.nn.SiLU()), (nn.ReLU(), torch.nn.ReLU())])
def test_activations_match_torch(rng, ours, theirs):
    x, tx = random_pair(rng, (4, 9), requires_grad=True)
    _grad_pair(rng, ours(x), theirs(tx))
    _close_grads([(x, tx)])


def test_dropout_train_and_eval(rng):
    x = pyllm.tensor(rng.uniform(1, 2, (200, 100)).astype(np.float32))
    drop = nn.Dropout(0.3)
    y = drop(x).numpy()
    zero = y == 0
    assert abs(zero.mean() - 0.3) < 0.02
    np.testing.assert_allclose(y[~zero], x.numpy()[~zero] / 0.7, rtol=1e-6)
    np.testing.assert_array_equal(drop.eval()(x).numpy(), x.numpy())


# ---- init ----

def test_init_functions_follow_torch_semantics(rng):
    gen = pyllm.Generator(int(rng.integers(1 << 31)))
    w = pyllm.empty(300, 200)
    nn.init.normal_(w, mean=0.5, std=0.02, generator=gen)
    assert abs(w.numpy().mean() - 0.5) < 1e-3 and abs(w.numpy().std() - 0.02) < 1e-3
    nn.init.uniform_(w, -0.3, 0.1, generator=gen)
    assert w.numpy().min() >= -0.3 and w.numpy().max() < 0.1 and abs(w.numpy().mean() + 0.1) < 3e-3
    nn.init.xavier_uniform_(w, gain=2.0, generator=gen)
    bound = 2.0 * math.sqrt(6 / (200 + 300))
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.99 * bound
    for mode, fan in (("fan_in", 200), ("fan_out", 300)):
        nn.init.kaiming_uniform_(w, mode=mode, nonlinearity="relu", generator=gen)
        bound = math.sqrt(2) * math.sqrt(3 / fan)
        assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.99 * bound
    conv = pyllm.empty(4, 3, 5)  # fans count the receptive field, as torch
    assert nn.init._calculate_fan_in_and_fan_out(conv) == torch.nn.init._calculate_fan_in_and_fan_out(
        torch.empty(4, 3, 5))
    nn.init.zeros_(w)
    assert not w.numpy().any()
    nn.init.ones_(w)
    assert (w.numpy() == 1).all()
    for name, param in (("linear", None), ("relu", None), ("tanh", None), ("leaky_relu", None),
                        ("leaky_relu", 0.2), ("sigmoid", None), ("selu", None)):
        assert nn.init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_init_is_seeded_by_the_generator(rng):
    seed = int(rng.integers(1 << 31))
    a, b = pyllm.empty(5, 6), pyllm.empty(5, 6)
    nn.init.normal_(a, generator=pyllm.Generator(seed))
    nn.init.normal_(b, generator=pyllm.Generator(seed))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    pyllm.manual_seed(seed)
    l1 = nn.Linear(5, 4)
    pyllm.manual_seed(seed)
    l2 = nn.Linear(5, 4)
    np.testing.assert_array_equal(l1.weight.detach().numpy(), l2.weight.detach().numpy())


def test_init_errors():
    with pytest.raises(ValueError, match="at least 2 dims"):
        nn.init.xavier_uniform_(pyllm.empty(5))
    with pytest.raises(TypeError, match="floating-point"):
        nn.init.normal_(pyllm.zeros(3, dtype=pyllm.int64))
    with pytest.raises(ValueError, match="mode must be"):
        nn.init.kaiming_uniform_(pyllm.empty(3, 3), mode="fan")
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


# ---- attention vs torch.nn.MultiheadAttention ----

def _torch_mha_state(tm, E, prefix=""):
    w, b = tm.in_proj_weight if tm.in_proj_weight is not None else None, tm.in_proj_bias
    if w is None:  # kdim != embed_dim: separate q/k/v weights
        ws = [tm.q_proj_weight, tm.k_proj_weight, tm.v_proj_weight]
    else:
        ws = [w[:E], w[E:2 * E], w[2 * E:]]
    state = {f"{prefix}q_proj.weight": ws[0], f"{prefix}k_proj.weight": ws[1], f"{prefix}v_proj.weight": ws[2],
             f"{prefix}o_proj.weight": tm.out_proj.weight}
    if b is not None:
        state.update({f"{prefix}q_proj.bias": b[:E], f"{prefix}k_proj.bias": b[E:2 * E],
                      f"{prefix}v_proj.bias": b[2 * E:], f"{prefix}o_proj.bias": tm.out_proj.bias})
    return state


def _torch_mha_grads(tm, E):
    """Our parameter name -> torch's gradient for it (slices of the fused in_proj gradients)."""
    grads = {}
    if tm.in_proj_weight is not None:
        g = tm.in_proj_weight.grad
        grads.update({"q_proj.weight": g[:E], "k_proj.weight": g[E:2 * E], "v_proj.weight": g[2 * E:]})
    else:
        grads.update({"q_proj.weight": tm.q_proj_weight.grad, "k_proj.weight": tm.k_proj_weight.grad,
                      "v_proj.weight": tm.v_proj_weight.grad})
    if tm.in_proj_bias is not None:
        g = tm.in_proj_bias.grad
        grads.update({"q_proj.bias": g[:E], "k_proj.bias": g[E:2 * E], "v_proj.bias": g[2 * E:],
                      "o_proj.bias": tm.out_proj.bias.grad})
    grads["o_proj.weight"] = tm.out_proj.weight.grad
    return grads


def _check_mha_grads(mha, tm, E):
    ours = dict(mha.named_parameters())
    for name, g in _torch_mha_grads(tm, E).items():
        assert_close(ours[name].grad, g, rtol=1e-4, atol=2e-5)


def _random_torch_mha(rng, E, H, bias=True, kdim=None):
    tm = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=True, kdim=kdim, vdim=kdim)
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
    return tm


@pytest.mark.parametrize("mask", ["none", "causal", "padding", "causal+padding", "bool", "float", "float3d"])
def test_self_attention_matches_torch(rng, mask):
    B, T, E, H = 3, 7, 12, 3
    tm = _random_torch_mha(rng, E, H)
    mha = _from_torch(nn.MultiHeadAttention(E, H), _torch_mha_state(tm, E))
    x, tx = random_pair(rng, (B, T, E), requires_grad=True)
    kwargs, tkwargs = {}, {}
    if "causal" in mask:
        kwargs["is_causal"] = True
        tkwargs.update(attn_mask=torch.triu(torch.ones(T, T, dtype=torch.bool), 1), is_causal=True)
    if "padding" in mask:
        pad = np.zeros((B, T), dtype=bool)
        pad[0, -2:], pad[2, -3:] = True, True
        kwargs["key_padding_mask"], tkwargs["key_padding_mask"] = pyllm.tensor(pad), torch.from_numpy(pad)
    if mask == "bool":
        m = rng.random((T, T)) < 0.3
        np.fill_diagonal(m, False)  # every query keeps a key: torch gives NaN for fully masked rows
        kwargs["attn_mask"], tkwargs["attn_mask"] = pyllm.tensor(m), torch.from_numpy(m)
    if mask.startswith("float"):
        shape = (T, T) if mask == "float" else (B * H, T, T)
        m, tmask = random_pair(rng, shape)
        kwargs["attn_mask"], tkwargs["attn_mask"] = m, tmask
    y = mha(x, **kwargs)
    ty, _ = tm(tx, tx, tx, need_weights=False, **tkwargs)
    _grad_pair(rng, y, ty)
    _close_grads([(x, tx)], atol=2e-5)
    _check_mha_grads(mha, tm, E)


def test_cross_attention_matches_torch(rng):
    B, T, S, E, H, Ek = 2, 5, 8, 12, 4, 10
    tm = _random_torch_mha(rng, E, H, kdim=Ek)
    mha = _from_torch(nn.MultiHeadAttention(E, H, kdim=Ek), _torch_mha_state(tm, E))
    x, tx = random_pair(rng, (B, T, E), requires_grad=True)
    mem, tmem = random_pair(rng, (B, S, Ek), requires_grad=True)
    pad = np.zeros((B, S), dtype=bool)
    pad[1, -4:] = True
    y = mha(x, mem, key_padding_mask=pyllm.tensor(pad))
    ty, _ = tm(tx, tmem, tmem, key_padding_mask=torch.from_numpy(pad), need_weights=False)
    _grad_pair(rng, y, ty)
    _close_grads([(x, tx), (mem, tmem)], atol=2e-5)
    _check_mha_grads(mha, tm, E)


def test_attention_without_bias_matches_torch(rng):
    tm = _random_torch_mha(rng, 8, 2, bias=False)
    mha = _from_torch(nn.MultiHeadAttention(8, 2, bias=False), _torch_mha_state(tm, 8))
    x, tx = random_pair(rng, (2, 4, 8))
    assert_close(mha(x, is_causal=True), tm(tx, tx, tx, need_weights=False, is_causal=True,
                                            attn_mask=torch.triu(torch.ones(4, 4, dtype=torch.bool), 1))[0])


# ---- grouped-query attention and RoPE vs an independent torch version of Hugging Face's Llama attention ----

def _torch_rope(x, start, theta):
    """HF's LlamaRotaryEmbedding + apply_rotary_pos_emb, written out: x (B, H, T, D)."""
    D, T = x.shape[-1], x.shape[-2]
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
    pos = torch.arange(start, start + T, dtype=torch.float32)
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return x * emb.cos().to(x.dtype) + torch.cat((-x2, x1), dim=-1) * emb.sin().to(x.dtype)


def _torch_gqa_attention(x, wq, wk, wv, wo, H, Hkv, rope_theta=None, causal=True, pad=None):
    B, T, E = x.shape
    D = E // H
    q = (x @ wq.T).view(B, T, H, D).transpose(1, 2)
    k = (x @ wk.T).view(B, T, Hkv, D).transpose(1, 2)
    v = (x @ wv.T).view(B, T, Hkv, D).transpose(1, 2)
    if rope_theta is not None:
        q, k = _torch_rope(q, 0, rope_theta), _torch_rope(k, 0, rope_theta)
    k, v = k.repeat_interleave(H // Hkv, dim=1), v.repeat_interleave(H // Hkv, dim=1)  # HF's repeat_kv
    scores = q @ k.transpose(-1, -2) / math.sqrt(D)
    if causal:
        scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    if pad is not None:
        scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
    y = scores.softmax(-1) @ v
    return y.transpose(1, 2).reshape(B, T, E) @ wo.T


@pytest.mark.parametrize("Hkv,rope", [(1, False), (2, True), (4, True)])
def test_grouped_query_attention_with_rope_matches_torch(rng, Hkv, rope):
    B, T, E, H = 2, 6, 16, 4
    rotary = nn.RotaryEmbedding(E // H, rope_theta=500.0) if rope else None
    mha = nn.MultiHeadAttention(E, H, num_kv_heads=Hkv, bias=False, rotary=rotary)
    weights = {n: pair((rng.standard_normal(p.shape) * 0.3).astype(np.float32), requires_grad=True)
               for n, p in mha.named_parameters()}
    mha.load_state_dict({n: w[0].detach().numpy() for n, w in weights.items()})
    x, tx = random_pair(rng, (B, T, E), requires_grad=True)
    pad = np.zeros((B, T), dtype=bool)
    pad[1, -2:] = True
    y = mha(x, is_causal=True, key_padding_mask=pyllm.tensor(pad))
    tw = {n.split(".")[0]: w[1] for n, w in weights.items()}
    ty = _torch_gqa_attention(tx, tw["q_proj"], tw["k_proj"], tw["v_proj"], tw["o_proj"], H, Hkv,
                              500.0 if rope else None, pad=torch.from_numpy(pad))
    _grad_pair(rng, y, ty)
    _close_grads([(x, tx)] + [(p, weights[n][1]) for n, p in mha.named_parameters()], atol=3e-5)


@pytest.mark.parametrize("start", [0, 5])
def test_rotary_matches_hugging_face_llama(rng, start):
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb
    D, T, theta = 10, 7, 1234.0
    cfg = LlamaConfig(hidden_size=4 * D, num_attention_heads=4, rope_theta=theta, max_position_embeddings=64)
    hf = LlamaRotaryEmbedding(cfg)
    q, tq = random_pair(rng, (2, 4, T, D), requires_grad=True)
    k, tk = random_pair(rng, (2, 2, T, D))
    cos, sin = hf(tq, torch.arange(start, start + T)[None])
    tq_rot, tk_rot = apply_rotary_pos_emb(tq, tk, cos, sin)
    rope = nn.RotaryEmbedding(D, rope_theta=theta)
    assert_close(rope(k, start), tk_rot, atol=2e-5)
    _grad_pair(rng, rope(q, start), tq_rot)
    _close_grads([(q, tq)])


def test_sinusoidal_encoding_matches_the_paper(rng):
    d, n = 10, 50
    pos = np.arange(n)[:, None]
    i = np.arange(d // 2)[None, :]
    angle = pos / 10000 ** (2 * i / d)
    expected = np.empty((n, d))
    expected[:, 0::2], expected[:, 1::2] = np.sin(angle), np.cos(angle)
    positions = rng.integers(0, n, (3, 4))
    pe = nn.SinusoidalPositionalEncoding(d, max_len=n)
    np.testing.assert_allclose(pe(pyllm.tensor(positions)).numpy(), expected[positions], atol=1e-6)
    assert list(pe.state_dict()) == []  # a function of the config, not a weight


# ---- the KV cache: incremental results equal the full recompute ----

@pytest.mark.parametrize("Hkv,rope", [(4, False), (2, True)])
def test_kv_cache_equals_full_recompute(rng, Hkv, rope):
    B, T, E, H = 2, 9, 16, 4
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    mha = nn.MultiHeadAttention(E, H, num_kv_heads=Hkv, rotary=nn.RotaryEmbedding(E // H) if rope else None)
    x = pyllm.tensor(rng.standard_normal((B, T, E)).astype(np.float32))
    full = mha(x, is_causal=True).detach().numpy()
    cache = nn.KVCache()
    pieces, start = [], 0
    for length in (4, 1, 1, 3):  # a prompt, then tokens one by one, then a chunk
        pieces.append(mha(x[:, start:start + length], is_causal=True, kv_cache=cache).detach().numpy())
        start += length
    assert cache.seq_len == T
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, rtol=1e-5, atol=1e-5)


def test_cross_attention_cache_projects_the_context_once(rng):
    block = nn.TransformerBlock(8, 2, cross_attention=True)
    x = pyllm.tensor(rng.standard_normal((2, 5, 8)).astype(np.float32))
    mem = pyllm.tensor(rng.standard_normal((2, 6, 8)).astype(np.float32))
    full = block(x, mem, is_causal=True).detach().numpy()
    cache, cross = nn.KVCache(), nn.KVCache()
    steps = [block(x[:, t:t + 1], mem, is_causal=True, kv_cache=cache, cross_kv_cache=cross).detach().numpy()
             for t in range(5)]
    assert cross.seq_len == 6 and cache.seq_len == 5
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, rtol=1e-5, atol=1e-5)


def test_attention_causal_mask_is_bottom_right_aligned(rng):
    q, tq = random_pair(rng, (1, 2, 3, 4))
    k, tk = random_pair(rng, (1, 2, 5, 4))
    allowed = torch.ones(3, 5, dtype=torch.bool).tril(diagonal=2)
    assert_close(nn.attention(q, k, k, is_causal=True), TF.scaled_dot_product_attention(tq, tk, tk, attn_mask=allowed))


def test_gradcheck_small_attention_layer(rng):
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    mha = nn.MultiHeadAttention(8, 4, num_kv_heads=2, rotary=nn.RotaryEmbedding(2)).double()
    params = list(mha.parameters())
    x = pyllm.tensor(rng.standard_normal((2, 4, 8)), dtype=pyllm.float64, requires_grad=True)
    pad = pyllm.tensor(np.array([[False] * 4, [False, False, False, True]]))

    def fn(x, *weights):
        return mha(x, is_causal=True, key_padding_mask=pad)

    assert gradcheck(fn, [x] + params)


# ---- feed-forward layers and blocks ----

def test_mlp_and_swiglu_match_torch(rng):
    x, tx = random_pair(rng, (2, 3, 6), requires_grad=True)
    mlp = nn.MLP(6, 10, activation=nn.GELU("tanh"))
    w = {n: random_pair(rng, tuple(p.shape), requires_grad=True) for n, p in mlp.named_parameters()}
    mlp.load_state_dict({n: p[0].detach().numpy() for n, p in w.items()})
    t = {n: p[1] for n, p in w.items()}
    ty = TF.linear(TF.gelu(TF.linear(tx, t["c_fc.weight"], t["c_fc.bias"]), approximate="tanh"),
                   t["c_proj.weight"], t["c_proj.bias"])
    _grad_pair(rng, mlp(x), ty)
    _close_grads([(x, tx)] + [(p, w[n][1]) for n, p in mlp.named_parameters()])

    x, tx = random_pair(rng, (2, 3, 6), requires_grad=True)
    sw = nn.SwiGLU(6, 10)
    w = {n: random_pair(rng, tuple(p.shape), requires_grad=True) for n, p in sw.named_parameters()}
    sw.load_state_dict({n: p[0].detach().numpy() for n, p in w.items()})
    t = {n.split(".")[0]: p[1] for n, p in w.items()}
    ty = (TF.silu(tx @ t["gate_proj"].T) * (tx @ t["up_proj"].T)) @ t["down_proj"].T
    _grad_pair(rng, sw(x), ty)
    _close_grads([(x, tx)] + [(p, w[n][1]) for n, p in sw.named_parameters()])


def _randomize_torch(rng, module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
    return module


def _block_state_from_torch(tl, decoder):
    state = {**_torch_mha_state(tl.self_attn, tl.self_attn.embed_dim, "attn."),
             "mlp.c_fc.weight": tl.linear1.weight, "mlp.c_fc.bias": tl.linear1.bias,
             "mlp.c_proj.weight": tl.linear2.weight, "mlp.c_proj.bias": tl.linear2.bias,
             "ln_1.weight": tl.norm1.weight, "ln_1.bias": tl.norm1.bias}
    last = tl.norm3 if decoder else tl.norm2
    state.update({"ln_2.weight": last.weight, "ln_2.bias": last.bias})
    if decoder:
        state.update(_torch_mha_state(tl.multihead_attn, tl.multihead_attn.embed_dim, "cross_attn."))
        state.update({"ln_cross.weight": tl.norm2.weight, "ln_cross.bias": tl.norm2.bias})
    return state


@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_block_matches_torch(rng, norm_first):
    E, H, F_ = 12, 3, 20
    tl = _randomize_torch(rng, torch.nn.TransformerEncoderLayer(E, H, F_, dropout=0.0, activation="gelu",
                                                                batch_first=True, norm_first=norm_first))
    block = _from_torch(nn.TransformerBlock(E, H, F_, norm_first=norm_first), _block_state_from_torch(tl, False))
    x, tx = random_pair(rng, (2, 6, E), requires_grad=True)
    pad = np.zeros((2, 6), dtype=bool)
    pad[0, -2:] = True
    y = block(x, key_padding_mask=pyllm.tensor(pad))
    ty = tl(tx, src_key_padding_mask=torch.from_numpy(pad))
    _grad_pair(rng, y, ty)
    _close_grads([(x, tx), (block.ln_1.weight, tl.norm1.weight), (block.mlp.c_fc.weight, tl.linear1.weight)],
                 atol=3e-5)


@pytest.mark.parametrize("norm_first", [True, False])
def test_decoder_block_with_cross_attention_matches_torch(rng, norm_first):
    E, H, F_ = 12, 3, 20
    tl = _randomize_torch(rng, torch.nn.TransformerDecoderLayer(E, H, F_, dropout=0.0, activation="gelu",
                                                                batch_first=True, norm_first=norm_first))
    block = _from_torch(nn.TransformerBlock(E, H, F_, norm_first=norm_first, cross_attention=True),
                        _block_state_from_torch(tl, True))
    x, tx = random_pair(rng, (2, 5, E), requires_grad=True)
    mem, tmem = random_pair(rng, (2, 7, E), requires_grad=True)
    pad = np.zeros((2, 7), dtype=bool)
    pad[1, -3:] = True
    y = block(x, mem, is_causal=True, memory_key_padding_mask=pyllm.tensor(pad))
    ty = tl(tx, tmem, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(5), tgt_is_causal=True,
            memory_key_padding_mask=torch.from_numpy(pad))
    _grad_pair(rng, y, ty)
    _close_grads([(x, tx), (mem, tmem), (block.ln_cross.weight, tl.norm2.weight)], atol=3e-5)
    _check_mha_grads(block.cross_attn, tl.multihead_attn, E)


# ---- errors ----

def test_shape_and_argument_errors():
    mha = nn.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"expected x of shape \(B, T, 8\), got \(2, 3, 6\)"):
        mha(pyllm.randn(2, 3, 6))
    with pytest.raises(ValueError, match="expected context of shape"):
        mha(pyllm.randn(2, 3, 8), pyllm.randn(3, 4, 8))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 4\) does not fit 3 queries and 3 keys"):
        mha(pyllm.randn(2, 3, 8), attn_mask=pyllm.zeros(3, 4))
    with pytest.raises(ValueError, match=r"key_padding_mask must be a bool \(B, Tk\) = \(2, 3\)"):
        mha(pyllm.randn(2, 3, 8), key_padding_mask=pyllm.zeros(2, 4).bool())
    with pytest.raises(ValueError, match="is not divisible by num_heads"):
        nn.MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match="not a multiple of num_kv_heads"):
        nn.MultiHeadAttention(12, 4, num_kv_heads=3)
    with pytest.raises(ValueError, match="self-attention only"):
        nn.MultiHeadAttention(8, 2, rotary=nn.RotaryEmbedding(4))(pyllm.randn(1, 2, 8), pyllm.randn(1, 3, 8))
    with pytest.raises(ValueError, match="rotary head_dim 8 != head_dim 4"):
        nn.MultiHeadAttention(8, 2, rotary=nn.RotaryEmbedding(8))
    with pytest.raises(ValueError, match="more queries"):
        nn.attention(pyllm.randn(1, 1, 4, 2), pyllm.randn(1, 1, 3, 2), pyllm.randn(1, 1, 3, 2), is_causal=True)
    with pytest.raises(ValueError, match=r"Linear: expected input with last dim 4, got shape \(2, 5\)"):
        nn.Linear(4, 3)(pyllm.randn(2, 5))
    with pytest.raises(ValueError, match=r"LayerNorm: expected input whose last dims are \(4,\), got shape \(2, 5\)"):
        nn.LayerNorm(4)(pyllm.randn(2, 5))
    with pytest.raises(ValueError, match=r"RMSNorm: expected input whose last dims are \(3, 4\)"):
        nn.RMSNorm((3, 4))(pyllm.randn(4))
    with pytest.raises(ValueError, match="padding_idx 5 is out of range for 5"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="must be even"):
        nn.RotaryEmbedding(5)
    with pytest.raises(ValueError, match="must be even"):
        nn.SinusoidalPositionalEncoding(7)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="memory must be given exactly when"):
        nn.TransformerBlock(8, 2)(pyllm.randn(1, 2, 8), pyllm.randn(1, 2, 8))
    cache = nn.KVCache()
    cache.update(pyllm.randn(1, 2, 3, 4), pyllm.randn(1, 2, 3, 4))
    with pytest.raises(ValueError, match="do not continue cached keys"):
        cache.update(pyllm.randn(1, 1, 1, 4), pyllm.randn(1, 1, 1, 4))
