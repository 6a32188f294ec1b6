"""``pyllm train``: train a small language model and print a sample. With no arguments: nanoGPT's
Shakespeare-char CPU configuration (a 4-layer, 128-dim character GPT, 2000 steps) on the complete works.
Every option of pyllm.train.lm.LMOptions is a flag (``--n-layer 6``) and a key of a TOML file given with
``--config`` (``n_layer = 6``); flags override the file."""
import argparse
import dataclasses
import sys
import typing

HELP = {
    "data": "'shakespeare' (the complete works, fetched once) or UTF-8 text files",
    "tokenizer": "'char', 'bpe' (byte-level BPE trained on the data) or a saved tokenizer file",
    "vocab_size": "vocabulary size for --tokenizer bpe",
    "model": "'gpt' (GPT-2 layout) or 'llama' (RMSNorm, RoPE, SwiGLU)",
    "n_kv_head": "llama: key/value heads (grouped-query attention); default: n_head",
    "out_dir": "run directory: tokenizer, token files, checkpoint, metrics.jsonl/.csv, loss.png",
    "max_iters": "optimizer steps",
    "eval_interval": "steps between evaluations and checkpoints",
    "gradient_accumulation_steps": "micro-batches per optimizer step",
    "lr_decay_iters": "the step where the cosine decay reaches min_lr (default: max_iters)",
    "weight_decay": "AdamW weight decay, on matrices only",
    "grad_clip": "clip the global gradient norm to this (0: off)",
    "progress": "show the progress bar",
}


def _options():
    from pyllm.train.lm import LMOptions
    return LMOptions


def register(subparsers):
    LMOptions = _options()
    parser = subparsers.add_parser("train", help="train a language model (default: a character GPT on Shakespeare)",
                                   description=__doc__)
    parser.add_argument("--config", metavar="FILE.toml", help="read options from a TOML file (flags override it)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out-dir from its checkpoint")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: all cores)")
    parser.add_argument("--samples", type=int, default=1, metavar="N", help="samples printed after training")
    parser.add_argument("--sample-tokens", type=int, default=500, metavar="N", help="tokens per sample")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    parser.add_argument("--top-k", type=int, default=200, help="sample among the k most likely tokens")
    hints = typing.get_type_hints(LMOptions)
    for field in dataclasses.fields(LMOptions):
        flag = "--" + field.name.replace("_", "-")
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        help_text = f"{HELP.get(field.name, field.name.replace('_', ' '))} (default: {default})"
        kind = hints[field.name]
        if kind is bool:
            parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif field.name == "data":
            parser.add_argument(flag, dest=field.name, nargs="+", default=None, metavar="SOURCE", help=help_text)
        else:
            base = typing.get_args(kind)[0] if typing.get_origin(kind) is typing.Union else kind
            parser.add_argument(flag, dest=field.name, type=base, default=None, help=help_text)
    parser.set_defaults(run=run)


def options_from(args):
    """LMOptions from the TOML file (if any), then the flags that were given."""
    LMOptions = _options()
    values = {}
    if args.config:
        values.update(read_toml(args.config, {f.name for f in dataclasses.fields(LMOptions)}))
    for field in dataclasses.fields(LMOptions):
        given = getattr(args, field.name)
        if given is not None:
            values[field.name] = given
    return LMOptions(**values)


def read_toml(path, known):
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        raise ValueError("--config needs Python 3.11 or later (tomllib); give the options as flags") from None
    with open(path, "rb") as f:
        try:
            values = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{path}: invalid TOML: {e}") from None
    values = {k.replace("-", "_"): v for k, v in values.items()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{path}: unknown options {unknown}; see `pyllm train --help`")
    return values


def run(args):
    import pyllm
    from pyllm.train.lm import resume_language_model, sample_text, train_language_model

    if args.threads:
        pyllm.set_num_threads(args.threads)
    opts = options_from(args)
    model, tokenizer, trainer = (resume_language_model if args.resume else train_language_model)(opts)
    if trainer.interrupted:
        return 130
    val_loss = [r["val_loss"] for r in trainer.history if r["kind"] == "eval"][-1]
    print(f"trained {trainer.step} steps in {trainer.history[-1]['elapsed']:.0f} s; val loss "
          f"{'n/a' if val_loss is None else f'{val_loss:.4f}'}; run directory {opts.out_dir} "
          "(checkpoint.safetensors, metrics.jsonl, loss.png)")
    for i in range(args.samples):
        print(f"\n--- sample {i + 1} ---")
        sample_text(model, tokenizer, "\n", args.sample_tokens, temperature=args.temperature, top_k=args.top_k,
                    seed=opts.seed + i, stream=lambda s: (sys.stdout.write(s), sys.stdout.flush()))
        print()
    return 0
