"""Small random Hugging Face GPT-2 and Llama models (odd sizes, built offline) and pyllm's GPT and Llama
holding the same weights, copied by name."""
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig as HFLlamaConfig, LlamaForCausalLM

from pyllm.models import GPT, GPTConfig, Llama, LlamaConfig

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")  # HF's (in, out)


def hf_name_to_ours(name, tensor, arch):
    """HF's GPT-2 Conv1D weights are stored transposed; everything else maps as is."""
    if arch == "gpt" and name.endswith(CONV1D):
        return tensor.T
    return tensor


def make_gpt_pair(rng, n_embd=72, n_head=3, n_layer=2, vocab_size=1001, block_size=32):
    torch.manual_seed(int(rng.integers(1 << 31)))
    hf = GPT2LMHeadModel(GPT2Config(n_embd=n_embd, n_head=n_head, n_layer=n_layer, vocab_size=vocab_size,
                                    n_positions=block_size, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                    initializer_range=0.1, attn_implementation="eager"))
    ours = GPT(GPTConfig(block_size=block_size, vocab_size=vocab_size, n_layer=n_layer, n_head=n_head,
                         n_embd=n_embd), verbose=False)
    return _copy_weights(hf, ours, "gpt")


def make_llama_pair(rng, tie=False, vocab_size=1001):
    torch.manual_seed(int(rng.integers(1 << 31)))
    kw = dict(vocab_size=vocab_size, hidden_size=72, intermediate_size=100, num_hidden_layers=2,
              num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5,
              rope_theta=500.0, tie_word_embeddings=tie)
    hf = LlamaForCausalLM(HFLlamaConfig(initializer_range=0.1, attn_implementation="eager", **kw))
    ours = Llama(LlamaConfig(**kw), verbose=False)
    return _copy_weights(hf, ours, "llama")


def _copy_weights(hf, ours, arch):
    hf.eval()
    hf_state = hf.state_dict()
    own = ours.state_dict()
    assert set(own) == set(hf_state), f"names differ: {set(own) ^ set(hf_state)}"
    ours.load_state_dict({k: hf_name_to_ours(k, v, arch).numpy().copy() for k, v in hf_state.items()})
    return hf, ours
