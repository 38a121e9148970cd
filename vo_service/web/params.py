"""Request parameters as DALI defines them (DALI 1.1 sec. 3.1).

Parameter names are case-insensitive, values case-sensitive; a parameter may repeat (ID,
UPLOAD); GET query strings and POST bodies (urlencoded or multipart, whose string parts
TOPCAT sends with ``Content-Type: text/plain; charset=UTF-8``) are equivalent.
"""

from __future__ import annotations

from flask import Request, request

__all__ = ["Params", "params"]


class Params:
    """Case-insensitive, multi-valued view of a request's parameters."""

    def __init__(self, req: Request) -> None:
        self._values: dict[str, list[str]] = {}
        for source in (req.args, req.form):
            for name in source:
                self._values.setdefault(name.upper(), []).extend(source.getlist(name))
        self._files = {name.upper(): storage for name, storage in req.files.items()}

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value of ``name`` (DALI leaves repeated single-valued parameters to the
        service; the last one wins, as in DaCHS), or ``default``."""
        values = self._values.get(name.upper())
        return values[-1] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self._values.get(name.upper(), []))

    def file(self, name: str):
        """An uploaded file part (werkzeug FileStorage) by form-field name, or None."""
        return self._files.get(name.upper())

    def names(self) -> set[str]:
        return set(self._values)

    def __contains__(self, name: str) -> bool:
        return name.upper() in self._values


def params() -> Params:
    """The parameters of the current request."""
    return Params(request)
