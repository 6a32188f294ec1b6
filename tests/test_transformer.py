"""The encoder-decoder Transformer against torch.nn.TransformerEncoder/Decoder holding the same weights (logits,
loss, every gradient; post-LN and pre-LN; shared and separate vocabularies), its KV cache and padding
invariance, and greedy/beam search against Hugging Face's MarianMTModel.generate on copied weights and against
an exhaustive search over every output of a tiny vocabulary."""
import itertools

import numpy as np
import pytest
import torch

import pyllm
from pyllm.beam_search import _beam, _greedy
from pyllm.models import Transformer, TransformerConfig


def small_config(**kw):
    base = dict(vocab_size=53, d_model=24, encoder_layers=2, decoder_layers=2, encoder_attention_heads=3,
                decoder_attention_heads=3, encoder_ffn_dim=40, decoder_ffn_dim=36, max_position_embeddings=40,
                dropout=0.0)
    return TransformerConfig(**{**base, **kw})


def make_model(rng, **kw):
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    return Transformer(small_config(**kw), verbose=False)


def padded(rng, lengths, vocab, pad):
    """Random ids (B, max(lengths)) with random junk after each row's length, and the bool padding mask."""
    ids = rng.integers(3, vocab, (len(lengths), max(lengths)))
    mask = np.arange(ids.shape[1]) >= np.array(lengths)[:, None]
    return ids, mask


def sinusoids(T, d):
    """The paper's table, computed independently: pe[p, 2i] = sin(p / 10000^(2i/d)), pe[p, 2i+1] = cos(...)."""
    pe = np.zeros((T, d))
    for p in range(T):
        for i in range(0, d, 2):
            pe[p, i] = np.sin(p / 10000 ** (i / d))
            pe[p, i + 1] = np.cos(p / 10000 ** (i / d))
    return torch.tensor(pe, dtype=torch.float32)


