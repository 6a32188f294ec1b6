"""A pyllm ``Llama`` and its tokenizer from a llama-architecture GGUF file (SmolLM2, Llama 2/3, TinyLlama ...).

Config: llama.cpp's ``llama.*`` metadata keys, as ``transformers``' GGUF loader maps them:

    llama.block_count                        -> num_hidden_layers
    llama.embedding_length                   -> hidden_size
    llama.feed_forward_length                -> intermediate_size
    llama.attention.head_count               -> num_attention_heads
    llama.attention.head_count_kv            -> num_key_value_heads   (default: head_count)
    llama.rope.freq_base                     -> rope_theta            (default 10000)
    llama.attention.layer_norm_rms_epsilon   -> rms_norm_eps
    llama.context_length                     -> max_position_embeddings
    llama.vocab_size                         -> vocab_size            (default: the token list's length)

Weights (GGUF name -> Hugging Face / pyllm name):

    token_embd               model.embed_tokens          blk.N.attn_norm     model.layers.N.input_layernorm
    blk.N.attn_q/k/v/output  model.layers.N.self_attn.q_proj/k_proj/v_proj/o_proj
    blk.N.ffn_gate/up/down   model.layers.N.mlp.gate_proj/up_proj/down_proj
    blk.N.ffn_norm           model.layers.N.post_attention_layernorm
    output_norm              model.norm                  output              lm_head (absent: tied to token_embd)

llama.cpp's converter permutes the rows of q_proj and k_proj: Hugging Face's RoPE rotates the two halves of each
head (x_i with x_{i + d/2}), llama.cpp's rotates adjacent pairs (x_{2i} with x_{2i+1}), so the converter
interleaves the halves of each head's rows. ``unpermute_rope_rows`` undoes that, exactly as ``transformers``
does, so the loaded model computes what the original Hugging Face model computed.

>>> model, tokenizer = load_model("SmolLM2-135M-Instruct.Q4_1.gguf")          # doctest: +SKIP
>>> ids = tokenizer.encode("The capital of France is")                           # doctest: +SKIP
>>> tokenizer.decode(model.generate(pyllm.tensor([ids]), 4, do_sample=False)[0].tolist())  # doctest: +SKIP
'The capital of France is Paris.\\n\\n'
"""

from ..models.llama import Llama, LlamaConfig
from ..nn.init import no_init_weights
from ..tokenizers.gguf import tokenizer_from_gguf
from .gguf import GGUFError, GGUFFile

_LAYER_NAMES = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_TOP_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}


def gguf_to_hf_name(name):
    """The Hugging Face / pyllm parameter name of a llama GGUF tensor name, or None for one it has no use for
    (``rope_freqs``: RoPE scaling factors, rejected by ``llama_config``)."""
    base, _, suffix = name.rpartition(".")
    if suffix not in ("weight", "bias"):
        return None
    if base in _TOP_NAMES:
        return f"{_TOP_NAMES[base]}.{suffix}"
    parts = base.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in _LAYER_NAMES:
        return f"model.layers.{parts[1]}.{_LAYER_NAMES[parts[2]]}.{suffix}"
    return None


def unpermute_rope_rows(w, n_head):
    """Undoes llama.cpp's ``permute`` of a q or k projection: (n_head * d, ...) rows, each head's d rows
    stored as d/2 interleaved (even, odd) pairs, back to Hugging Face's order (first halves, then second)."""
    d = w.shape[0] // n_head
    return w.reshape(n_head, d // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)  # (nh, d/2, 2, ...) -> (nh, 2, d/2, ...)


def llama_config(metadata, path="GGUF file"):
    """The ``LlamaConfig`` of a llama-architecture file's metadata."""
    arch = metadata.get("general.architecture")
    if arch != "llama":
        raise GGUFError(f"{path}: general.architecture is {arch!r}; pyllm builds models from 'llama' GGUF files "
                        "only (Llama 1/2/3, SmolLM, TinyLlama, Mistral-style dense models)")

    def get(key, default=None):
        value = metadata.get(f"llama.{key}", default)
        if value is None:
            raise GGUFError(f"{path}: the metadata has no llama.{key}")
        return value

    scaling = metadata.get("llama.rope.scaling.type", "none")
    if scaling != "none":
        raise GGUFError(f"{path}: RoPE scaling {scaling!r} (llama.rope.scaling.type) is not supported")
    n_vocab = len(metadata.get("tokenizer.ggml.tokens", ())) or None
    config = LlamaConfig(
        vocab_size=int(get("vocab_size", n_vocab)),
        hidden_size=int(get("embedding_length")),
        intermediate_size=int(get("feed_forward_length")),
        num_hidden_layers=int(get("block_count")),
        num_attention_heads=int(get("attention.head_count")),
        num_key_value_heads=int(get("attention.head_count_kv", get("attention.head_count"))),
        max_position_embeddings=int(get("context_length")),
        rms_norm_eps=float(get("attention.layer_norm_rms_epsilon")),
        rope_theta=float(get("rope.freq_base", 10000.0)),
    )
    head_dim = config.hidden_size // config.num_attention_heads
    for key in ("rope.dimension_count", "attention.key_length", "attention.value_length"):
        if f"llama.{key}" in metadata and metadata[f"llama.{key}"] != head_dim:
            raise GGUFError(f"{path}: llama.{key} is {metadata[f'llama.{key}']}, but pyllm's Llama needs "
                            f"hidden_size / head_count = {head_dim}")
    return config


def llama_state_dict(gguf, config):
    """{Hugging Face name: float32 NumPy array} of every weight in ``gguf`` (a GGUFFile), q/k rows unpermuted.
    GGUFError names a tensor this model has no place for."""
    out = {}
    for name in gguf.keys():
        hf_name = gguf_to_hf_name(name)
        if hf_name is None:
            raise GGUFError(f"{gguf.path}: tensor {name!r} has no counterpart in pyllm's Llama")
        w = gguf.get_numpy(name)
        if ".attn_q." in name:
            w = unpermute_rope_rows(w, config.num_attention_heads)
        elif ".attn_k." in name:
            w = unpermute_rope_rows(w, config.num_key_value_heads)
        out[hf_name] = w
    return out


def load_model(path):
    """``(model, tokenizer)`` from the GGUF file at ``path``: a pyllm ``Llama`` with the weights dequantized to
    float32 (in eval mode) and a ``BPETokenizer`` built from the ``tokenizer.ggml.*`` metadata. The file's
    bos/eos ids are in ``GGUFFile(path).metadata["tokenizer.ggml.eos_token_id"]`` and so on."""
    gguf = GGUFFile(path)
    config = llama_config(gguf.metadata, gguf.path)
    weights = llama_state_dict(gguf, config)
    config.tie_word_embeddings = "lm_head.weight" not in weights
    with no_init_weights():  # every weight is overwritten below
        model = Llama(config, verbose=False)
    if config.tie_word_embeddings:  # one tensor under both names, as HF state dicts of tied models list it
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
    try:
        model.load_state_dict(weights)
    except (KeyError, ValueError) as e:
        raise GGUFError(f"{gguf.path}: the weights do not fit the model its metadata describes: "
                        f"{e.args[0]}") from None
    model.eval()
    return model, tokenizer_from_gguf(gguf.metadata, gguf.path)
