"""GPT and Llama against Hugging Face's GPT2LMHeadModel and LlamaForCausalLM built offline from small random
configs (odd sizes), with the same weights copied by name: logits, loss, every parameter's gradient, a few
AdamW steps, the KV cache, parameter counts and errors."""
import numpy as np
import pytest
import torch

import pyllm
from pyllm.models import GPT, GPTConfig, Llama, LlamaConfig
from hf_pairs import hf_name_to_ours, make_gpt_pair, make_llama_pair


def _batch(rng, vocab, B=3, T=11):
    ids = rng.integers(0, vocab, (B, T))
    return ids, pyllm.tensor(ids), torch.from_numpy(ids)


def _targets(ids):
    """Our targets: the next token at each position, -100 (no loss) at the last one -- HF shifts labels
    inside the model, so HF(labels=ids) averages over the same positions."""
    t = np.full_like(ids, -100)
    t[:, :-1] = ids[:, 1:]
    return pyllm.tensor(t)


@pytest.mark.parametrize("arch", ["gpt", "llama", "llama-tied"])
def test_logits_loss_and_gradients_match_hugging_face(rng, arch):
    hf, ours = make_gpt_pair(rng) if arch == "gpt" else make_llama_pair(rng, tie=arch == "llama-tied")
    ids, x, tx = _batch(rng, 1001)
    logits, loss = ours(x, targets=_targets(ids))
    out = hf(input_ids=tx, labels=tx)
    np.testing.assert_allclose(logits.detach().numpy(), out.logits.detach().numpy(), atol=1e-4, rtol=0)
    assert abs(loss.item() - out.loss.item()) < 1e-5
    loss.backward()
    out.loss.backward()
    hf_params = dict(hf.named_parameters())
    for name, p in ours.named_parameters():
        expected = hf_name_to_ours(name, hf_params[name].grad, "gpt" if arch == "gpt" else "llama")
        np.testing.assert_allclose(p.grad.numpy(), expected.numpy(), atol=1e-4, rtol=1e-3, err_msg=name)


@pytest.mark.parametrize("arch", ["gpt", "llama"])
def test_adamw_steps_give_torchs_losses(rng, arch):
    hf, ours = make_gpt_pair(rng) if arch == "gpt" else make_llama_pair(rng)
    hf.train()  # dropout is 0; train mode as a training loop would be
    opt = pyllm.optim.AdamW(ours.parameters(), lr=3e-3, weight_decay=0.1)
    topt = torch.optim.AdamW(hf.parameters(), lr=3e-3, weight_decay=0.1)
    for _ in range(4):
        ids, x, tx = _batch(rng, 1001, B=2, T=9)
        _, loss = ours(x, targets=_targets(ids))
        tloss = hf(input_ids=tx, labels=tx).loss
        assert abs(loss.item() - tloss.item()) < 1e-4
        opt.zero_grad()
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss.backward()
        topt.step()


@pytest.mark.parametrize("arch", ["gpt", "llama"])
def test_kv_cache_forward_equals_full_forward(rng, arch):
    _, ours = make_gpt_pair(rng) if arch == "gpt" else make_llama_pair(rng)
    ids, x, _ = _batch(rng, 1001, B=2, T=10)
    with pyllm.no_grad():
        full = ours(x)[0].numpy()
        cache = ours.new_kv_cache()
        parts = [ours(pyllm.tensor(ids[:, s:e]), kv_cache=cache)[0].numpy() for s, e in ((0, 6), (6, 7), (7, 10))]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=2e-5, rtol=1e-5)


def test_parameter_counts_and_the_printed_line(rng, capsys):
    hf, _ = make_gpt_pair(rng)
    model = GPT(GPTConfig(block_size=32, vocab_size=1001, n_layer=2, n_head=3, n_embd=72))
    total = sum(p.numel() for p in hf.parameters())  # torch counts the tied head once, as we do
    assert model.get_num_params(non_embedding=False) == model.num_parameters() == total
    assert capsys.readouterr().out == f"number of parameters: {(total - 32 * 72) / 1e6:.2f}M\n"
    for tie in (False, True):
        hf, ours = make_llama_pair(rng, tie=tie)
        assert ours.num_parameters() == sum(p.numel() for p in hf.parameters())
    assert ours.lm_head.weight is ours.model.embed_tokens.weight


def test_gpt_init_follows_nanogpt(rng):
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    model = GPT(GPTConfig(block_size=64, vocab_size=500, n_layer=8, n_head=4, n_embd=128), verbose=False)
    sd = model.state_dict()
    assert abs(sd["transformer.wte.weight"].numpy().std() - 0.02) < 1e-3
    assert abs(sd["transformer.h.3.attn.c_attn.weight"].numpy().std() - 0.02) < 1e-3
    assert abs(sd["transformer.h.3.mlp.c_proj.weight"].numpy().std() - 0.02 / 4) < 3e-4  # / sqrt(2 * 8)
    assert not sd["transformer.h.3.attn.c_attn.bias"].numpy().any()
    assert (sd["transformer.ln_f.weight"].numpy() == 1).all()
    assert model.lm_head.weight is model.transformer.wte.weight


def test_model_errors(rng):
    _, gpt = make_gpt_pair(rng, block_size=8)
    with pytest.raises(ValueError, match="cannot forward a sequence of length 9, block_size is only 8"):
        gpt(pyllm.zeros(1, 9, dtype=pyllm.int64))
    with pytest.raises(ValueError, match=r"idx must be integer token ids of shape \(B, T\)"):
        gpt(pyllm.zeros(1, 4))
    with pytest.raises(ValueError, match="kv_cache has 1 entries for 2 layers"):
        gpt(pyllm.zeros(1, 4, dtype=pyllm.int64), kv_cache=[pyllm.nn.KVCache()])
    with pytest.raises(ValueError, match="n_embd 10 is not divisible by n_head 3"):
        GPT(GPTConfig(n_embd=10, n_head=3, n_layer=1, vocab_size=5, block_size=4), verbose=False)
    with pytest.raises(ValueError, match="not a multiple of num_kv_heads"):
        Llama(LlamaConfig(vocab_size=5, hidden_size=16, intermediate_size=8, num_hidden_layers=1,
                          num_attention_heads=4, num_key_value_heads=3), verbose=False)


def test_dropout_is_active_in_training_mode_only(rng):
    seed = int(rng.integers(1 << 31))
    config = dict(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=16)
    pyllm.manual_seed(seed)
    plain = GPT(GPTConfig(**config), verbose=False)
    pyllm.manual_seed(seed)
    dropped = GPT(GPTConfig(dropout=0.3, **config), verbose=False)  # same init draws, so the same weights
    x = pyllm.tensor(rng.integers(0, 50, (2, 10)))
    with pyllm.no_grad():
        reference = plain(x)[0].numpy()
        np.testing.assert_array_equal(dropped.eval()(x)[0].numpy(), reference)
        dropped.train()
        pyllm.manual_seed(seed)
        a = dropped(x)[0].numpy()
        pyllm.manual_seed(seed)
        b = dropped(x)[0].numpy()
    np.testing.assert_array_equal(a, b)  # drawn from pyllm's generator
    assert np.abs(a - reference).max() > 1e-3