class TorchReference(torch.nn.Module):
    """torch.nn.TransformerEncoder/Decoder (torch's post-LN or norm_first layers) with our weights copied in."""

    def __init__(self, ours):
        super().__init__()
        c = ours.config
        T = torch.nn
        kw = dict(dropout=0.0, activation="relu", batch_first=True, norm_first=c.normalize_before,
                  layer_norm_eps=c.layer_norm_eps)
        enc = T.TransformerEncoderLayer(c.d_model, c.encoder_attention_heads, c.encoder_ffn_dim, **kw)
        dec = T.TransformerDecoderLayer(c.d_model, c.decoder_attention_heads, c.decoder_ffn_dim, **kw)
        final = (lambda: T.LayerNorm(c.d_model, eps=c.layer_norm_eps)) if c.normalize_before else (lambda: None)
        self.encoder = T.TransformerEncoder(enc, c.encoder_layers, norm=final(), enable_nested_tensor=False)
        self.decoder = T.TransformerDecoder(dec, c.decoder_layers, norm=final())
        m = ours.model
        t = lambda p: T.Parameter(torch.tensor(p.detach().numpy()))  # noqa: E731
        self.src_embed = t(m.encoder.embed_tokens.weight)
        self.tgt_embed = self.src_embed if c.shared_vocab else t(m.decoder.embed_tokens.weight)
        self.scale = c.d_model ** 0.5
        with torch.no_grad():
            for ref, mine in zip(self.encoder.layers, m.encoder.layers):
                self._copy_attn(ref.self_attn, mine.self_attn)
                self._copy(ref, mine, [("linear1", "fc1"), ("linear2", "fc2"), ("norm1", "self_attn_layer_norm"),
                                       ("norm2", "final_layer_norm")])
            for ref, mine in zip(self.decoder.layers, m.decoder.layers):
                self._copy_attn(ref.self_attn, mine.self_attn)
                self._copy_attn(ref.multihead_attn, mine.encoder_attn)
                self._copy(ref, mine, [("linear1", "fc1"), ("linear2", "fc2"), ("norm1", "self_attn_layer_norm"),
                                       ("norm2", "encoder_attn_layer_norm"), ("norm3", "final_layer_norm")])
            if c.normalize_before:
                self._copy(self.encoder, m.encoder, [("norm", "layer_norm")])
                self._copy(self.decoder, m.decoder, [("norm", "layer_norm")])

    @staticmethod
    def _copy_attn(ref, mine):
        ref.in_proj_weight.copy_(torch.cat([torch.tensor(getattr(mine, n).weight.detach().numpy()) for n in
                                            ("q_proj", "k_proj", "v_proj")]))
        ref.in_proj_bias.copy_(torch.cat([torch.tensor(getattr(mine, n).bias.detach().numpy()) for n in
                                          ("q_proj", "k_proj", "v_proj")]))
        ref.out_proj.weight.copy_(torch.tensor(mine.out_proj.weight.detach().numpy()))
        ref.out_proj.bias.copy_(torch.tensor(mine.out_proj.bias.detach().numpy()))

    @staticmethod
    def _copy(ref_parent, mine_parent, names):
        for ref_name, my_name in names:
            ref, mine = getattr(ref_parent, ref_name), getattr(mine_parent, my_name)
            ref.weight.copy_(torch.tensor(mine.weight.detach().numpy()))
            ref.bias.copy_(torch.tensor(mine.bias.detach().numpy()))

    def forward(self, src, tgt_in, src_pad, tgt_pad):
        d = self.src_embed.shape[1]
        x = torch.nn.functional.embedding(src, self.src_embed) * self.scale + sinusoids(src.shape[1], d)
        y = torch.nn.functional.embedding(tgt_in, self.tgt_embed) * self.scale + sinusoids(tgt_in.shape[1], d)
        memory = self.encoder(x, src_key_padding_mask=src_pad)
        causal = torch.ones(tgt_in.shape[1], tgt_in.shape[1], dtype=torch.bool).triu(1)  # True = not allowed
        out = self.decoder(y, memory, tgt_mask=causal, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        return out @ self.tgt_embed.T

    def grads_by_our_name(self, ours):
        """Our parameter name -> torch's gradient for it."""
        g = {}
        m = "model."
        for side, layers in (("encoder", self.encoder.layers), ("decoder", self.decoder.layers)):
            for i, layer in enumerate(layers):
                p = f"{m}{side}.layers.{i}."
                attns = [("self_attn", layer.self_attn)] + ([("encoder_attn", layer.multihead_attn)]
                                                            if side == "decoder" else [])
                for name, a in attns:
                    for j, proj in enumerate(("q_proj", "k_proj", "v_proj")):
                        d = a.embed_dim
                        g[f"{p}{name}.{proj}.weight"] = a.in_proj_weight.grad[j * d:(j + 1) * d]
                        g[f"{p}{name}.{proj}.bias"] = a.in_proj_bias.grad[j * d:(j + 1) * d]
                    g[f"{p}{name}.out_proj.weight"] = a.out_proj.weight.grad
                    g[f"{p}{name}.out_proj.bias"] = a.out_proj.bias.grad
                norms = ["self_attn_layer_norm"] + (["encoder_attn_layer_norm"] if side == "decoder" else []) + \
                    ["final_layer_norm"]
                pairs = [("linear1", "fc1"), ("linear2", "fc2")] + [(f"norm{k + 1}", n) for k, n in enumerate(norms)]
                for ref_name, my_name in pairs:
                    g[f"{p}{my_name}.weight"] = getattr(layer, ref_name).weight.grad
                    g[f"{p}{my_name}.bias"] = getattr(layer, ref_name).bias.grad
            stack = self.encoder if side == "encoder" else self.decoder
            if stack.norm is not None:
                g[f"{m}{side}.layer_norm.weight"] = stack.norm.weight.grad
                g[f"{m}{side}.layer_norm.bias"] = stack.norm.bias.grad
        if ours.config.shared_vocab:
            g[f"{m}shared.weight"] = self.src_embed.grad
        else:
            g[f"{m}encoder.embed_tokens.weight"] = self.src_embed.grad
            g[f"{m}decoder.embed_tokens.weight"] = self.tgt_embed.grad
        return g


@pytest.mark.parametrize("layout", ["post-LN shared vocabulary", "pre-LN separate vocabularies"])
def test_logits_loss_and_gradients_match_torch_transformer(rng, layout):
    pre = layout.startswith("pre")
    kw = dict(normalize_before=True, decoder_vocab_size=61) if pre else {}
    ours = make_model(rng, label_smoothing=0.1, **kw)
    ref = TorchReference(ours)
    src, src_pad = padded(rng, [7, 4, 9], 53, 0)
    tgt_in, tgt_pad = padded(rng, [5, 8, 3], ours.config.target_vocab_size, 0)
    labels = np.where(tgt_pad, -100, rng.integers(0, ours.config.target_vocab_size, tgt_in.shape))
    logits, loss = ours(pyllm.tensor(src), pyllm.tensor(tgt_in), pyllm.tensor(src_pad), pyllm.tensor(tgt_pad),
                        labels=pyllm.tensor(labels))
    tlogits = ref(*(torch.from_numpy(a) for a in (src, tgt_in, src_pad, tgt_pad)))
    real = ~tgt_pad
    np.testing.assert_allclose(logits.detach().numpy()[real], tlogits.detach().numpy()[real], atol=1e-4, rtol=1e-4)
    V = tlogits.shape[-1]
    tloss = torch.nn.functional.cross_entropy(tlogits.reshape(-1, V), torch.from_numpy(labels).reshape(-1),
                                              label_smoothing=0.1)
    assert abs(loss.item() - tloss.item()) < 1e-5
    loss.backward()
    tloss.backward()
    expected = ref.grads_by_our_name(ours)
    names = [n for n, _ in ours.named_parameters()]
    assert sorted(names) == sorted(expected)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), expected[name].numpy(), atol=2e-5, rtol=1e-3, err_msg=name)


