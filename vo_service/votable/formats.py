"""A result table in the formats TAP offers (TAP 1.1 sec. 2.7.1, DALI 1.1 sec. 3.3.1).

:class:`TableWriter` writes a result as it comes, chunk of rows after chunk of rows
(column-wise values for each chunk), so a result of any size is written in bounded
memory; :func:`write_table` is the same for one chunk held in memory:

* ``votable`` / ``votable/b2``: the VOTable of :func:`~vo_service.votable.results_votable`
  (TABLEDATA or BINARY2), overflow marked after the TABLE;
* ``csv`` (RFC 4180, header line of column names) and ``tsv`` (tabs; tabs and newlines in
  values become spaces): nulls are empty fields, DALI arrays space-separated;
* ``fits``: a binary table extension, units kept, nulls as NaN or TNULL; its header
  needs the row count and string widths, so the rows are spooled (in memory up to
  ``SPOOL_BYTES``, then to a temporary file) and written once all have come;
* ``json``: ``{"metadata": [...], "data": [[...], ...], "overflow": bool}``.

Only the VOTable formats can say a result overflowed in-band; the others state it in
the ``overflow`` key (json) or not at all (csv, tsv, fits), as DALI allows. A failure
after the first rows ends a VOTable with ``QUERY_STATUS=ERROR`` (DALI 1.1 sec. 4.4.2) and
a JSON document with an ``error`` key; CSV and TSV simply stop.
"""

from __future__ import annotations

import base64
import json
import math
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from pipeline.fits_bytes import card, header

from .data import binary2_bytes, cell_texts, numeric_array, tabledata_rows
from .writer import FieldSpec, ServiceDescriptor, results_votable_parts, table_end

__all__ = ["SPOOL_BYTES", "TableWriter", "write_table"]

#: FITS results are spooled in memory up to this size, then in a temporary file
SPOOL_BYTES = 16_000_000


def _spec(col, ident: str | None = None) -> FieldSpec:
    return FieldSpec(col.name, col.datatype, col.arraysize, col.unit, col.ucd, col.utype,
                     col.xtype, col.description, ident)


