"""The BERT-style Encoder against Hugging Face's BertModel / BertForSequenceClassification built offline from a
small random config (odd sizes) with the same weights copied by name: hidden states, the pooler, mean pooling
and normalisation (against an independent torch computation), the classification head, every gradient."""
import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel

import pyllm
from pyllm.models import Encoder, EncoderConfig

SIZES = dict(vocab_size=101, hidden_size=45, num_hidden_layers=2, num_attention_heads=5, intermediate_size=53,
             max_position_embeddings=40, type_vocab_size=3)


def make_pair(rng, num_labels=None, **kw):
    torch.manual_seed(int(rng.integers(1 << 31)))
    hf_config = BertConfig(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.2,
                           attn_implementation="eager", **SIZES, **({"num_labels": num_labels} if num_labels else {}))
    hf = (BertForSequenceClassification(hf_config) if num_labels else BertModel(hf_config)).eval()
    ours = Encoder(EncoderConfig(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=num_labels,
                                 **SIZES, **kw), verbose=False)
    with torch.no_grad():  # HF starts LayerNorms at 1 and 0: make them random too, so a swap would show
        for name, p in hf.named_parameters():
            if "LayerNorm" in name:
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
    state = {k.removeprefix("bert."): v.numpy() for k, v in hf.state_dict().items()}
    missing, unexpected = ours.load_state_dict(state, strict=False)
    assert missing == [] and unexpected == [], (missing, unexpected)
    return hf, ours


def batch(rng, lengths):
    T = max(lengths)
    ids = rng.integers(1, SIZES["vocab_size"], (len(lengths), T))
    mask = (np.arange(T) < np.array(lengths)[:, None]).astype(np.int64)
    ids[mask == 0] = 0
    types = rng.integers(0, SIZES["type_vocab_size"], ids.shape)
    return ids, mask, types


def test_hidden_states_pooler_and_gradients_match_bert(rng):
    hf, ours = make_pair(rng)
    ids, mask, types = batch(rng, [9, 4, 13])
    hidden, pooled = ours(*(pyllm.tensor(a) for a in (ids, mask, types)))
    out = hf(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
             token_type_ids=torch.from_numpy(types))
    np.testing.assert_allclose(hidden.detach().numpy(), out.last_hidden_state.detach().numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(pooled.detach().numpy(), out.pooler_output.detach().numpy(), atol=1e-4, rtol=0)
    # gradients of a random linear function of both outputs, real positions only
    w_h = (rng.standard_normal(hidden.shape) * mask[:, :, None]).astype(np.float32)
    w_p = rng.standard_normal(pooled.shape).astype(np.float32)
    ((hidden * pyllm.tensor(w_h)).sum() + (pooled * pyllm.tensor(w_p)).sum()).backward()
    ((out.last_hidden_state * torch.from_numpy(w_h)).sum() + (out.pooler_output * torch.from_numpy(w_p)).sum()).backward()
    hf_params = dict(hf.named_parameters())
    assert sorted(n for n, _ in ours.named_parameters()) == sorted(hf_params)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), hf_params[name].grad.numpy(), atol=1e-4, rtol=1e-3, err_msg=name)


@pytest.mark.parametrize("normalize", [False, True])
def test_mean_pooling_of_real_tokens(rng, normalize):
    hf, ours = make_pair(rng, pooling="mean", normalize=normalize)
    ids, mask, _ = batch(rng, [6, 11, 2])
    with pyllm.no_grad():
        _, pooled = ours(pyllm.tensor(ids), pyllm.tensor(mask))
    with torch.no_grad():
        h = hf(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state.double()
    m = torch.from_numpy(mask).double()[:, :, None]
    expected = (h * m).sum(1) / m.sum(1)      # sentence-transformers' mean pooling
    if normalize:
        expected = torch.nn.functional.normalize(expected, dim=-1)
        np.testing.assert_allclose(np.linalg.norm(pooled.numpy(), axis=-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(pooled.numpy(), expected.numpy(), atol=1e-4, rtol=0)


def test_classification_head_matches_bert_for_sequence_classification(rng):
    hf, ours = make_pair(rng, num_labels=4)
    ids, mask, types = batch(rng, [5, 12])
    labels = rng.integers(0, 4, 2)
    logits, loss = ours.classify(*(pyllm.tensor(a) for a in (ids, mask, types)), labels=pyllm.tensor(labels))
    out = hf(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
             token_type_ids=torch.from_numpy(types), labels=torch.from_numpy(labels))
    np.testing.assert_allclose(logits.detach().numpy(), out.logits.detach().numpy(), atol=1e-4, rtol=0)
    assert abs(loss.item() - out.loss.item()) < 1e-5
    loss.backward()
    out.loss.backward()
    hf_grads = {k.removeprefix("bert."): p.grad for k, p in hf.named_parameters()}
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), hf_grads[name].numpy(), atol=1e-5, rtol=1e-3, err_msg=name)


def test_parameter_count_and_errors(rng, capsys):
    model = Encoder(EncoderConfig(**SIZES))
    assert capsys.readouterr().out == f"number of parameters: {model.num_parameters() / 1e6:.2f}M\n"
    assert model.num_parameters() == sum(p.numel() for p in BertModel(BertConfig(**SIZES)).parameters())
    with pytest.raises(ValueError, match="pooling must be 'cls' or 'mean'"):
        EncoderConfig(pooling="max")
    with pytest.raises(ValueError, match="pooling='cls' needs add_pooling_layer=True"):
        EncoderConfig(add_pooling_layer=False)
    with pytest.raises(ValueError, match="hidden_size 45 is not divisible by num_attention_heads 4"):
        EncoderConfig(**{**SIZES, "num_attention_heads": 4})
    ids = pyllm.tensor(rng.integers(0, 101, (2, 6)))
    with pytest.raises(ValueError, match=r"attention_mask of shape \(2, 5\) does not match input_ids \(2, 6\)"):
        model(ids, pyllm.tensor(np.ones((2, 5), np.int64)))
    with pytest.raises(ValueError, match="longer than max_position_embeddings"):
        model(pyllm.tensor(rng.integers(0, 101, (1, 41))))
    with pytest.raises(ValueError, match="classify needs a classification head"):
        model.classify(ids)
