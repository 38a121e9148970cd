"""ADQL errors: every one names where the problem is (line, column, offending token)."""

from __future__ import annotations

__all__ = ["AdqlError", "AdqlSyntaxError"]


class AdqlError(ValueError):
    """A query that cannot be run: bad syntax, an unknown name or function, a type error.

    ``line`` and ``column`` (from 1) and ``token`` locate it when known; ``str()`` is the
    message a user reads in the DALI error document.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 token: str | None = None) -> None:
        self.message, self.line, self.column, self.token = message, line, column, token
        where = f" at line {line}, column {column}" if line is not None else ""
        near = f" (near {token!r})" if token else ""
        super().__init__(f"{message}{where}{near}")


class AdqlSyntaxError(AdqlError):
    """The query does not follow the ADQL 2.1 grammar."""