@pytest.mark.parametrize("normalize_before", [False, True])
@pyllm.no_grad()
def test_cached_incremental_decoding_equals_full_decoding(rng, normalize_before):
    model = make_model(rng, normalize_before=normalize_before).eval()
    src, src_pad = padded(rng, [6, 9], 53, 0)
    src, src_pad = pyllm.tensor(src), pyllm.tensor(src_pad)
    tgt = rng.integers(0, 53, (2, 8))
    memory = model.encode(src, src_pad)
    full = model.decode(pyllm.tensor(tgt), memory, src_pad).numpy()
    cache = model.new_kv_cache()
    steps = []
    for a, b in [(0, 3), (3, 4), (4, 5), (5, 8)]:                   # a 3-token prompt, then single tokens, then 3
        steps.append(model.decode(pyllm.tensor(tgt[:, a:b]), memory, src_pad, kv_cache=cache).numpy())
    assert cache[0][0].seq_len == 8 and cache[0][1].seq_len == 9    # self-attention grew, cross stayed the source
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5, rtol=1e-5)


@pyllm.no_grad()
def test_extra_padding_does_not_change_real_positions(rng):
    model = make_model(rng).eval()
    src_lens, tgt_lens = [5, 9, 2], [4, 1, 7]
    src, src_pad = padded(rng, src_lens, 53, 0)
    tgt, tgt_pad = padded(rng, tgt_lens, 53, 0)
    # three more columns of junk (not even the pad id) behind every row
    src = np.concatenate([src, rng.integers(3, 53, (3, 3))], axis=1)
    src_pad = np.concatenate([src_pad, np.ones((3, 3), bool)], axis=1)
    tgt = np.concatenate([tgt, rng.integers(3, 53, (3, 3))], axis=1)
    tgt_pad = np.concatenate([tgt_pad, np.ones((3, 3), bool)], axis=1)
    batch, _ = model(*(pyllm.tensor(a) for a in (src, tgt, src_pad, tgt_pad)))
    for i, (S, T) in enumerate(zip(src_lens, tgt_lens)):
        alone, _ = model(pyllm.tensor(src[i:i + 1, :S]), pyllm.tensor(tgt[i:i + 1, :T]))
        np.testing.assert_allclose(batch.numpy()[i, :T], alone.numpy()[0], atol=1e-5, rtol=1e-5)