def _csv_field(text: str) -> str:
    """RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _tsv_field(text: str) -> str:
    """TSV (TAP 1.1 sec. 3.2): no tab or line break inside a value."""
    return text.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _clean_column(texts: list[str], clean) -> list[str]:
    joined = "\x01".join(texts)
    if not any(c in joined for c in ',"\r\n\t'):
        return texts  # one scan: most columns need no quoting
    return [clean(t) for t in texts]


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, np.ndarray):
        return [float(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return _json_value(float(value))
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


class TableWriter:
    """Writes one result table in ``kind`` (votable, votable/b2, csv, tsv, fits, json):
    :meth:`start`, :meth:`rows` for each chunk of column-wise values, :meth:`end`.

    ``fields``: ColumnInfo-like objects (name, datatype, arraysize, unit, ucd, utype,
    xtype, description). VOTables also carry the INFOs and the service ``descriptors``,
    whose PARAMs ``ref`` the fields given IDs in ``field_ids`` (field index -> ID).
    """

    def __init__(self, kind: str, fields: Sequence, *,
                 infos: Sequence[tuple[str, str]] = (),
                 descriptors: Sequence[ServiceDescriptor] = (),
                 field_ids: Mapping[int, str] | None = None) -> None:
        if kind not in ("votable", "votable/b2", "csv", "tsv", "fits", "json"):
            raise ValueError(f"unknown table format {kind!r}")
        self.kind, self.fields = kind, list(fields)
        self._infos, self._descriptors, self._ids = infos, descriptors, field_ids or {}
        self._carry = b""  # BINARY2 bytes not yet base64-encoded (not a multiple of 3)
        self._rows_written = 0
        self._tail = b""
        self._fits: _FitsSpool | None = None

    def start(self) -> bytes:
        """The document up to the first row."""
        if self.kind in ("votable", "votable/b2"):
            specs = [_spec(f, self._ids.get(i)) for i, f in enumerate(self.fields)]
            b2 = self.kind == "votable/b2"
            head, self._tail = results_votable_parts(
                specs, infos=list(self._infos), descriptors=self._descriptors,
                serialization="binary2" if b2 else "tabledata")
            return head + (b'<DATA><BINARY2><STREAM encoding="base64">' if b2 else
                           b"<DATA><TABLEDATA>\n")
        if self.kind in ("csv", "tsv"):
            clean = _csv_field if self.kind == "csv" else _tsv_field
            sep, end = (",", "\r\n") if self.kind == "csv" else ("\t", "\n")
            return (sep.join(clean(f.name) for f in self.fields) + end).encode("utf-8")
        if self.kind == "json":
            metadata = [{k: v for k, v in (("name", f.name), ("datatype", f.datatype),
                                           ("arraysize", f.arraysize), ("unit", f.unit),
                                           ("ucd", f.ucd), ("utype", f.utype),
                                           ("xtype", f.xtype), ("description", f.description))
                         if v is not None} for f in self.fields]
            return (json.dumps({"metadata": metadata})[:-1] + ', "data": [').encode("utf-8")
        self._fits = _FitsSpool(self.fields)
        return b""

    def rows(self, columns: Sequence[Sequence]) -> bytes:
        """A chunk of rows: one value list per field (None = null)."""
        n = len(columns[0]) if columns else 0
        if not n:
            return b""
        first, self._rows_written = self._rows_written == 0, self._rows_written + n
        if self.kind == "votable":
            return tabledata_rows(self.fields, columns).encode("utf-8")
        if self.kind == "votable/b2":
            data = self._carry + binary2_bytes(self.fields, columns)
            cut = len(data) - len(data) % 3
            self._carry = data[cut:]
            return base64.b64encode(data[:cut])
        if self.kind in ("csv", "tsv"):
            clean = _csv_field if self.kind == "csv" else _tsv_field
            # numbers, booleans and numeric arrays never hold a separator, quote or line
            # break: only text columns are scanned
            texts = [_clean_column(cell_texts(f, col), clean)
                     if f.datatype in ("char", "unicodeChar") else cell_texts(f, col)
                     for f, col in zip(self.fields, columns, strict=True)]
            sep, end = (",", "\r\n") if self.kind == "csv" else ("\t", "\n")
            # rows joined by C loops (map of str.join), no Python frame per row
            return (end.join(map(sep.join, zip(*texts, strict=True))) + end).encode("utf-8")
        if self.kind == "json":
            data = [[_json_value(v) for v in row] for row in zip(*columns, strict=True)]
            text = json.dumps(data, allow_nan=False)[1:-1]
            return (text if first else ", " + text).encode("utf-8")
        self._fits.add(columns)
        return b""

    def end(self, *, overflow: bool = False, error: str | None = None) -> Iterator[bytes]:
        """The rest of the document: the trailing QUERY_STATUS of a VOTable (OVERFLOW, or
        ERROR with ``error`` when the rows stopped early), the whole FITS file."""
        if self.kind in ("votable", "votable/b2"):
            close = (base64.b64encode(self._carry) + b"</STREAM></BINARY2></DATA>\n  "
                     if self.kind == "votable/b2" else b"</TABLEDATA></DATA>\n  ")
            yield close + table_end(overflow=overflow, error=error) + \
                self._tail[len(b"</TABLE>"):]
        elif self.kind == "json":
            extra = {"overflow": overflow} if error is None else {"overflow": overflow,
                                                                  "error": error}
            yield ("], " + json.dumps(extra)[1:]).encode("utf-8")
        elif self.kind == "fits" and error is None:
            yield from self._fits.write()

    def close(self) -> None:
        """Release what the writer holds (a FITS spool) when the result stops early."""
        if self._fits is not None:
            self._fits.file.close()

    def stream(self, chunks: Iterable[Sequence[Sequence]], overflow=lambda: False
               ) -> Iterator[bytes]:
        """The whole document of ``chunks``; ``overflow()`` is asked at the end."""
        try:
            yield self.start()
            for columns in chunks:
                yield self.rows(columns)
            yield from self.end(overflow=overflow())
        finally:
            self.close()


def write_table(kind: str, fields: Sequence, columns: Sequence[Sequence], *,
                overflow: bool = False, infos: Sequence[tuple[str, str]] = (),
                descriptors: Sequence[ServiceDescriptor] = (),
                field_ids: Mapping[int, str] | None = None) -> bytes:
    """One result table held in memory as ``kind`` (see :class:`TableWriter`)."""
    writer = TableWriter(kind, fields, infos=infos, descriptors=descriptors,
                         field_ids=field_ids)
    return b"".join(writer.stream([columns] if columns else [], lambda: overflow))


class _FitsSpool:
    """The rows of a FITS result kept until the header can be written (NAXIS2, the width
    of each string and array column): pickled chunks in a spooled temporary file."""

    def __init__(self, fields: Sequence) -> None:
        self.fields = list(fields)
        # closed by write() or close(), whichever the result comes to
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.n = 0
        self.widths = [1] * len(self.fields)  # bytes of a string, items of an array

    def add(self, columns: Sequence[Sequence]) -> None:
        for i, (spec, values) in enumerate(zip(self.fields, columns, strict=True)):
            if spec.datatype in ("char", "unicodeChar"):
                values = ["" if v is None else str(v) for v in values]
                self.widths[i] = max([self.widths[i], *(len(v.encode("utf-8", "replace"))
                                                        for v in values)])
            elif spec.arraysize not in (None, "1"):
                self.widths[i] = max([self.widths[i], *(len(v) for v in values
                                                        if v is not None)])
        pickle.dump([list(c) for c in columns], self.file, pickle.HIGHEST_PROTOCOL)
        self.n += len(columns[0])

    def _dtype(self) -> np.dtype:
        kinds = []
        for spec, width in zip(self.fields, self.widths, strict=True):
            if spec.datatype in ("char", "unicodeChar"):
                kinds.append(f"S{width}")
            elif spec.arraysize not in (None, "1"):
                kinds.append((">f8", (width,)))
            elif spec.datatype in ("float", "double"):
                kinds.append(">f8")
            elif spec.datatype == "boolean":
                kinds.append("S1")  # FITS logical: 'T', 'F' or 0 for null
            else:
                kinds.append(">i8")
        return np.dtype([(f"c{i}", k) for i, k in enumerate(kinds)])

    def _header(self, dtype: np.dtype) -> bytes:
        """The primary header and the BINTABLE's (FITS 4.0 sec. 7.3), written as cards
        (``pipeline.fits_bytes``; astropy's header objects took 6 ms of a small result)."""
        names: set[str] = set()
        cards = [card("XTENSION", "BINTABLE"), card("BITPIX", 8), card("NAXIS", 2),
                 card("NAXIS1", dtype.itemsize), card("NAXIS2", self.n), card("PCOUNT", 0),
                 card("GCOUNT", 1), card("TFIELDS", len(self.fields))]
        for i, spec in enumerate(self.fields):
            name = spec.name
            while name.lower() in names:
                name += "_"
            names.add(name.lower())
            sub = dtype[i]
            if spec.datatype in ("char", "unicodeChar"):
                form = f"{sub.itemsize}A"
            elif spec.datatype == "boolean":
                form = "L"
            elif sub.subdtype is not None:
                form = f"{sub.shape[0]}D"
            else:
                form = "D" if spec.datatype in ("float", "double") else "K"
            cards += [card(f"TTYPE{i + 1}", name), card(f"TFORM{i + 1}", form)]
            if spec.unit:
                cards.append(card(f"TUNIT{i + 1}", spec.unit))
            if form == "K":
                cards.append(card(f"TNULL{i + 1}", _INT_NULL))
        primary = header([card("SIMPLE", True), card("BITPIX", 8), card("NAXIS", 0),
                          card("EXTEND", True)])
        return primary + header(cards)

    def _records(self, dtype: np.dtype, columns: list[list]) -> bytes:
        """The rows as big-endian records, filled column by column."""
        n = len(columns[0])
        out = np.zeros(n, dtype)
        for i, (spec, values) in enumerate(zip(self.fields, columns, strict=True)):
            name = f"c{i}"
            if spec.datatype in ("char", "unicodeChar"):
                out[name] = [b"" if v is None else str(v).encode("utf-8", "replace")
                             for v in values]
            elif spec.datatype == "boolean":
                truth, nulls = numeric_array(values, bool)
                out[name] = np.where(nulls, b"\0", np.where(truth, b"T", b"F"))
            elif dtype[i].subdtype is not None:
                out[name] = np.nan
                for row, v in enumerate(values):
                    if v is not None:
                        out[name][row, :len(v)] = v
            elif spec.datatype in ("float", "double"):
                out[name] = numeric_array(values, np.float64)[0]
            else:
                array, nulls = numeric_array(values, np.int64)
                array[nulls] = _INT_NULL
                out[name] = array
        return out.tobytes()

    def write(self) -> Iterator[bytes]:
        """The FITS file: a primary HDU, then the binary table."""
        dtype = self._dtype()
        yield self._header(dtype)
        self.file.seek(0)
        while True:
            try:
                columns = pickle.load(self.file)
            except EOFError:
                break
            yield self._records(dtype, columns)
        size = self.n * dtype.itemsize
        yield b"\0" * (-size % 2880)
        self.file.close()


_INT_NULL = -(2**63)  # TNULL of integer columns (FITS 4.0 sec. 7.3.2)
