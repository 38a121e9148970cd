"""The atlas store: SQLite (default, one file) or PostgreSQL, schema from ``resdir``.

``open_store(url)`` gives a :class:`Store` for ``sqlite:///path/atlas.sqlite`` (a relative
path after the third slash, an absolute one after a fourth) or
``postgresql://user@host:port/db``. Table names: TAP sees ``cassisjuice.positions``,
``cassisjuice.spectra`` and ``ivoa.obscore`` (:data:`PUBLISHED`); PostgreSQL has those
schemas, SQLite (which has no schemas in one file) prefixes the names
(``cassisjuice_positions``, ``ivoa_obscore``): :meth:`Store.physical` maps one to the other.

Positional tables carry the order-29 ``healpix`` column with a B-tree index; region queries
are a range prefilter plus the exact spherical test (``store.healpix``). Besides the
resdir tables the store keeps ``store_state`` (a content hash per ingested ID) and
``store_meta`` (the coverage MOC), and the UWS job tables (``protocols.uws_jobs``).

User queries run read-only with a row limit, a time limit counting the time spent in the
database, and a ``cancelled()`` hook (an aborted job): :meth:`Store.query_chunks` hands
the rows over in chunks (a server-side cursor on PostgreSQL, whose backend gets a cancel
request; SQLite's progress handler stops the statement), :meth:`Store.execute_readonly`
all at once.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import numpy as np

from vo_service.metadata import COLUMN_TYPES, Resource, Table, load

from . import pg_binary
from .errors import QueryTimeoutError, StoreError, StoreUnavailableError
from .healpix import Region, placeholder, ranges_sql
from .result_chunks import PostgresChunks, SqliteChunks

__all__ = ["PUBLISHED", "QueryTimeoutError", "Store", "StoreError",
           "StoreUnavailableError", "open_store", "quote_identifier"]

log = logging.getLogger(__name__)

#: resdir table id -> the qualified name TAP publishes
PUBLISHED = {"positions": "cassisjuice.positions", "spectra": "cassisjuice.spectra",
             "obscore": "ivoa.obscore", "spectrum_data": "cassisjuice.spectrum_data",
             "exposures": "cassisjuice.exposures"}
#: how long a PostgreSQL store's data_version is trusted before it is read again
_PG_VERSION_TTL_S = 1.0
#: bytes of a read-only SQLite store mapped into memory (SQLite caps it at its compile-time
#: SQLITE_MAX_MMAP_SIZE, 2 GB by default)
SQLITE_MMAP_BYTES = 1 << 30
#: the array columns of spectrum_data, in the order _arrays takes them
_ARRAY_COLUMNS = "wavelength, flux, flux_error, flag, segment"


def _arrays(wl, flux, err, flag, segment) -> dict[str, np.ndarray]:
    """A spectrum's arrays from its spectrum_data blobs."""
    return {"wavelength": np.frombuffer(bytes(wl), "<f8"),
            "flux": np.frombuffer(bytes(flux), "<f8"),
            "flux_error": np.frombuffer(bytes(err), "<f8"),
            "flag": np.frombuffer(bytes(flag), "<i4"), "segment": decode_segments(segment)}