def test_parameter_names_and_count_printed(rng, capsys):
    model = Transformer(small_config(), verbose=True)
    n = sum(p.numel() for _, p in model.named_parameters())
    assert capsys.readouterr().out == f"number of parameters: {n / 1e6:.2f}M\n"
    names = dict(model.named_parameters())
    assert model.lm_head.weight is model.model.shared.weight
    assert model.model.encoder.embed_tokens is model.model.decoder.embed_tokens is model.model.shared
    for name in ("model.encoder.layers.1.self_attn.q_proj.weight", "model.encoder.layers.0.self_attn.out_proj.bias",
                 "model.encoder.layers.0.fc1.weight", "model.encoder.layers.0.self_attn_layer_norm.weight",
                 "model.decoder.layers.1.encoder_attn.k_proj.weight", "model.decoder.layers.0.encoder_attn_layer_norm.bias",
                 "model.decoder.layers.1.final_layer_norm.weight"):
        assert name in names, name
    separate = Transformer(small_config(decoder_vocab_size=30, tie_word_embeddings=False), verbose=False)
    assert "model.shared.weight" not in dict(separate.named_parameters())
    assert separate.lm_head.weight.shape == (30, 24) and separate.lm_head.weight is not \
        separate.model.decoder.embed_tokens.weight


def test_errors(rng):
    with pytest.raises(ValueError, match="not divisible by 5 encoder_attention_heads"):
        small_config(encoder_attention_heads=5)
    with pytest.raises(ValueError, match="activation_function must be one of"):
        small_config(activation_function="tanh")
    with pytest.raises(ValueError, match="eos_token_id 99 is outside the vocabulary of 53"):
        small_config(eos_token_id=99)
    model = make_model(rng)
    src = pyllm.tensor(rng.integers(0, 53, (2, 5)))
    with pytest.raises(ValueError, match="longer than max_position_embeddings"):
        model(pyllm.tensor(rng.integers(0, 53, (1, 41))), src[:1])
    with pytest.raises(ValueError, match="src_padding_mask must be a bool tensor of the ids' shape"):
        model(src, src, src_padding_mask=pyllm.tensor(np.zeros((2, 4), bool)))
    with pytest.raises(ValueError, match=r"labels of shape \(2, 4\) do not match tgt_in"):
        model(src, src, labels=src[:, :4])
    with pytest.raises(ValueError, match="num_beams must be a positive int"):
        model.generate(src, num_beams=0)
    with pytest.raises(ValueError, match="early_stopping must be True, False or 'never'"):
        model.generate(src, num_beams=2, early_stopping="sometimes")
    with pytest.raises(ValueError, match="token id 53 in suppress_tokens/forced_eos_token_id is not in the vocabulary"):
        model.generate(src, suppress_tokens=[4, 53])


# ---- decoding ----

def test_greedy_and_beam_with_cache_equal_without(rng):
    model = make_model(rng, eos_token_id=3)
    src, src_pad = (pyllm.tensor(a) for a in padded(rng, [6, 3, 8], 53, 0))
    for beams in (1, 3):
        a = model.generate(src, src_pad, max_new_tokens=9, num_beams=beams).numpy()
        b = model.generate(src, src_pad, max_new_tokens=9, num_beams=beams, use_cache=False).numpy()
        np.testing.assert_array_equal(a, b)


