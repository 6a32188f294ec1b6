"""Loading a Hugging Face checkpoint: ``pyllm.from_pretrained`` vs ``transformers``'
``AutoModelForCausalLM.from_pretrained``, on the same GPT-2-small-sized directory (124M parameters, random
weights written by transformers' own save_pretrained), or a Llama of the same width and depth (``--arch
llama``: no weight needs transposing, where GPT-2's Conv1D weights, 70% of its parameters, must be).

Usage: PYTHONPATH=. python bench/bench_load.py [--arch gpt2|llama] [--format safetensors|bin]
       [--n-layer 12 --n-embd 768 ...] [--reps N] [--threads N]

Each round loads with pyllm and then with transformers (the file is in the page cache after the warm-up
round, so this times parsing, model construction and copying, not the disk); the numbers are medians. The
warm-up also checks that both models give the same logits.
"""
import argparse
import statistics
import tempfile
import time

import numpy as np
import torch
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

import pyllm


def load_ours(path):
    return pyllm.from_pretrained(path)


def load_hf(path):
    return AutoModelForCausalLM.from_pretrained(path).eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=["gpt2", "llama"], default="gpt2", help="the checkpoint's architecture")
    ap.add_argument("--format", choices=["safetensors", "bin"], default="safetensors",
                    help="weight file: model.safetensors or pytorch_model.bin")
    ap.add_argument("--n-layer", type=int, default=12, help="transformer blocks")
    ap.add_argument("--n-head", type=int, default=12, help="attention heads")
    ap.add_argument("--n-embd", type=int, default=768, help="model width")
    ap.add_argument("--block-size", type=int, default=1024, help="learned positions")
    ap.add_argument("--vocab-size", type=int, default=50257, help="vocabulary size")
    ap.add_argument("--reps", type=int, default=5, help="timed rounds (after one warm-up round)")
    ap.add_argument("--threads", type=int, help="threads for both libraries (default: their defaults)")
    args = ap.parse_args()
    if args.threads:
        pyllm.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.arch == "gpt2":
        hf = GPT2LMHeadModel(GPT2Config(n_embd=args.n_embd, n_head=args.n_head, n_layer=args.n_layer,
                                        vocab_size=args.vocab_size, n_positions=args.block_size))
    else:
        hf = LlamaForCausalLM(LlamaConfig(hidden_size=args.n_embd, num_attention_heads=args.n_head,
                                          num_hidden_layers=args.n_layer, intermediate_size=4 * args.n_embd,
                                          vocab_size=args.vocab_size, max_position_embeddings=args.block_size,
                                          tie_word_embeddings=True))
    n_params = sum(p.numel() for p in hf.parameters())
    with tempfile.TemporaryDirectory() as path:
        hf.save_pretrained(path, safe_serialization=args.format == "safetensors")
        del hf
        print(f"threads: pyllm {pyllm.get_num_threads()}, torch {torch.get_num_threads()}; torch {torch.__version__}")
        print(f"{args.arch}: {args.n_layer} layers, {args.n_embd} dims, vocab {args.vocab_size}: {n_params / 1e6:.1f}M "
              f"parameters, {args.format}")
        ours, theirs = load_ours(path), load_hf(path)  # warm-up, and the same model in both
        ids = np.random.default_rng(0).integers(0, args.vocab_size, (1, 16))
        with torch.no_grad():
            expected = theirs(torch.from_numpy(ids)).logits.numpy()
        got = ours(pyllm.tensor(ids))[0].detach().numpy()
        assert np.abs(got - expected).max() < 1e-3, f"logits differ by {np.abs(got - expected).max()}"
        del ours, theirs
        t_ours, t_hf = [], []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            model = load_ours(path)
            t_ours.append(time.perf_counter() - t0)
            del model
            t0 = time.perf_counter()
            model = load_hf(path)
            t_hf.append(time.perf_counter() - t0)
            del model
    mo, mh = statistics.median(t_ours), statistics.median(t_hf)
    print(f"from_pretrained: pyllm {mo * 1e3:8.1f} ms | transformers {mh * 1e3:8.1f} ms | time pyllm / transformers "
          f"{mo / mh:5.2f}")


if __name__ == "__main__":
    main()
