"""``pyllm bleu HYP REF [REF ...]``: corpus BLEU (and chrF) of a system output file, as sacrebleu prints it."""


def register(subparsers):
    parser = subparsers.add_parser("bleu", help="corpus BLEU (and chrF) of a hypothesis file against references",
                                   description="Corpus BLEU of HYP against one or more reference files, equal to "
                                               "sacrebleu's default (13a tokenization, exp smoothing, case kept). "
                                               "Files are UTF-8 with one segment per line; line i of every "
                                               "reference file is a reference for line i of HYP.")
    parser.add_argument("hypotheses", metavar="HYP", help="the system output, one segment per line")
    parser.add_argument("references", nargs="+", metavar="REF", help="reference files, one segment per line")
    parser.add_argument("--chrf", action="store_true", help="also print chrF2 (character 6-grams, beta 2)")
    parser.set_defaults(run=run)


def read_lines(path):
    """The lines of a UTF-8 file without their line ends ("\\n" only, as sacrebleu splits them)."""
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line.rstrip("\n") for line in f]


def run(args):
    from pyllm.eval import bleu, chrf

    hypotheses = read_lines(args.hypotheses)
    references = [read_lines(path) for path in args.references]
    print(bleu(hypotheses, references))
    if args.chrf:
        print(chrf(hypotheses, references))
    return 0