def test_one_beam_that_stops_early_is_greedy(rng):
    """With one beam and early_stopping=True the search keeps the argmax at every step and stops at the first
    eos, which is greedy decoding (HF calls greedy for num_beams=1; beam search must agree)."""
    model = make_model(rng).eval()
    src, src_pad = (pyllm.tensor(a) for a in padded(rng, [6, 3, 8, 5], 53, 0))
    with pyllm.no_grad():
        memory = model.encode(src, src_pad)
        free = _greedy(model, memory, src_pad, 12, 1, -1, 0, True)         # no eos: 12 tokens each
        eos = int(free[0, 4])                                              # so that row 0 stops at step 4 or before
        greedy = _greedy(model, memory, src_pad, 12, 1, eos, 0, True)
        rows = [_beam(model, memory[i:i + 1], src_pad[i:i + 1], 12, 1, 1.0, True, 1, eos, 0, True)[0]
                for i in range(4)]
    for i, row in enumerate(rows):  # greedy pads a row that finished before the others
        np.testing.assert_array_equal(row, greedy[i][:len(row)])
        assert greedy[i][len(row):].tolist() == [0] * (greedy.shape[1] - len(row))


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_wide_beam_equals_exhaustive_search(rng, length_penalty):
    """With more beams than there are hypotheses, beam search with early_stopping="never" is exact: its output
    is the best of every sequence the 4-token vocabulary allows (eos at any step, or the length limit), each
    scored by an independent teacher-forced forward pass: sum of log-probs / length ** length_penalty."""
    V, eos, n = 4, 2, 3
    model = make_model(rng, vocab_size=V, pad_token_id=0, bos_token_id=1, eos_token_id=eos).eval()
    # spread the model's preferences so that the optimum is not simply the shortest sequence
    model.final_logits_bias.copy_(pyllm.tensor(rng.normal(0, 1, (1, V)).astype(np.float32)))
    src = rng.integers(0, V, (1, 5))
    others = [t for t in range(V) if t != eos]
    hyps = [list(s) + [eos] for k in range(n) for s in itertools.product(others, repeat=k)]   # eos after k tokens
    hyps += [list(s) for s in itertools.product(others, repeat=n)]  # cut at the limit
    best, best_score = None, -np.inf
    with pyllm.no_grad():
        for h in hyps:
            tgt_in = np.array([[1] + h[:-1]])
            logits, _ = model(pyllm.tensor(src), pyllm.tensor(tgt_in))
            logp = torch.log_softmax(torch.tensor(logits.numpy()[0], dtype=torch.float64), -1).numpy()
            score = logp[np.arange(len(h)), h].sum() / len(h) ** length_penalty
            if score > best_score:
                best, best_score = h, score
    out = model.generate(pyllm.tensor(src), max_new_tokens=n, num_beams=64, length_penalty=length_penalty,
                         early_stopping="never").numpy()[0]
    assert out[0] == 1
    assert out[1:1 + len(best)].tolist() == best


def make_marian_pair(rng):
    """A small random MarianMTModel (odd sizes, swish, scaled embeddings, pad = decoder start, as opus-mt) and
    our Transformer configured as Marian, holding its weights copied by name."""
    from transformers import MarianConfig, MarianMTModel

    V, pad, eos = 67, 66, 5
    torch.manual_seed(int(rng.integers(1 << 31)))
    hf = MarianMTModel(MarianConfig(
        vocab_size=V, d_model=24, encoder_layers=2, decoder_layers=2, encoder_attention_heads=3,
        decoder_attention_heads=3, encoder_ffn_dim=40, decoder_ffn_dim=36, max_position_embeddings=48,
        activation_function="swish", scale_embedding=True, dropout=0.0, init_std=0.3, pad_token_id=pad,
        decoder_start_token_id=pad, eos_token_id=eos, forced_eos_token_id=None)).eval()
    with torch.no_grad():  # a random output bias, eos likelier, so that hypotheses finish at various lengths
        hf.final_logits_bias.copy_(torch.randn(1, V) + 3.0 * (torch.arange(V) == eos))
    ours = Transformer(TransformerConfig(
        vocab_size=V, d_model=24, encoder_layers=2, decoder_layers=2, encoder_attention_heads=3,
        decoder_attention_heads=3, encoder_ffn_dim=40, decoder_ffn_dim=36, max_position_embeddings=48,
        activation_function="swish", positions="split", dropout=0.0, pad_token_id=pad, bos_token_id=pad,
        eos_token_id=eos), verbose=False)
    state = {k: v.numpy() for k, v in hf.state_dict().items()}
    missing, unexpected = ours.load_state_dict(state, strict=False)
    assert missing == []
    assert sorted(unexpected) == sorted(f"model.{s}.{n}.weight" for s in ("encoder", "decoder")
                                        for n in ("embed_tokens", "embed_positions"))  # aliases and the sinusoids
    for side in ("encoder", "decoder"):  # Marian's stored sinusoids are our computed "split" table
        np.testing.assert_allclose(getattr(ours.model, side).embed_positions.pe.numpy(),
                                   state[f"model.{side}.embed_positions.weight"], atol=1e-6)
    return hf, ours


