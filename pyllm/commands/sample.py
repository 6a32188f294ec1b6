"""``pyllm sample``: continue a prompt with a model (a ``pyllm train`` run, a Hugging Face model or a GGUF file),
streaming the text."""
import sys


def register(subparsers):
    parser = subparsers.add_parser("sample", help="generate text from a trained model",
                                   description="Generate text from a model (a `pyllm train` run, a Hugging Face "
                                               "model directory or a .gguf file), printing it as it comes.")
    parser.add_argument("--model", "--checkpoint", dest="model", default="out/shakespeare-char", metavar="PATH",
                        help="a run directory of `pyllm train` (default: out/shakespeare-char), a Hugging Face "
                             "model directory (GPT-2, Llama) or a .gguf file")
    parser.add_argument("--prompt", default="\n", help="the text to continue (default: a newline)")
    parser.add_argument("--max-new-tokens", type=int, default=500, metavar="N", help="tokens to generate")
    parser.add_argument("--num-samples", type=int, default=1, metavar="N", help="independent samples")
    parser.add_argument("--temperature", type=float, default=0.8, help="> 1 more random, < 1 more conservative")
    parser.add_argument("--top-k", type=int, default=200, help="sample among the k most likely tokens (0: all)")
    parser.add_argument("--top-p", type=float, help="sample among the most likely tokens of total probability p")
    parser.add_argument("--repetition-penalty", type=float, default=1.0, help="HF's penalty (> 1 repeats less)")
    parser.add_argument("--greedy", action="store_true", help="always take the most likely token")
    parser.add_argument("--seed", type=int, default=1337, help="random seed (sample i uses seed + i)")
    parser.set_defaults(run=run)


def run(args):
    from pyllm.train.lm import load_model_and_tokenizer, sample_text

    model, tokenizer = load_model_and_tokenizer(args.model)
    for i in range(args.num_samples):
        if args.num_samples > 1:
            print(f"--- sample {i + 1} ---")
        sys.stdout.write(args.prompt)
        sample_text(model, tokenizer, args.prompt, args.max_new_tokens, temperature=args.temperature,
                    top_k=args.top_k or None, top_p=args.top_p, repetition_penalty=args.repetition_penalty,
                    do_sample=not args.greedy, seed=args.seed + i,
                    stream=lambda s: (sys.stdout.write(s), sys.stdout.flush()))
        print()
    return 0