def quote_identifier(name: str) -> str:
    """A double-quoted SQL identifier (quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


class Store:
    """Access to one atlas store (see the module docstring)."""

    def __init__(self, url: str, resource: Resource | None = None) -> None:
        self.url = url
        self.resource = resource or load()
        parsed = urlparse(url)
        if parsed.scheme == "sqlite":
            self.dialect = "sqlite"
            self.path = Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") \
                else None
            if self.path is None or not str(self.path):
                raise StoreError(f"bad SQLite store URL {url!r}: use sqlite:///path")
        elif parsed.scheme in ("postgresql", "postgres"):
            self.dialect = "postgresql"
            self.path = None
        else:
            raise StoreError(f"unknown store URL scheme in {url!r}: use sqlite:///path or "
                             "postgresql://user@host:port/db")
        self.mark = placeholder(self.dialect)
        self._local = threading.local()
        self._open: list = []  # the kept PostgreSQL connections, closed with the store
        self._version: tuple[float, object] = (-math.inf, None)  # (read at, version)
        weakref.finalize(self, _close_all, self._open)

    # ------------------------------------------------------------------ connections
    def connect(self, readonly: bool = True, path: Path | None = None):
        """A new DB-API connection (the caller closes it)."""
        if self.dialect == "sqlite":
            target = path or self.path
            if readonly:
                if not target.exists():
                    raise StoreUnavailableError(f"no atlas store at {target} (run "
                                                "cassisjuice ingest)")
                try:
                    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True, timeout=30,
                                           check_same_thread=False)
                except sqlite3.OperationalError as exc:
                    raise StoreUnavailableError(f"cannot open {target}: {exc}") from exc
                # pages read through a memory map instead of a read() each into a 2 MB
                # cache: a scan of the 20,400-row catalogue 30 -> 15 ms, TOP 100 ORDER
                # BY 11 -> 2 ms (the pages are the kernel's page cache, shared by every
                # connection and process)
                conn.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
                # LIKE case-sensitive, as ADQL's and PostgreSQL's are (set once here, not
                # around every query: two statements less per request)
                conn.execute("PRAGMA case_sensitive_like = ON")
                return conn
            return sqlite3.connect(target, timeout=30, check_same_thread=False)
        import psycopg

        try:
            return psycopg.connect(self.url, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(f"cannot connect to {_redacted(self.url)}: {exc}") \
                from exc

    @contextmanager
    def reader(self):
        """A read-only connection for one request, one kept per thread (a new connection
        costs a connect and, for SQLite, a parse of the schema). SQLite: replaced when the
        file was replaced (ingest publishes a new file with os.replace, which an open
        connection would not see). PostgreSQL: its transaction rolled back after each use,
        replaced if it broke."""
        if self.dialect == "sqlite":
            try:
                stamp = self.path.stat()
                stamp = (stamp.st_ino, stamp.st_mtime_ns)
            except OSError:
                stamp = None
            kept = getattr(self._local, "sqlite", None)
            if kept is None or kept[1] != stamp:
                if kept is not None:
                    kept[0].close()
                self._local.sqlite = kept = (self.connect(), stamp)
                self._open.append(kept[0])
            yield kept[0]
            return
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self.connect()
            # autocommit with read-only transactions as the session default: a lookup is
            # one round trip (no BEGIN before it, no ROLLBACK after it), and nothing can
            # write; execute_readonly opens an explicit transaction for its SET LOCAL
            conn.autocommit = True
            conn.execute("SET default_transaction_read_only = on")
            pg_binary.register(conn)  # query results are fetched in binary
            self._open.append(conn)
        try:
            yield conn
        finally:
            try:
                if conn.info.transaction_status != 0:  # not IDLE: an error left it open
                    conn.rollback()
            except Exception:  # a broken connection is dropped, the next use reconnects
                conn.close()

    def _with_reader(self, work):
        """``work(connection)`` on this thread's reader. PostgreSQL: a kept connection
        found dead (the server restarted or dropped it while it was idle) is dropped and
        the read-only statement run once more on a new one; if that fails too, or no new
        connection can be made, the store is unavailable."""
        if self.dialect == "sqlite":
            with self.reader() as conn:
                return work(conn)
        import psycopg

        lost = (psycopg.OperationalError, psycopg.InterfaceError)
        try:
            with self.reader() as conn:
                return work(conn)
        except lost:
            if not self._drop_dead():
                raise  # the connection is fine: the statement itself failed
            log.info("dropped a dead database connection; running the statement again")
        try:
            with self.reader() as conn:
                return work(conn)
        except lost as exc:
            if not self._drop_dead():
                raise
            raise StoreUnavailableError(f"lost the connection to the database: {exc}") \
                from exc

    def _drop_dead(self) -> bool:
        """Forget this thread's PostgreSQL connection if it is dead; whether it was."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return True
        if not (conn.closed or conn.broken):
            return False
        self._local.conn = None
        conn.close()
        if conn in self._open:
            self._open.remove(conn)
        return True

    def close(self) -> None:
        """Close the connections the store keeps."""
        _close_all(self._open)

    def physical(self, table_id: str) -> str:
        """The quoted physical name of a resdir table (or of its published name)."""
        return _physical_name(self.dialect, table_id)

    # ------------------------------------------------------------------ schema
    def ddl(self) -> list[str]:
        """CREATE statements for every resdir table, its indexes and the store tables."""
        index = 2 if self.dialect == "sqlite" else 3
        blob = "BLOB" if self.dialect == "sqlite" else "BYTEA"
        out = [] if self.dialect == "sqlite" else [
            "CREATE SCHEMA IF NOT EXISTS cassisjuice", "CREATE SCHEMA IF NOT EXISTS ivoa"]
        for table in self.resource.tables.values():
            cols = []
            for col in table.columns:
                kind = COLUMN_TYPES[col.type][index]
                null = " NOT NULL" if col.required else ""
                key = " PRIMARY KEY" if col.name == table.primary else ""
                cols.append(f"{quote_identifier(col.name)} {kind}{null}{key}")
            name = self.physical(table.id)
            out.append(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)})")
            for columns in table.indexed:
                published = PUBLISHED.get(table.id, table.id).replace(".", "_")
                index_name = quote_identifier(f"{published}_{columns.replace(',', '_')}")
                listed = ", ".join(quote_identifier(c.strip()) for c in columns.split(","))
                out.append(f"CREATE INDEX IF NOT EXISTS {index_name} ON {name} ({listed})")
        out.append(f"CREATE TABLE IF NOT EXISTS {self.physical('store_state')} "
                   "(cj_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL)")
        out.append(f"CREATE TABLE IF NOT EXISTS {self.physical('store_meta')} "
                   f"(key TEXT PRIMARY KEY, value {blob} NOT NULL)")
        return out

    def table(self, table_id: str) -> Table:
        return self.resource.table(table_id)

    # ------------------------------------------------------------------ queries
    def _rows(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple]]:
        # PostgreSQL: in binary (``pg_binary``): a spectrum's arrays come as their bytes,
        # not as hex text twice their size
        binary = {} if self.dialect == "sqlite" else {"binary": True}

        def work(conn):
            cur = conn.cursor()
            try:
                cur.execute(sql, list(params), **binary)
                names = [d[0] for d in cur.description]
                return names, cur.fetchall()
            finally:
                cur.close()

        return self._with_reader(work)

    def select(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple]]:
        """Column names and rows of one of the services' own SELECTs (not a user's query:
        no row or time limit), on the kept reader, retried once after a dropped
        PostgreSQL connection."""
        return self._rows(sql, params)

    def region(self, region: Region, table_id: str = "positions",
               columns: Sequence[str] | None = None, limit: int | None = None,
               ra_col: str = "ra", dec_col: str = "dec") -> tuple[list[str], list[tuple]]:
        """Rows of a positional table inside ``region``: HEALPix range prefilter, then the
        exact test."""
        table = self.table(table_id)
        names = columns or [c.name for c in table.columns if c.type != "bytea"]
        for name in names:
            table.column(name)  # KeyError for an unknown column
        prefilter, params = ranges_sql('"healpix"', region.ranges(), self.dialect)
        exact, exact_params = region.sql_contains(
            quote_identifier(ra_col), quote_identifier(dec_col), self.dialect)
        sql = (f"SELECT {', '.join(quote_identifier(n) for n in names)} FROM "
               f"{self.physical(table_id)} WHERE {prefilter} AND {exact}")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._rows(sql, [*params, *exact_params])

    def catalog_row(self, cj_id: str) -> dict[str, Any] | None:
        names, rows = self._rows(f"SELECT * FROM {self.physical('positions')} WHERE "
                                 f"cj_id = {self.mark}", [cj_id])
        return dict(zip(names, rows[0], strict=True)) if rows else None

    def spectra_of(self, cj_id: str) -> list[dict[str, Any]]:
        names, rows = self._rows(f"SELECT * FROM {self.physical('spectra')} WHERE "
                                 f"cj_id = {self.mark} ORDER BY arm, selected DESC, "
                                 "spectrum_id", [cj_id])
        return [dict(zip(names, row, strict=True)) for row in rows]

    def spectra_and_exposure_count(self, cj_id: str) -> tuple[list[dict[str, Any]], int]:
        """:meth:`spectra_of` and :meth:`exposure_count` of an ID in one query (a Datalink
        document is one round trip); the count is 0 when the ID has no spectra."""
        names, rows = self._rows(
            f"SELECT s.*, (SELECT count(*) FROM {self.physical('exposures')} AS e WHERE "
            f"e.cj_id = s.cj_id) FROM {self.physical('spectra')} AS s WHERE s.cj_id = "
            f"{self.mark} ORDER BY s.arm, s.selected DESC, s.spectrum_id", [cj_id])
        names = names[:-1]
        return ([dict(zip(names, row[:-1], strict=True)) for row in rows],
                int(rows[0][-1]) if rows else 0)

    def spectrum_arrays(self, spectrum_id: str) -> dict[str, np.ndarray] | None:
        """wavelength (um), flux and flux_error (Jy), flag, segment of one spectrum."""
        _, rows = self._rows(f"SELECT {_ARRAY_COLUMNS} FROM {self.physical('spectrum_data')}"
                             f" WHERE spectrum_id = {self.mark}", [spectrum_id])
        return _arrays(*rows[0]) if rows else None

    def arrays_of(self, cj_id: str) -> dict[str, dict[str, np.ndarray]]:
        """The arrays of every spectrum of an ID, by spectrum_id, in one query (the ID
        card plots them all)."""
        _, rows = self._rows(
            f"SELECT d.spectrum_id, {', '.join('d.' + c for c in _ARRAY_COLUMNS.split(', '))}"
            f" FROM {self.physical('spectrum_data')} AS d JOIN {self.physical('spectra')} AS"
            f" s ON s.spectrum_id = d.spectrum_id WHERE s.cj_id = {self.mark}", [cj_id])
        return {row[0]: _arrays(*row[1:]) for row in rows}

    def served_spectrum(self, cj_id: str, arm: str, variant: str | None = None
                        ) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        """One spectrum for delivery, in one query (a file request is one round trip):
        its ``spectra`` row plus the position's ``object_name``, ``obs_mjd`` and
        ``provenance``, and its arrays; ``variant`` None: the selected one. None when the
        store does not have it."""
        which = "s.variant = " + self.mark if variant is not None else "s.selected = 1"
        names, rows = self._rows(
            f"SELECT s.*, c.object_name, c.obs_mjd, c.provenance, "
            f"{', '.join('d.' + c for c in _ARRAY_COLUMNS.split(', '))} "
            f"FROM {self.physical('spectra')} AS s JOIN {self.physical('spectrum_data')} AS "
            f"d ON d.spectrum_id = s.spectrum_id LEFT JOIN {self.physical('positions')} AS c "
            f"ON c.cj_id = s.cj_id WHERE s.cj_id = {self.mark} AND s.arm = {self.mark} AND "
            f"{which}", [cj_id, arm, *([variant] if variant is not None else [])])
        if not rows:
            return None
        n = len(names) - 5
        row = dict(zip(names[:n], rows[0][:n], strict=True))
        return row, _arrays(*rows[0][n:])

    def exposure_count(self, cj_id: str) -> int:
        """How many raw exposures (progenitors) the store lists for an ID."""
        _, rows = self._rows(f"SELECT count(*) FROM {self.physical('exposures')} WHERE "
                             f"cj_id = {self.mark}", [cj_id])
        return int(rows[0][0])

    def data_version(self) -> object:
        """A token that changes whenever an ingest changes the store (servers key their
        file caches by it). SQLite: the file's inode and mtime (ingest replaces the file);
        PostgreSQL: the ``data_version`` each ingest writes, read at most once a second, so
        a cache may serve the previous ingest's bytes for up to a second."""
        if self.dialect == "sqlite":
            try:
                stamp = self.path.stat()
            except OSError:
                return None
            return (stamp.st_ino, stamp.st_mtime_ns)
        read_at, version = self._version
        now = time.monotonic()
        if now - read_at > _PG_VERSION_TTL_S:
            version = self.meta_value("data_version")
            self._version = (now, version)
        return version

    def meta_value(self, key: str) -> bytes | None:
        _, rows = self._rows(f"SELECT value FROM {self.physical('store_meta')} WHERE key = "
                             f"{self.mark}", [key])
        return bytes(rows[0][0]) if rows else None

    def database_errors(self) -> tuple[type[Exception], ...]:
        """The DB-API error classes of this backend (a refused query raises one)."""
        if self.dialect == "sqlite":
            return (sqlite3.Error,)
        import psycopg

        return (psycopg.Error,)

    def execute_readonly(self, sql: str, params: Sequence[Any], max_rows: int,
                         timeout_s: float, cancelled: Callable[[], bool] | None = None
                         ) -> tuple[list[str], list[tuple], bool]:
        """Run a (translated, parameterised) SELECT read-only with a row and a time limit:
        returns (column names, at most ``max_rows`` rows, whether more rows existed).
        ``cancelled()`` (polled while the query runs) stops it when it turns true.
        SQLite's LIKE is made case-sensitive, as ADQL's and PostgreSQL's are."""
        with self.query_chunks(sql, params, max_rows, timeout_s, cancelled,
                               chunk_rows=max_rows + 1) as result:
            rows = [row for chunk in result for row in chunk]
            return result.names, rows, result.overflow

    @contextmanager
    def query_chunks(self, sql: str, params: Sequence[Any], max_rows: int, timeout_s: float,
                     cancelled: Callable[[], bool] | None = None, chunk_rows: int = 5000,
                     row_bound: int | None = None):
        """Like :meth:`execute_readonly`, but the rows come in lists of at most
        ``chunk_rows`` from iterating the :class:`ResultChunks` this yields (PostgreSQL: a
        server-side cursor), so a result of any size takes bounded memory; ``row_bound``:
        the most rows ``sql`` can return (its LIMIT), when known. The time limit
        counts the time spent in the database, not the time the caller takes between
        chunks (a slow client); a query cancelled or past its limit raises
        :class:`QueryTimeoutError`."""
        kind = SqliteChunks if self.dialect == "sqlite" else PostgresChunks
        lost: tuple = ()
        if self.dialect != "sqlite":
            import psycopg

            lost = (psycopg.OperationalError, psycopg.InterfaceError)
        for attempt in range(2):
            with self.reader() as conn:
                chunks = kind(conn, max_rows, timeout_s, chunk_rows, cancelled, row_bound)
                try:
                    chunks.start(sql, params)
                except lost as exc:
                    # PostgreSQL: a kept connection the server dropped while it was idle (a
                    # restart) is replaced and the query started once more on a new one
                    # (nothing was read yet), so no client's query is blamed for it
                    chunks.close()
                    if not self._drop_dead():
                        raise  # the connection is fine: the statement itself failed
                    if attempt:
                        raise StoreUnavailableError(
                            f"lost the connection to the database: {exc}") from exc
                    log.info("dropped a dead database connection; starting the query again")
                    continue
                try:
                    yield chunks
                finally:
                    chunks.close()
                return


