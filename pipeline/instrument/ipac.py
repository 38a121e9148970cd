"""Reader for the IPAC table format as the Spitzer Science Center writes it.

The SSC calibration tables (WAVSAMP, FLUXCON, SLCF, PSF_FOV, FRAMETABLE, ...) are IPAC
ASCII tables with a few habits of their own that generic readers trip over:

* keyword lines start with a backslash and come in several spellings:
  ``\\character channelID = 0``, ``\\channelID = 1``, ``\\VALIDFROM="2453940.0000"``;
  everything else after a backslash (``\\comment ...``, ``\\ comment=...``, free text)
  is kept as a comment;
* the header has two to four ``|``-delimited lines: names, types, units, null values;
  the column boundaries are the ``|`` positions of the name line;
* some tables hold several blocks, each with its own header (FLUXCON of SH repeats the
  header after a ``\\character channelID`` line): blocks with identical column names are
  concatenated;
* the last data line may lack a trailing newline, and data may be right-aligned under the
  header cells or simply separated by blanks.

Values are parsed by the declared type (``int``, ``real``/``double``/``float``, ``char``).
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["IpacError", "IpacTable", "read_ipac_table"]

log = logging.getLogger(__name__)

_KEYWORD = re.compile(
    r"^\\\s*(?:(?:character|char|int|integer|real|double|float)\s+)?"
    r"(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*(?P<value>.*)$"
)
_INT_TYPES = {"int", "integer", "i", "long", "l"}
_REAL_TYPES = {"real", "double", "float", "r", "d", "f"}


class IpacError(ValueError):
    """An IPAC table could not be read; the message names the file and the line."""


@dataclass(frozen=True)
class IpacTable:
    """An IPAC table: named columns, their units and the header keywords and comments.

    Attributes
    ----------
    columns : dict of str to numpy.ndarray
        Column name to values (int64, float64 or str arrays), in file order.
    units : dict of str to str
        Column name to unit string ('' when none is declared).
    keywords : dict of str to str
        ``\\key = value`` header keywords (quotes stripped, last one wins).
    comments : tuple of str
        All other backslash lines, without the backslash.
    path : str
        Where the table came from (for messages).
    """

    columns: dict[str, np.ndarray]
    units: dict[str, str] = field(default_factory=dict)
    keywords: dict[str, str] = field(default_factory=dict)
    comments: tuple[str, ...] = ()
    path: str = ""

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise IpacError(
                f"{self.path}: no column {name!r} (columns: {', '.join(self.columns)})"
            ) from None

    def __len__(self) -> int:
        first = next(iter(self.columns.values()), None)
        return 0 if first is None else len(first)

    @property
    def colnames(self) -> list[str]:
        return list(self.columns)


def _cells(line: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Split a ``|a|b|`` header line into cell texts and their (start, end) columns."""
    bars = [i for i, ch in enumerate(line) if ch == "|"]
    spans = list(itertools.pairwise(bars))
    return [line[a + 1 : b].strip() for a, b in spans], spans


def _convert(raw: list[str], typ: str, where: str) -> np.ndarray:
    typ = typ.lower()
    try:
        if typ in _INT_TYPES:
            return np.array([int(float(v)) for v in raw], dtype=np.int64)
        if typ in _REAL_TYPES:
            return np.array([float(v) for v in raw], dtype=np.float64)
    except ValueError as exc:
        raise IpacError(f"{where}: {exc}") from None
    return np.array(raw, dtype=str)


class _Block:
    def __init__(self, names: list[str], spans: list[tuple[int, int]]):
        self.names = names
        self.spans = spans
        self.types = ["char"] * len(names)
        self.units = [""] * len(names)
        self.n_header = 1
        self.rows: list[list[str]] = []

    def add_header(self, cells: list[str]) -> None:
        cells = (cells + [""] * len(self.names))[: len(self.names)]
        if self.n_header == 1:
            self.types = [c or "char" for c in cells]
        elif self.n_header == 2:
            self.units = cells
        self.n_header += 1

    def add_row(self, line: str, where: str) -> None:
        tokens = line.split()
        if len(tokens) == len(self.names):
            self.rows.append(tokens)
            return
        # char columns may contain blanks: fall back on the header's cell boundaries
        cells = [line[a : b + 1].strip() if a < len(line) else "" for a, b in self.spans]
        numeric_split = any(
            " " in c for c, t in zip(cells, self.types, strict=True) if t.lower() != "char"
        )
        if len(cells) != len(self.names) or any(c == "" for c in cells) or numeric_split:
            raise IpacError(
                f"{where}: expected {len(self.names)} values, found {len(tokens)}: {line!r}"
            )
        self.rows.append(cells)


def read_ipac_table(path: str | Path) -> IpacTable:
    """Read an SSC-style IPAC table.

    Parameters
    ----------
    path : str or Path
        The ``.tbl`` file.

    Returns
    -------
    IpacTable

    Raises
    ------
    IpacError
        If the file is missing, has no ``|`` header, or a data line does not fit the header.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise IpacError(f"{path}: cannot read IPAC table: {exc.strerror or exc}") from None

    keywords: dict[str, str] = {}
    comments: list[str] = []
    blocks: list[_Block] = []
    current: _Block | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{path}:{number}"
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("\\"):
            match = _KEYWORD.match(stripped)
            if match and not match["key"].lower().startswith("comment"):
                keywords[match["key"]] = match["value"].strip().strip("'\"").strip()
            else:
                comments.append(stripped[1:].strip())
            continue
        if stripped.startswith("|"):
            names, spans = _cells(line)
            if current is None or current.rows:
                current = _Block(names, spans)
                blocks.append(current)
            else:
                current.add_header(names)
            continue
        if current is None:
            # free text before the header: not IPAC, but CASSIS tables carry an unprefixed
            # citation line there; kept as a comment (a file of only text still fails below)
            comments.append(stripped)
            continue
        current.add_row(line, where)

    if not blocks:
        raise IpacError(f"{path}: not an IPAC table (no '|' column header line)")
    first = blocks[0]
    rows: list[list[str]] = []
    for block in blocks:
        if block.names != first.names:
            raise IpacError(f"{path}: table blocks with different columns: {block.names}")
        rows.extend(block.rows)
    columns = {
        name: _convert([r[i] for r in rows], first.types[i], f"{path}: column {name!r}")
        for i, name in enumerate(first.names)
    }
    units = dict(zip(first.names, first.units, strict=True))
    log.debug("read %s: %d rows, columns %s", path, len(rows), first.names)
    return IpacTable(columns, units, keywords, tuple(comments), str(path))
