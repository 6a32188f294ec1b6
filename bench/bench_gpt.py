"""One GPT training step (forward, loss, backward), pyllm's GPT vs Hugging Face's GPT2LMHeadModel on PyTorch
(CPU, its fused SDPA attention), with the same weights and the same batch.

Usage: PYTHONPATH=. python bench/bench_gpt.py [--n-layer 6 --n-head 6 --n-embd 384 --block-size 256
       --batch-size 8 --vocab-size 50257] [--reps N] [--threads N]

The default is nanoGPT's Shakespeare model shape with GPT-2's vocabulary (about 30M parameters, a third of them
the tied embedding); `--n-layer 12 --n-head 12 --n-embd 768 --block-size 1024` is GPT-2 small. Each round
times pyllm and then PyTorch, so both see the same machine load; the numbers are medians over the rounds.
Tokens/s counts the batch's B * T tokens per step.
"""
import argparse
import statistics
import time

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

import pyllm
from pyllm.models import GPT, GPTConfig

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")  # HF's (in, out)


def make_models(args):
    config = GPTConfig(block_size=args.block_size, vocab_size=args.vocab_size, n_layer=args.n_layer,
                       n_head=args.n_head, n_embd=args.n_embd)
    ours = GPT(config)
    hf = GPT2LMHeadModel(GPT2Config(n_embd=args.n_embd, n_head=args.n_head, n_layer=args.n_layer,
                                    vocab_size=args.vocab_size, n_positions=args.block_size, resid_pdrop=0.0,
                                    embd_pdrop=0.0, attn_pdrop=0.0, attn_implementation="sdpa"))
    with torch.no_grad():  # the same weights in both
        for name, p in hf.named_parameters():
            w = torch.from_numpy(ours.state_dict()[name].numpy())
            p.copy_(w.T if name.endswith(CONV1D) else w)
    return ours, hf


def step_ours(model, x, y):
    model.zero_grad()
    _, loss = model(x, targets=y)
    loss.backward()
    return loss.item()


def step_torch(model, x, y):
    model.zero_grad()
    logits = model(input_ids=x).logits
    loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1))
    loss.backward()
    return loss.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-layer", type=int, default=6, help="transformer blocks")
    ap.add_argument("--n-head", type=int, default=6, help="attention heads")
    ap.add_argument("--n-embd", type=int, default=384, help="model width")
    ap.add_argument("--block-size", type=int, default=256, help="sequence length T")
    ap.add_argument("--batch-size", type=int, default=8, help="sequences per step B")
    ap.add_argument("--vocab-size", type=int, default=50257, help="vocabulary size")
    ap.add_argument("--reps", type=int, default=7, help="timed rounds (after one warm-up round)")
    ap.add_argument("--threads", type=int, help="threads for both libraries (default: their defaults)")
    args = ap.parse_args()
    if args.threads:
        pyllm.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    pyllm.manual_seed(0)
    ours, hf = make_models(args)
    rng = np.random.default_rng(0)
    data = rng.integers(0, args.vocab_size, (args.batch_size, args.block_size + 1))
    x, y = pyllm.tensor(data[:, :-1]), pyllm.tensor(data[:, 1:])
    tx, ty = torch.from_numpy(data[:, :-1]), torch.from_numpy(data[:, 1:])
    print(f"threads: pyllm {pyllm.get_num_threads()}, torch {torch.get_num_threads()}; torch {torch.__version__} "
          f"({torch.backends.cpu.get_cpu_capability()})")
    print(f"GPT: {args.n_layer} layers, {args.n_head} heads, {args.n_embd} dims, vocab {args.vocab_size}; "
          f"batch {args.batch_size} x {args.block_size} tokens")
    lo, lt = step_ours(ours, x, y), step_torch(hf, tx, ty)  # warm-up; also checks both compute the same loss
    assert abs(lo - lt) < 1e-3 * max(1.0, abs(lt)), f"losses differ: pyllm {lo}, torch {lt}"
    t_ours, t_torch = [], []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        step_ours(ours, x, y)
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        step_torch(hf, tx, ty)
        t_torch.append(time.perf_counter() - t0)
    mo, mt = statistics.median(t_ours), statistics.median(t_torch)
    tokens = args.batch_size * args.block_size
    print(f"forward+backward step: pyllm {mo * 1e3:8.1f} ms ({tokens / mo:8.0f} tokens/s) | torch {mt * 1e3:8.1f} ms "
          f"({tokens / mt:8.0f} tokens/s) | time pyllm / torch {mo / mt:5.2f}")


if __name__ == "__main__":
    main()
