"""``pyllm eval``: the perplexity of a model on text (sliding window, as Hugging Face's guide)."""
import math


def register(subparsers):
    parser = subparsers.add_parser("eval", help="perplexity of a trained model on text",
                                   description="Perplexity of a model (a `pyllm train` run, a Hugging Face "
                                               "model directory or a .gguf file) on a UTF-8 text file, or on "
                                               "a run's own validation split.")
    parser.add_argument("--model", "--checkpoint", dest="model", default="out/shakespeare-char", metavar="PATH",
                        help="a run directory of `pyllm train` (default: out/shakespeare-char), a Hugging Face "
                             "model directory (GPT-2, Llama) or a .gguf file")
    parser.add_argument("--data", metavar="FILE", help="a UTF-8 text file (default: the run's validation split)")
    parser.add_argument("--context-length", type=int, metavar="N", help="window length (default: the model's)")
    parser.add_argument("--stride", type=int, metavar="N", help="window step (default: the context length)")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="evaluate only the first N tokens")
    parser.set_defaults(run=run)


def run(args):
    import os

    import numpy as np

    from pyllm.data import TokenDataset
    from pyllm.eval import perplexity
    from pyllm.train.lm import encode_prompt, load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(args.model)
    if args.data:
        with open(args.data, encoding="utf-8") as f:
            ids = np.asarray(encode_prompt(tokenizer, f.read()), dtype=np.int64)
        source = args.data
    else:
        if not os.path.isfile(os.path.join(args.model, "data", "meta.json")):
            raise ValueError(f"{args.model} has no validation split of its own (not a `pyllm train` run): give --data FILE")
        ids = np.asarray(TokenDataset.load(os.path.join(args.model, "data"), "val").tokens, dtype=np.int64)
        source = "the validation split"
    if args.max_tokens:
        ids = ids[:args.max_tokens]
    # GPT: its learned positions; Llama (no limit): the context it was trained for.
    context = args.context_length or model.max_context or model.config.max_position_embeddings
    ppl = perplexity(model, ids, context, args.stride)
    print(f"perplexity {ppl:.4f} (mean NLL {math.log(ppl):.4f} nats/token) over {len(ids):,} tokens of {source}; "
          f"context {context}, stride {args.stride or context}")
    return 0
