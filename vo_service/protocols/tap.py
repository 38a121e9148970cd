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

from collections.abc import Callable
from dataclasses import dataclass, field

from vo_service.adql import AdqlError
from vo_service.adql.schema import ColumnInfo, Schema
from vo_service.adql.translate import translate
from vo_service.store import QueryTimeoutError, Store

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


@dataclass
class QueryResult:
    fields: list[ColumnInfo]
    columns: list[list]
    overflow: bool
    query: str


def execute(store: Store, schema: Schema, tap: TapQuery, timeout_s: float,
            base_url: str, cancelled: Callable[[], bool] | None = None) -> QueryResult:
    """Translate and run ``tap`` (AdqlError and TapError are the user's mistakes);
    ``base_url`` completes the URLs the store keeps relative (ObsCore access_url)."""
    schema = schema.with_tables([u.table for u in tap.uploads])
    translation = translate(tap.query, schema, store.dialect, limit=tap.maxrec + 1)
    sql = translation.sql
    if tap.uploads:
        ctes = ", ".join(u.cte for u in tap.uploads)
        sql = f"WITH {ctes}, {sql[5:]}" if sql.startswith("WITH ") else \
            f"WITH {ctes} {sql}"
    if any(c.value.type == "star" for c in translation.columns):  # pragma: no cover
        raise TapError("SELECT * of a table of unknown columns")
    try:
        _, rows, overflow = store.execute_readonly(sql, [], tap.maxrec, timeout_s,
                                                   cancelled)
    except QueryTimeoutError as exc:
        raise TapError(f"the query ran longer than {timeout_s:g} s and was cancelled; "
                       "use the asynchronous endpoint (/tap/async) for long queries") from exc
    except store.database_errors() as exc:  # e.g. comparing a number with a string
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TapError(f"the database refused the translated query: {message}") from exc
    values = translation.values(rows)
    for column, cells in zip(translation.columns, values, strict=True):
        if column.value.column is not None and column.value.column.relative_url:
            cells[:] = [None if c is None else f"{base_url}/{c}" for c in cells]
    return QueryResult(translation.fields(), values, overflow, tap.query)


def run_query(store: Store, schema: Schema, tap: TapQuery, timeout_s: float,
              base_url: str, cancelled: Callable[[], bool] | None = None) -> bytes:
    """The result document of ``tap`` in its RESPONSEFORMAT; ``cancelled()`` true stops
    the query (an aborted or deleted job)."""
    from vo_service.votable.formats import write_table

    try:
        result = execute(store, schema, tap, timeout_s, base_url, cancelled)
    except AdqlError as exc:
        raise TapError(f"ADQL error: {exc}") from exc
    descriptors, ids = _datalink(result.fields, base_url)
    return write_table(tap.writer, result.fields, result.columns, overflow=result.overflow,
                       infos=[("QUERY", result.query)], descriptors=descriptors,
                       field_ids=ids)


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
