"""``pyllm explain-attention [SENTENCE]``: multi-head attention worked through, every number printed."""


def register(subparsers):
    parser = subparsers.add_parser(
        "explain-attention", help="print multi-head attention step by step and save heatmaps",
        description="The worked example of multi-head attention (d = 4, h = 2, d_k = d_v = 2): for each head "
                    "the scores q.k^T/sqrt(d_k), the softmax weights and the outputs, then the concatenated "
                    "heads and W_o's output (W_o = identity), and one heatmap PNG of weights per head. Head 1's "
                    "q, k, v for the first word are [0.1, 0.2], [0.3, 0.4], [0.5, 0.6], each next word +0.6; "
                    "head 2 uses the same vectors counted from the last word.")
    parser.add_argument("sentence", nargs="?", default=None, metavar="SENTENCE",
                        help='the words (split on whitespace; default: "The quick brown fox jumps over the '
                             'lazy dog")')
    parser.add_argument("--causal", action="store_true",
                        help="mask the scores above the diagonal: each word attends only to itself and earlier "
                             "words, as in a decoder")
    parser.add_argument("--out", default="attention", metavar="DIR",
                        help="directory for the heatmaps head1.png, head2.png, ... (default: ./attention)")
    parser.add_argument("--model", metavar="DIR",
                        help="explain a trained model's heads instead: the run directory of `pyllm train`; "
                             "SENTENCE is then encoded with its tokenizer (causal, as the model attends)")
    parser.add_argument("--layer", type=int, default=-1,
                        help="with --model: which attention layer (0 = first, default -1 = last)")
    parser.set_defaults(run=run)


def run(args):
    from pyllm.explain import SENTENCE, explain_attention, model_heads, seed_example

    sentence = args.sentence if args.sentence is not None else SENTENCE
    if args.model:
        from pyllm.train.lm import encode_prompt, load_trained

        model, tokenizer, _ = load_trained(args.model)
        ids = encode_prompt(tokenizer, sentence)
        n_layers = len(model.transformer.h) if hasattr(model, "transformer") else len(model.model.layers)
        if not -n_layers <= args.layer < n_layers:
            raise ValueError(f"--layer {args.layer}: the model has {n_layers} layers")
        q, k, v, w_o = model_heads(model, ids, args.layer)
        tokens = [tokenizer.decode([i]).replace(" ", "\u2423").replace("\n", "\u21b5") for i in ids]  # ␣ ↵
        report = explain_attention(q, k, v, tokens, causal=True, w_o=w_o)
    else:
        report = explain_attention(*seed_example(sentence), causal=args.causal)
    print(report)
    print()
    for path in report.save_heatmaps(args.out):
        print(f"wrote {path}")
    return 0
