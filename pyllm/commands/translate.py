"""``pyllm translate``: train the English -> Spanish Transformer on Bible verses and report BLEU on held-out
verses, or (``--checkpoint DIR TEXT...``) translate text with a trained model."""
import os
import sys
import time


def register(subparsers):
    from pyllm.translation import TranslatorConfig

    d = TranslatorConfig()
    parser = subparsers.add_parser(
        "translate", help="train the en->es Transformer and report BLEU, or translate text with a trained one",
        description="Without --checkpoint: train an English->Spanish encoder-decoder Transformer on KJV/Reina-"
                    "Valera verse pairs (a shared byte-level BPE trained on the training split), then translate "
                    "held-out test verses with beam search and print corpus BLEU and chrF (sacrebleu's "
                    "defaults). Files in --out-dir: tokenizer.json, checkpoint.safetensors, metrics.jsonl/.csv, "
                    "loss.png, test.en, test.ref.es, test.hyp.es (`pyllm bleu test.hyp.es test.ref.es` "
                    "recomputes the score). With --checkpoint DIR: translate TEXT (or standard input, one "
                    "sentence a line) with the model in DIR.")
    parser.add_argument("text", nargs="*", metavar="TEXT", help="with --checkpoint: English sentences to translate "
                                                                "(default: standard input, one a line)")
    parser.add_argument("--checkpoint", metavar="DIR", help="translate with the trained model in DIR instead of "
                                                            "training")
    parser.add_argument("--out-dir", default="out/translate", metavar="DIR",
                        help="where training writes its files (default: out/translate)")
    parser.add_argument("--resume", action="store_true", help="continue the checkpoint in --out-dir up to --max-iters")
    parser.add_argument("--vocab-size", type=int, default=d.vocab_size, metavar="N",
                        help=f"shared BPE vocabulary size (default: {d.vocab_size})")
    parser.add_argument("--d-model", type=int, default=d.d_model, metavar="N", help=f"model width (default: {d.d_model})")
    parser.add_argument("--layers", type=int, default=d.layers, metavar="N",
                        help=f"encoder layers, and as many decoder layers (default: {d.layers})")
    parser.add_argument("--heads", type=int, default=d.heads, metavar="N", help=f"attention heads (default: {d.heads})")
    parser.add_argument("--ffn-dim", type=int, default=d.ffn_dim, metavar="N",
                        help=f"feed-forward hidden size (default: {d.ffn_dim})")
    parser.add_argument("--dropout", type=float, default=d.dropout, help=f"dropout (default: {d.dropout})")
    parser.add_argument("--label-smoothing", type=float, default=d.label_smoothing,
                        help=f"label smoothing (default: {d.label_smoothing})")
    parser.add_argument("--max-len", type=int, default=d.max_len, metavar="N",
                        help=f"leave out training pairs with a side longer than N tokens (default: {d.max_len})")
    parser.add_argument("--batch-tokens", type=int, default=d.batch_tokens, metavar="N",
                        help=f"padded tokens per training batch (default: {d.batch_tokens})")
    parser.add_argument("--max-iters", type=int, default=d.max_iters, metavar="N",
                        help=f"optimizer steps (default: {d.max_iters})")
    parser.add_argument("--lr", type=float, default=d.learning_rate,
                        help=f"peak learning rate (default: {d.learning_rate})")
    parser.add_argument("--warmup-iters", type=int, default=d.warmup_iters, metavar="N",
                        help=f"linear warmup steps (default: {d.warmup_iters})")
    parser.add_argument("--eval-interval", type=int, default=d.eval_interval, metavar="N",
                        help=f"steps between validation losses and checkpoints (default: {d.eval_interval})")
    parser.add_argument("--eval-iters", type=int, default=d.eval_iters, metavar="N",
                        help=f"validation batches per evaluation (default: {d.eval_iters})")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"seed of weights, batches, dropout (default: {d.seed})")
    parser.add_argument("--train-size", type=int, default=0, metavar="N",
                        help="train on the first N training pairs only (default: 0, all 29,084)")
    parser.add_argument("--test-size", type=int, default=500, metavar="N",
                        help="translate the first N of the 1000 held-out test verses (default: 500; 0: all)")
    parser.add_argument("--num-beams", type=int, default=4, metavar="K", help="beam width; 1 is greedy (default: 4)")
    parser.add_argument("--length-penalty", type=float, default=1.0,
                        help="beam scores are log-prob sums / length**this (default: 1.0)")
    parser.add_argument("--max-new-tokens", type=int, default=None, metavar="N",
                        help="at most N tokens per translation (default: 1.5 x the source's tokens + 10)")
    parser.add_argument("--examples", type=int, default=3, metavar="N",
                        help="print N test translations beside their references (default: 3)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args):
    from pyllm.translation import load_translator, translate

    if args.checkpoint:
        model, tokenizer = load_translator(args.checkpoint)
        sentences = args.text or [line for line in (s.strip() for s in sys.stdin) if line]
        for line in translate(model, tokenizer, sentences, num_beams=args.num_beams,
                              length_penalty=args.length_penalty, max_new_tokens=args.max_new_tokens):
            print(line)
        return 0
    if args.text:
        raise ValueError("TEXT is translated only with --checkpoint DIR (without it, translate trains a model)")
    return run_training(args)


def run_training(args):
    from pyllm.data.corpora import bible_en_es
    from pyllm.io.atomic import atomic_write
    from pyllm.translation import TranslatorConfig, evaluate_translator, train_translator

    config = TranslatorConfig(vocab_size=args.vocab_size, d_model=args.d_model, layers=args.layers, heads=args.heads,
                              ffn_dim=args.ffn_dim, dropout=args.dropout, label_smoothing=args.label_smoothing,
                              max_len=args.max_len, batch_tokens=args.batch_tokens, max_iters=args.max_iters,
                              learning_rate=args.lr, warmup_iters=args.warmup_iters, eval_interval=args.eval_interval,
                              eval_iters=args.eval_iters, seed=args.seed)
    if args.test_size < 0 or args.train_size < 0:
        raise ValueError(f"--train-size and --test-size must be >= 0, got {args.train_size}, {args.test_size}")
    splits = bible_en_es()
    if args.train_size:
        splits["train"] = splits["train"][:args.train_size]
    t0 = time.perf_counter()
    model, tokenizer = train_translator(args.out_dir, config, splits, resume=args.resume, progress=not args.quiet)
    print(f"trained {config.max_iters} steps in {time.perf_counter() - t0:.0f} s")
    test = splits["test"][:args.test_size] if args.test_size else splits["test"]
    t0 = time.perf_counter()
    result = evaluate_translator(model, tokenizer, test, num_beams=args.num_beams, length_penalty=args.length_penalty,
                                 max_new_tokens=args.max_new_tokens)
    print(f"translated {len(test)} held-out test verses ({args.num_beams} beams) in {time.perf_counter() - t0:.0f} s")
    for name, lines in (("test.en", result.sources), ("test.ref.es", result.references),
                        ("test.hyp.es", result.hypotheses)):
        with atomic_write(os.path.join(args.out_dir, name), "w", encoding="utf-8", newline="\n") as f:
            f.writelines(line + "\n" for line in lines)
    for (ref, _, _), src, hyp, gold in list(zip(test, result.sources, result.hypotheses, result.references))[:args.examples]:
        print(f"\n{ref}\n  en:  {src}\n  ref: {gold}\n  hyp: {hyp}")
    print(f"\n{result.bleu}\n{result.chrf}")
    return 0
