"""The `longform` command. Each command group lives in its own module and
imports heavy libraries only when it runs."""

from __future__ import annotations

import argparse
import sys

from ..errors import LongformError, UsageError


class _Help(argparse.HelpFormatter):
    """Help that shows each option's default, where it has one and its text does not say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        unset = default is None or default is False or default == "" or default == argparse.SUPPRESS  # 0 is a value
        if unset or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """Bad options get one line and exit code 2, not a usage dump; --help shows the defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        # "longform: error:" for subcommands too, like every other error line
        self.exit(2, f"longform: error: {message}\n")


def check_utf8(argv: list[str]) -> None:
    """Python hands over bytes that are not UTF-8 as lone surrogates; they could reach no file or
    JSON intact, so say which argument holds them."""
    for number, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            raise UsageError(f"argument {number} is not valid UTF-8: {shown}") from None


def _logging(args: argparse.Namespace) -> None:
    """Records of the `longform` loggers to stderr, at the asked level. Without -v or --log-level
    nothing: the package's NullHandler keeps Python's last-resort handler from printing warnings
    the CLI already tells in its own words (retries)."""
    import logging

    level = args.log_level or {0: None, 1: "info"}.get(args.verbose, "debug")
    if level is None:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("longform")
    logger.handlers[:] = [logging.NullHandler(), handler]
    logger.setLevel(level.upper())


def _error(message: str) -> int:
    # one line, whatever the message holds (a server's reply, a surrogate from a file name)
    line = " ".join(message.split()) or "failed"
    sys.stderr.write(f"longform: error: {line}\n".encode("utf-8", "backslashreplace").decode("utf-8"))
    return 2


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from . import data as data_commands
    from . import doctor, serve, train, write
    from . import eval as eval_commands

    parser = _Parser(prog="longform", description="Make language models write ultra-long text.")
    parser.add_argument("--version", action="version", version=f"longform {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log what happens to stderr: -v info (backends loaded, plans, sections, retries), "
                             "-vv debug")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                        help="the level of longform's log records (Python logging; -v is info)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    write.register(commands)
    eval_commands.register(commands)
    data_commands.register(commands)
    train.register(commands)
    serve.register(commands)
    doctor.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        check_utf8(argv)
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "overrides_allowed", False):  # only `train` takes config keys
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
        _logging(args)
        return args.handler(args) or 0
    except LongformError as exc:
        return _error(str(exc))
    except OSError as exc:  # a path that cannot be read or written: the user's to fix, not a bug
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print("longform: interrupted; finished work is saved (rerun the same command to continue; "
              "for `write`, add --resume)", file=sys.stderr)
        return 130