def marian_source(rng, pad):
    src, mask = padded(rng, [7, 3, 10], 60, pad)
    src[mask] = pad
    return src, mask


def test_logits_match_hugging_face_marian(rng):
    hf, ours = make_marian_pair(rng)
    src, src_pad = marian_source(rng, 66)
    tgt_in = rng.integers(0, 66, (3, 6))
    with pyllm.no_grad():
        logits, _ = ours(pyllm.tensor(src), pyllm.tensor(tgt_in), pyllm.tensor(src_pad))
    with torch.no_grad():
        out = hf(input_ids=torch.from_numpy(src), attention_mask=torch.from_numpy(~src_pad),
                 decoder_input_ids=torch.from_numpy(tgt_in))
    np.testing.assert_allclose(logits.numpy(), out.logits.numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("num_beams, length_penalty, early_stopping",
                         [(1, 1.0, False), (4, 1.0, False), (4, 0.6, True), (3, 2.0, "never"), (5, -0.5, False)])
def test_generate_picks_hugging_face_marians_tokens(rng, num_beams, length_penalty, early_stopping):
    hf, ours = make_marian_pair(rng)
    src, src_pad = marian_source(rng, 66)
    ids = ours.generate(pyllm.tensor(src), pyllm.tensor(src_pad), max_new_tokens=12, num_beams=num_beams,
                        length_penalty=length_penalty, early_stopping=early_stopping).numpy()
    expected = hf.generate(torch.from_numpy(src), attention_mask=torch.from_numpy(~src_pad), max_new_tokens=12,
                           num_beams=num_beams, length_penalty=length_penalty, early_stopping=early_stopping,
                           do_sample=False).numpy()
    np.testing.assert_array_equal(ids, expected)


@pytest.mark.parametrize("num_beams", [1, 4])
def test_suppressed_tokens_and_forced_eos_as_hugging_face(rng, num_beams):
    """opus-mt's generation config: its pad token is a bad word, eos is forced at the length limit."""
    hf, ours = make_marian_pair(rng)
    src, src_pad = marian_source(rng, 66)
    banned = [66] + rng.choice([t for t in range(60) if t != 5], 3, replace=False).tolist()  # not eos
    ids = ours.generate(pyllm.tensor(src), pyllm.tensor(src_pad), max_new_tokens=6, num_beams=num_beams,
                        suppress_tokens=banned, forced_eos_token_id=5).numpy()
    expected = hf.generate(torch.from_numpy(src), attention_mask=torch.from_numpy(~src_pad), max_new_tokens=6,
                           num_beams=num_beams, bad_words_ids=[[t] for t in banned], forced_eos_token_id=5,
                           do_sample=False).numpy()
    np.testing.assert_array_equal(ids, expected)
    assert not np.isin(ids[:, 1:], banned[1:]).any()
    assert all(5 in row for row in ids[:, 1:].tolist())  # every row ends in eos: forced at the limit if not before
