"""nn.Module / Parameter / containers: names, state dicts and modes as torch.nn gives them."""
import numpy as np
import pytest
import torch

import pyllm
from pyllm import nn


class Block(nn.Module):
    def __init__(self, rng, d):
        super().__init__()
        self.w = nn.Parameter(pyllm.from_numpy(rng.standard_normal((d, d)).astype(np.float32)))
        self.b = nn.Parameter(pyllm.from_numpy(rng.standard_normal(d).astype(np.float32)))
        self.register_buffer("mask", pyllm.from_numpy(rng.standard_normal(d).astype(np.float32)))
        self.register_buffer("cache", pyllm.ones(d), persistent=False)

    def forward(self, x):
        return pyllm.nn.functional.linear(x, self.w, self.b) * self.mask


class Net(nn.Module):
    def __init__(self, rng, d=3, n=2):
        super().__init__()
        self.emb = nn.Parameter(pyllm.from_numpy(rng.standard_normal((5, d)).astype(np.float32)))
        self.h = nn.ModuleList([Block(rng, d) for _ in range(n)])
        self.head = nn.ModuleDict({"proj": Block(rng, d)})
        self.head_weight = self.emb  # tied, as GPT-2's lm_head to wte

    def forward(self, x):
        for block in self.h:
            x = block(x)
        return self.head["proj"](x)


class TorchBlock(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(d, d))
        self.b = torch.nn.Parameter(torch.randn(d))
        self.register_buffer("mask", torch.randn(d))
        self.register_buffer("cache", torch.ones(d), persistent=False)


class TorchNet(torch.nn.Module):
    def __init__(self, d=3, n=2):
        super().__init__()
        self.emb = torch.nn.Parameter(torch.randn(5, d))
        self.h = torch.nn.ModuleList([TorchBlock(d) for _ in range(n)])
        self.head = torch.nn.ModuleDict({"proj": TorchBlock(d)})
        self.head_weight = self.emb


def test_names_match_torch(rng):
    ours, theirs = Net(rng), TorchNet()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())  # tied names twice, no non-persistent buffer
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters())


