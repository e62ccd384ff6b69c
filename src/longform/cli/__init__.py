"""The `longform` command. Each command group lives in its own module and
imports heavy libraries only when it runs."""

from __future__ import annotations

import argparse
import sys

from ..errors import LongformError


class _Parser(argparse.ArgumentParser):
    """Bad options get one line and exit code 2, not a usage dump."""

    def error(self, message: str):
        # "longform: error:" for subcommands too, like every other error line
        self.exit(2, f"longform: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from . import data as data_commands
    from . import doctor, serve, train, write
    from . import eval as eval_commands

    parser = _Parser(prog="longform", description="Make language models write ultra-long text.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    write.register(commands)
    eval_commands.register(commands)
    data_commands.register(commands)
    train.register(commands)
    serve.register(commands)
    doctor.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except LongformError as exc:
        print(f"longform: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("longform: interrupted; finished work is saved (rerun the same command to continue; "
              "for `write`, add --resume)", file=sys.stderr)
        return 130