def _close_all(connections: list) -> None:
    while connections:
        connections.pop().close()


def encode_segments(segment: np.ndarray) -> str:
    """Runs of equal segment names as ``NAME:count`` words."""
    segment = np.asarray(segment)
    if not len(segment):
        return ""
    starts = np.concatenate([[0], np.nonzero(segment[1:] != segment[:-1])[0] + 1])
    counts = np.diff(np.concatenate([starts, [len(segment)]]))
    return " ".join(f"{segment[i]}:{n}" for i, n in zip(starts, counts, strict=True))


@lru_cache(maxsize=256)
def _physical_name(dialect: str, table_id: str) -> str:
    table_id = {v: k for k, v in PUBLISHED.items()}.get(table_id, table_id)
    schema, name = PUBLISHED.get(table_id, f"cassisjuice.{table_id}").split(".")
    if dialect == "sqlite":
        return quote_identifier(f"{schema}_{name}")
    return f"{quote_identifier(schema)}.{quote_identifier(name)}"


def decode_segments(text: str) -> np.ndarray:
    parts = [w.rsplit(":", 1) for w in text.split()]
    if not parts:
        return np.array([], str)
    names, counts = zip(*parts, strict=True)
    return np.repeat(np.array(names), np.array(counts, dtype=np.int64))


def open_store(url: str) -> Store:
    """The store at ``url`` (see the module docstring)."""
    return Store(url)


def _redacted(url: str) -> str:
    """A database URL without its password (for messages and logs)."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
    return urlunparse(parsed._replace(netloc=netloc))
