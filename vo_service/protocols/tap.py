"""TAP 1.1 queries: parameters, uploads, execution and result documents (issue 5).

Flask-free, so the sync endpoint and the async job executor share it:

* :func:`parse_query` checks LANG, QUERY, MAXREC, RESPONSEFORMAT and UPLOAD (TAP 1.1
  sec. 2.3 and 2.5; DALI 1.1 sec. 3: names case-insensitive, the last value wins);
* :func:`run_query` translates the ADQL (``vo_service.adql``) with the uploaded tables,
  runs it read-only with the time limit and MAXREC + 1 rows (to know about overflow),
  and writes the result in the format asked for (``vo_service.votable.formats``).

Uploads (TAP 1.1 sec. 2.5.2; DALI 1.1 sec. 3.4.5) are read by ``tap_upload``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from vo_service.adql import AdqlError
from vo_service.adql.schema import Schema
from vo_service.adql.translate import translate
from vo_service.store import QueryTimeoutError, Store
from vo_service.votable.formats import TableWriter

from .tap_upload import TapError, Upload, parse_uploads

__all__ = ["FORMATS", "TapError", "TapQuery", "parse_query", "run_query"]

#: RESPONSEFORMAT values -> (writer name, MIME type); TAP 1.1 sec. 2.7.1, DALI 1.1 sec. 3.3
FORMATS: dict[str, tuple[str, str]] = {}
for _names, _kind, _mime in (
        (("votable", "application/x-votable+xml", "text/xml"), "votable/default",
         "application/x-votable+xml"),
        (("votable/td", "votabletd", "application/x-votable+xml;serialization=tabledata"),
         "votable", "application/x-votable+xml"),
        (("votable/b2", "votable/binary2", "application/x-votable+xml;serialization=binary2"),
         "votable/b2", "application/x-votable+xml;serialization=binary2"),
        (("csv", "text/csv", "text/csv;header=present"), "csv", "text/csv;header=present"),
        (("tsv", "text/tab-separated-values"), "tsv", "text/tab-separated-values"),
        (("fits", "application/fits"), "fits", "application/fits"),
        (("json", "application/json"), "json", "application/json")):
    for _name in _names:
        FORMATS[_name] = (_kind, _mime)

@dataclass(frozen=True)
class TapQuery:
    query: str
    maxrec: int
    format: str  # a FORMATS key
    uploads: tuple[Upload, ...] = field(default_factory=tuple)

    binary_default: bool = False  # VOTable without a serialization: BINARY2 (see below)

    @property
    def writer(self) -> str:
        kind = FORMATS[self.format][0]
        if kind == "votable/default":
            # a VOTable without a named serialization: TABLEDATA for GET requests (browsers
            # and curl users read it; clients.md sec. 9 C.17), BINARY2 for POST (TOPCAT,
            # pyvo, astropy read it; 40 % of the bytes, and much faster to write)
            return "votable/b2" if self.binary_default else "votable"
        return kind

    @property
    def mime(self) -> str:
        if self.writer == "votable/b2":
            return "application/x-votable+xml;serialization=binary2"
        return FORMATS[self.format][1]


def parse_format(value: str | None) -> str:
    name = (value or "votable").strip()
    key = name.lower().replace(" ", "")
    if key not in FORMATS:
        raise TapError(f"unsupported RESPONSEFORMAT {name!r}: use one of votable, "
                       "votable/b2, csv, tsv, fits, json (or their MIME types)")
    return key


def parse_query(get: Callable[[str], str | None], part: Callable[[str], bytes | None],
                settings, binary_default: bool = False) -> TapQuery:
    """The TAP query of a request; ``get(name)`` gives the last value of a parameter,
    ``part(name)`` the content of a multipart file part; ``binary_default``: a VOTable
    without a named serialization is written as BINARY2 (POST requests, async jobs)."""
    request = get("REQUEST")
    if request is not None and request.lower() != "doquery":
        raise TapError(f"REQUEST={request} is not supported: use doQuery (or omit it)")
    lang = get("LANG")
    if lang is None:
        raise TapError("LANG is missing: use LANG=ADQL")
    if lang.upper() not in ("ADQL", "ADQL-2.0", "ADQL-2.1"):
        raise TapError(f"unsupported LANG {lang!r}: this service speaks ADQL (2.0, 2.1)")
    query = get("QUERY")
    if not query or not query.strip():
        raise TapError("QUERY is missing or empty")
    maxrec = settings.default_maxrec
    text = get("MAXREC")
    if text not in (None, ""):
        try:
            maxrec = int(text)
        except ValueError:
            raise TapError(f"MAXREC must be a non-negative integer, not {text!r}") from None
        if maxrec < 0:
            raise TapError(f"MAXREC must be a non-negative integer, not {text!r}")
        maxrec = min(maxrec, settings.hard_maxrec)
    fmt = parse_format(get("RESPONSEFORMAT") or get("FORMAT"))
    uploads = parse_uploads(get("UPLOAD"), part, settings)
    return TapQuery(query, maxrec, fmt, uploads, binary_default)


#: rows fetched, checked and encoded at a time: with the widest result rows (a few kB),
#: a chunk stays within tens of MB, so a request's memory does not grow with its result
CHUNK_ROWS = 5000
_INT_RANGES = {"unsignedByte": (0, 255), "short": (-2**15, 2**15 - 1),
               "int": (-2**31, 2**31 - 1), "long": (-2**63, 2**63 - 1)}
_FLOAT_MAX = float(np.finfo(np.float32).max)
_DOUBLE_INT = float(np.finfo(np.float64).max)  # an int beyond it has no double


def run_query(store: Store, schema: Schema, tap: TapQuery, timeout_s: float,
              base_url: str, cancelled: Callable[[], bool] | None = None,
              chunk_rows: int = CHUNK_ROWS, errors_in_band: bool = True) -> Iterator[bytes]:
    """The result document of ``tap`` in its RESPONSEFORMAT, in pieces as the rows come
    from the database (``cancelled()`` true stops the query: an aborted or deleted job).

    Everything that can be the user's mistake (ADQL, the database refusing the query,
    the time limit, a value its column's type cannot hold) raises :class:`TapError`
    before the first piece when it happens in the translation or the first chunk of
    rows; after that the document ends with the error in-band (DALI 1.1 sec. 4.4.2), or,
    unless ``errors_in_band`` (an async job, which fails instead), the iteration raises
    it. The translation counts in the time limit."""
    started = time.monotonic()
    try:
        translation, sql = _translate(store, schema, tap)
    except AdqlError as exc:
        raise TapError(f"ADQL error: {exc}") from exc
    left = timeout_s - (time.monotonic() - started)
    if left <= 0:
        raise _timeout(timeout_s)
    fields = translation.fields()
    descriptors, ids = _datalink(fields, base_url)
    writer = TableWriter(tap.writer, fields, infos=[("QUERY", tap.query)],
                         descriptors=descriptors, field_ids=ids)
    chunks = _chunks(store, translation, sql, tap.maxrec, left, cancelled, chunk_rows,
                     base_url)
    try:
        overflow = next(chunks)  # the query runs; the user's errors are still a 400
        columns = next(chunks, [])
        first = writer.start() + writer.rows(columns)
        # a first chunk short of chunk_rows was the whole result: the document is
        # complete now, its length known (no chunked transfer encoding)
        whole = not columns or len(columns[0]) < chunk_rows
        if whole or tap.writer == "fits":  # FITS: written at the end anyway, so every
            for columns in chunks:          # error is still a 400
                writer.rows(columns)
        if whole:
            document = first + b"".join(writer.end(overflow=overflow[0]))
    except BaseException:
        chunks.close()
        writer.close()
        raise
    if whole:
        chunks.close()
        writer.close()
        return _Whole([document])
    return _pieces(first, chunks, writer, overflow, errors_in_band)


class _Whole(list):
    """A complete result document as a one-piece list (a WSGI server sends a list with
    its Content-Length), closable like the streamed pieces."""

    def close(self) -> None:
        """Nothing to release: the query and the writer are closed already."""


def _pieces(first: bytes, chunks, writer: TableWriter, overflow: list,
            errors_in_band: bool) -> Iterator[bytes]:
    try:
        yield first
        try:
            for columns in chunks:
                yield writer.rows(columns)
        except TapError as exc:  # after the first rows: in-band
            if not errors_in_band:
                raise
            yield from writer.end(error=str(exc))
            return
        yield from writer.end(overflow=overflow[0])
    finally:
        chunks.close()
        writer.close()


#: longer queries are translated every time: the cache holds at most 512 x 8 kB of text
_CACHED_QUERY_CHARS = 8192


@lru_cache(maxsize=512)
def _translated(query: str, schema: Schema, dialect: str, limit: int):
    """The translation of a query without uploads, kept per (text, schema, dialect,
    MAXREC): a query sent again (a client polling, a script in a loop) skips the parse
    and translation (0.1-0.5 ms; the database still runs it every time). A Translation
    is only read once made, so requests share it."""
    return translate(query, schema, dialect, limit=limit)


def _translate(store: Store, schema: Schema, tap: TapQuery):
    if tap.uploads or len(tap.query) > _CACHED_QUERY_CHARS:
        schema = schema.with_tables([u.table for u in tap.uploads])
        translation = translate(tap.query, schema, store.dialect, limit=tap.maxrec + 1)
    else:
        translation = _translated(tap.query, schema, store.dialect, tap.maxrec + 1)
    sql = translation.sql
    if tap.uploads:
        ctes = ", ".join(u.cte for u in tap.uploads)
        sql = f"WITH {ctes}, {sql[5:]}" if sql.startswith("WITH ") else \
            f"WITH {ctes} {sql}"
    if any(c.value.type == "star" for c in translation.columns):  # pragma: no cover
        raise TapError("SELECT * of a table of unknown columns")
    return translation, sql


def _timeout(timeout_s: float) -> TapError:
    return TapError(f"the query ran longer than {timeout_s:g} s and was cancelled; use the "
                    "asynchronous endpoint (/tap/async) for long queries")


def _chunks(store: Store, translation, sql: str, maxrec: int, timeout_s: float, cancelled,
            chunk_rows: int, base_url: str):
    """First a one-item list that will hold the overflow flag, then column-wise chunks."""
    fields = translation.fields()
    relative = [c.value.column is not None and c.value.column.relative_url
                for c in translation.columns]
    overflow = [False]
    try:
        with store.query_chunks(sql, [], maxrec, timeout_s, cancelled, chunk_rows,
                                translation.row_bound) as rows:
            yield overflow
            for chunk in rows:
                values = translation.values(chunk)
                for cells, is_url in zip(values, relative, strict=True):
                    if is_url:  # URLs the store keeps relative (ObsCore access_url)
                        cells[:] = [None if c is None else f"{base_url}/{c}" for c in cells]
                _check_values(fields, values)
                yield values
            overflow[0] = rows.overflow
    except QueryTimeoutError as exc:
        raise _timeout(timeout_s) if "cancelled after" in str(exc) else \
            TapError("the query was cancelled") from exc
    except store.database_errors() as exc:  # e.g. comparing a number with a string
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TapError(f"the database refused the translated query: {message}") from exc


def _check_values(fields, columns) -> None:
    """Refuse a value its column's VOTable type cannot hold (SQLite keeps any value in any
    column: CAST(100000 AS SMALLINT) stays 100000; PostgreSQL refuses such queries)."""
    for spec, values in zip(fields, columns, strict=True):
        if spec.arraysize not in (None, "1") or spec.datatype in ("char", "unicodeChar",
                                                                  "boolean"):
            continue
        if spec.datatype == "double" and all(map(float.__instancecheck__, values)):
            continue  # every value a float (no null): one scan in C, nothing to refuse
        present = values if None not in values else [v for v in values if v is not None]
        bad = _misfit(spec.datatype, present) if present else None
        if bad is not None:
            raise TapError(f"the value {str(bad)[:40]!r} of column {spec.name} does not fit "
                           f"its type {spec.datatype}: CAST it to a wider type")


def _misfit(datatype: str, values: list):
    """A value of ``values`` (no None) that a ``datatype`` column cannot hold, or None."""
    kinds = set(map(type, values))
    if not kinds <= {int, float, bool}:  # a string (or bytes) in a numeric column
        return next(v for v in values if type(v) not in (int, float, bool))
    if datatype in _INT_RANGES:
        low, high = _INT_RANGES[datatype]
        if float in kinds:
            whole = next((v for v in values if isinstance(v, float) and not (
                math.isfinite(v) and v.is_integer())), None)
            if whole is not None:
                return whole
        smallest, largest = min(values), max(values)
        return smallest if smallest < low else (largest if largest > high else None)
    if datatype == "double":  # every Python number but a huge int fits a double
        if int not in kinds or max(map(abs, values)) <= _DOUBLE_INT:
            return None
        return next(v for v in values if abs(v) > _DOUBLE_INT)
    array = np.array(values, dtype=float)
    too_big = np.flatnonzero((np.abs(array) > _FLOAT_MAX) & np.isfinite(array))
    return values[int(too_big[0])] if len(too_big) else None


def _datalink(fields, base_url: str):
    """A Datalink service descriptor when the result has dataset identifiers (ObsCore's
    obs_publisher_did): pyvo's iter_datalinks and TOPCAT's Activation Actions follow it
    from any row (Datalink 1.1 sec. 4)."""
    from vo_service.votable import ParamSpec, ServiceDescriptor

    for index, spec in enumerate(fields):
        if spec.ucd == "meta.ref.ivoid" and spec.datatype == "char":
            descriptor = ServiceDescriptor(
                "datalink", f"{base_url}/datalink/links",
                "ivo://ivoa.net/std/DataLink#links-1.1",
                inputs=(ParamSpec("ID", "char", ref="datalink_id", ucd="meta.id;meta.main"),),
                description="Links of a spectrum: variants, preview, cut-out")
            return [descriptor], {index: "datalink_id"}
    return [], {}
