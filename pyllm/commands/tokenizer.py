"""``pyllm tokenizer train`` and ``pyllm tokenizer encode``."""
import sys

BUILTIN = ("gpt2", "cl100k", "o200k")


def register(subparsers):
    parser = subparsers.add_parser("tokenizer", help="train a byte-level BPE tokenizer, or encode/decode with one",
                                   description="Train a byte-level BPE tokenizer, or encode and decode text.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser("train", help="train a tokenizer on text files and save it",
                               description="Train a byte-level BPE tokenizer on text files and save it in "
                                           "pyllm's format (load it with BPETokenizer.load).")
    train.add_argument("--input", nargs="+", required=True, metavar="FILE", help="UTF-8 text files")
    train.add_argument("--vocab-size", type=int, required=True, metavar="N",
                       help="256 bytes + merges + special tokens")
    train.add_argument("--out", required=True, metavar="PATH", help="where to write the tokenizer")
    train.add_argument("--pattern", default="gpt2",
                       help="pre-tokenizer: gpt2, cl100k, o200k, none or a regex (default: gpt2)")
    train.add_argument("--special", nargs="+", default=[], metavar="TOKEN",
                       help="special tokens, given the last ids (e.g. '<|endoftext|>')")
    train.add_argument("--min-frequency", type=int, default=2, metavar="K",
                       help="merge only pairs seen at least K times (default: 2)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)

    encode = actions.add_parser("encode", help="print the ids of text (or, with --decode, the text of ids)",
                                description="Print the token ids of TEXT, of --input FILE or of standard "
                                            "input, separated by spaces; with --decode, read ids and print "
                                            "their text.")
    encode.add_argument("--tokenizer", required=True, metavar="PATH_OR_NAME",
                        help="a file written by `pyllm tokenizer train` or BPETokenizer.save, a Hugging Face "
                             "tokenizer.json, or gpt2 / cl100k / o200k with their vocabulary file")
    encode.add_argument("--tiktoken", metavar="FILE", help="the tiktoken rank file of gpt2/cl100k/o200k")
    encode.add_argument("--gpt2", nargs=2, metavar=("ENCODER", "MERGES"),
                        help="GPT-2's encoder.json and vocab.bpe")
    encode.add_argument("text", nargs="?", metavar="TEXT", help="the text (default: --input or standard input)")
    encode.add_argument("--input", metavar="FILE", help="read the text from FILE")
    encode.add_argument("--decode", action="store_true", help="the input is token ids: print their text")
    encode.add_argument("--allow-special", action="store_true",
                        help="encode special tokens' text as the special tokens (default: an error)")
    encode.set_defaults(run=run_encode)


def run_train(args):
    from pyllm.tokenizers import BPETokenizer

    tok = BPETokenizer.train(args.input, args.vocab_size, pattern=args.pattern, special_tokens=args.special,
                             min_frequency=args.min_frequency, show_progress=not args.quiet)
    tok.save(args.out)
    print(f"wrote {args.out}: {tok!r}", file=sys.stderr)
    return 0


def load_tokenizer(args):
    from pyllm.tokenizers import BPETokenizer, formats

    if args.tokenizer in BUILTIN:
        if args.tiktoken:
            return BPETokenizer.from_tiktoken(args.tiktoken, pattern=args.tokenizer)
        if args.gpt2 and args.tokenizer == "gpt2":
            return BPETokenizer.from_gpt2(*args.gpt2)
        files = "--tiktoken FILE or --gpt2 ENCODER MERGES" if args.tokenizer == "gpt2" else "--tiktoken FILE"
        raise ValueError(f"--tokenizer {args.tokenizer} needs its vocabulary: {files}")
    if args.tiktoken or args.gpt2:
        raise ValueError(f"--tiktoken and --gpt2 go with --tokenizer {'/'.join(BUILTIN)}, not a file")
    return formats.load_any(args.tokenizer)


def read_input(args):
    if args.text is not None and args.input is not None:
        raise ValueError("give the text either as TEXT or as --input FILE, not both")
    if args.text is not None:
        return args.text
    if args.input is not None:
        with open(args.input, encoding="utf-8", newline="") as f:
            return f.read()
    return sys.stdin.read()


def run_encode(args):
    tok = load_tokenizer(args)
    data = read_input(args)
    if args.decode:
        try:
            ids = [int(x) for x in data.split()]
        except ValueError:
            raise ValueError("--decode reads whitespace-separated integer ids") from None
        sys.stdout.write(tok.decode(ids))
    else:
        ids = tok.encode(data, allowed_special="all" if args.allow_special else frozenset())
        sys.stdout.write(" ".join(map(str, ids)) + "\n")
    return 0
