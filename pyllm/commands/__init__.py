"""The subcommands of the ``pyllm`` command line, one module each (see pyllm/cli.py)."""