def test_load_torch_state_dict_and_forward(rng):
    ours, theirs = Net(rng), TorchNet()
    missing, unexpected = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert missing == [] and unexpected == []
    for name, t in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name].numpy(), t.numpy())
    x = rng.standard_normal((4, 3)).astype(np.float32)
    expected = torch.from_numpy(x)
    for block in list(theirs.h) + [theirs.head["proj"]]:
        expected = (expected @ block.w.T + block.b) * block.mask
    np.testing.assert_allclose(ours(pyllm.from_numpy(x)).detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_state_dict_shares_storage_and_detaches(rng):
    net = Net(rng)
    sd = net.state_dict()
    assert not sd["emb"].requires_grad
    assert sd["emb"].data_ptr() == net.emb.data_ptr() == sd["head_weight"].data_ptr()


def test_strict_loading_lists_missing_and_unexpected_keys(rng):
    net = Net(rng)
    sd = dict(net.state_dict())
    del sd["h.1.b"]
    sd["h.7.w"] = pyllm.zeros(3, 3)
    with pytest.raises(KeyError, match=r"missing keys \(1\): h\.1\.b[\s\S]*unexpected keys \(1\): h\.7\.w"):
        net.load_state_dict(sd)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["h.1.b"] and unexpected == ["h.7.w"]


def test_shape_mismatch_names_the_tensor_and_writes_nothing(rng):
    net = Net(rng)
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    sd = {k: pyllm.from_numpy(rng.standard_normal(tuple(v.shape)).astype(np.float32))
          for k, v in net.state_dict().items()}
    sd["h.1.w"] = pyllm.randn(3, 4)
    with pytest.raises(ValueError, match=r"'h\.1\.w' has shape \(3, 4\) in the state dict but \(3, 3\)"):
        net.load_state_dict(sd)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    with pytest.raises(TypeError, match="'emb' is a list"):
        net.load_state_dict({**sd, "h.1.w": pyllm.randn(3, 3), "emb": [[1.0]]})


def test_load_converts_dtype(rng):
    net = Net(rng)
    sd = {k: rng.standard_normal(tuple(v.shape)) for k, v in net.state_dict().items()}  # float64 arrays
    net.load_state_dict(sd)
    np.testing.assert_allclose(net.h[0].w.detach().numpy(), sd["h.0.w"].astype(np.float32))
    assert net.h[0].w.dtype == pyllm.float32


def test_load_with_assign_adopts_the_tensors_and_keeps_ties(rng):
    """As torch's load_state_dict(assign=True), except that a tied parameter stays one parameter (torch
    gives each name its own)."""
    ours = Net(rng)
    sd = {k: pyllm.from_numpy(rng.standard_normal(tuple(v.shape)).astype(np.float32))
          for k, v in ours.state_dict().items()}
    sd["head_weight"] = sd["emb"]
    ours.load_state_dict(sd, assign=True)
    for name, p in ours.named_parameters():
        assert isinstance(p, nn.Parameter) and p.requires_grad
        assert p.data_ptr() == sd[name].data_ptr()  # no copy
    assert ours.head_weight is ours.emb
    assert ours.h[1].mask.data_ptr() == sd["h.1.mask"].data_ptr()
    x = rng.standard_normal((4, 3)).astype(np.float32)
    (ours(pyllm.from_numpy(x)) ** 2).sum().backward()
    assert ours.h[0].w.grad is not None and sd["h.0.w"].grad is None
    ours.load_state_dict({**sd, "h.0.b": sd["h.0.b"].double()}, assign=True)
    assert ours.h[0].b.dtype == pyllm.float64  # the state dict's dtype, as torch's assign=True


def test_gradients_reach_parameters_and_zero_grad(rng):
    net = Net(rng)
    x = pyllm.from_numpy(rng.standard_normal((4, 3)).astype(np.float32))
    net(x).sum().backward()
    assert all(p.grad is not None for n, p in net.named_parameters() if n != "emb")
    assert net.emb.grad is None  # unused in forward
    net.zero_grad(set_to_none=False)
    assert all(float(abs(p.grad).sum()) == 0.0 for n, p in net.named_parameters() if n != "emb")
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_eval_reach_every_module(rng):
    net = Net(rng)
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_to_float64_keeps_ties_and_values(rng):
    net = Net(rng)
    before = net.h[0].w.detach().numpy().copy()
    net.to(pyllm.float64)
    assert all(p.dtype == pyllm.float64 for p in net.parameters())
    assert all(b.dtype == pyllm.float64 for b in net.buffers())
    assert net.emb is net.head_weight and isinstance(net.emb, nn.Parameter) and net.emb.requires_grad
    np.testing.assert_array_equal(net.h[0].w.detach().numpy(), before.astype(np.float64))
    with pytest.raises(RuntimeError, match="no CUDA backend"):
        net.to("cuda")


def test_assignment_rules(rng):
    net = Net(rng)
    with pytest.raises(TypeError, match="to parameter 'emb'"):
        net.emb = pyllm.zeros(5, 3)  # a plain tensor would silently stop being trained
    with pytest.raises(TypeError, match="to buffer 'mask'"):
        net.h[0].mask = np.zeros(3)
    net.h[0].mask = pyllm.ones(3)
    assert "h.0.mask" in net.state_dict()
    net.emb = None
    assert "emb" not in dict(net.named_parameters()) and net.emb is None
    del net.head
    assert not hasattr(net, "head")

    class Early(nn.Module):
        def __init__(self):
            self.w = 1

    with pytest.raises(AttributeError, match=r"call super\(\)\.__init__\(\) before assigning .w."):
        Early()


def test_containers():
    blocks = nn.ModuleList([nn.Sequential(), nn.Sequential()])
    assert len(blocks) == 2 and blocks[-1] is blocks[1]
    with pytest.raises(IndexError, match="index 2 is out of range for 2 modules"):
        blocks[2]
    double = nn.Sequential(Lambda(lambda x: x * 2), Lambda(lambda x: x + 1))
    assert double(pyllm.tensor([1.0, 2.0])).tolist() == [3.0, 5.0]
    assert "(0): Lambda()" in repr(double)


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_forward_hooks_see_and_replace_outputs(rng):
    net = Net(rng)
    x = pyllm.from_numpy(rng.standard_normal((4, 3)).astype(np.float32))
    seen = []
    handle = net.h[1].register_forward_hook(lambda m, args, out: seen.append((m, args[0], out)))
    y = net(x)
    assert len(seen) == 1 and seen[0][0] is net.h[1]
    np.testing.assert_array_equal(seen[0][1].detach().numpy(), net.h[0](x).detach().numpy())  # its input
    with net.h[1].register_forward_hook(lambda m, args, out: out * 0):  # a replacement flows on
        np.testing.assert_array_equal(net(x).detach().numpy(), net.head["proj"](pyllm.zeros(4, 3)).detach().numpy())
    handle.remove()
    np.testing.assert_array_equal(net(x).detach().numpy(), y.detach().numpy())
    assert len(seen) == 2  # removed: the third call went unseen
