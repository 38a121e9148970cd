"""The ``cassisjuice`` subcommands, one module each.

Every module defines ``NAME``, ``add_parser(subparsers)`` (its arguments and help) and
``run(args) -> int``. A mistake the user can fix is raised as :class:`UsageError` (or an
error type the command lists in ``USER_ERRORS``) and reported by ``vo_service.cli`` in one
line with exit status 2.
"""

from __future__ import annotations

import argparse

__all__ = ["UsageError", "int_at_least", "positive_int", "seed"]


class UsageError(Exception):
    """An error in the user's input or environment, reported in one line (exit status 2)."""


def int_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``, with a one-line error otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


positive_int = int_at_least(1)
seed = int_at_least(0)
