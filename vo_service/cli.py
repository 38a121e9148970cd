"""The ``cassisjuice`` command: a thin dispatcher over ``vo_service.commands``.

Each subcommand is one module of ``vo_service.commands`` (listed in ``COMMANDS``). Errors
the user can fix (bad arguments, an output directory in the way, unreadable input) are
reported in one line on stderr with exit status 2; an interrupted command exits with 130.
"""

from __future__ import annotations

import argparse
import logging
import sys

from pipeline import __version__

from .commands import UsageError
from .commands import demo as _demo
from .commands import export_dachs as _export_dachs
from .commands import features as _features
from .commands import ingest as _ingest
from .commands import jobs as _jobs
from .commands import reduce as _reduce
from .commands import roles as _roles
from .commands import serve as _serve
from .commands import similar as _similar
from .commands import simulate as _simulate
from .commands import template as _template

__all__ = ["COMMANDS", "build_parser", "main"]

#: the subcommand modules, in the order ``--help`` lists them
COMMANDS = (_simulate, _reduce, _ingest, _serve, _jobs, _roles, _demo, _features, _similar,
            _template, _export_dachs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cassisjuice",
        description="The CASSISjuice Spitzer/IRS atlas: simulate, reduce, publish.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    command = next(c for c in COMMANDS if args.command == c.NAME)
    try:
        return command.run(args)
    except (UsageError, *getattr(command, "USER_ERRORS", ())) as exc:
        parser.exit(2, f"cassisjuice {args.command}: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"cassisjuice {args.command}: interrupted; nothing was published\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
