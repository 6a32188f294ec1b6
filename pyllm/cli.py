"""The ``pyllm`` command line: ``pyllm COMMAND ...``. Each command is a module pyllm/commands/<name>.py
whose ``register(subparsers)`` adds its parser and sets ``run`` (a function of the parsed arguments that
returns the exit status); a new command is a new module named in COMMANDS."""
import argparse
import importlib
import sys

COMMANDS = ["train", "sample", "eval", "translate", "tokenizer", "bleu", "explain_attention", "embed"]


def build_parser():
    parser = argparse.ArgumentParser(prog="pyllm", description="pyllm: train and use language models.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"pyllm.commands.{name}").register(subparsers)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (ValueError, TypeError, OSError) as e:  # bad input or files: a message, not a traceback
        print(f"pyllm {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
