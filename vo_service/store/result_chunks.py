"""The rows of a running read-only query in chunks (``Store.query_chunks``): SQLite's
cursor, or PostgreSQL's (see :class:`PostgresChunks`)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any

from .errors import QueryTimeoutError

__all__ = ["PostgresChunks", "ResultChunks", "SqliteChunks"]

log = logging.getLogger("vo_service.store")

#: a PostgreSQL result of at most this many rows (its LIMIT says so: a MAXREC of 100,000
#: and one more that tells an overflow) is streamed by one statement
#: (:class:`PostgresChunks`). Its time limit is the statement's, so it also runs while
#: the caller encodes the chunks (a fraction of a second for this many rows) and, once
#: the HTTP server's buffer of a response (16 MB in waitress) is full, while a slow client
#: takes it: such a result is then cut short by an in-band error at the limit. A larger
#: result goes through a cursor, whose limit counts the database's time only.
STREAMED_ROWS = 100_001


class ResultChunks:
    """Rows of a running query in chunks (see :meth:`Store.query_chunks`): ``names``,
    iteration over lists of rows, and ``overflow`` once the rows are exhausted."""

    names: list[str]
    overflow: bool = False

    def __init__(self, conn, max_rows: int, timeout_s: float, chunk_rows: int,
                 cancelled: Callable[[], bool] | None, row_bound: int | None = None) -> None:
        self.conn, self.cur = conn, None
        self.max_rows, self.timeout_s, self.chunk_rows = max_rows, timeout_s, chunk_rows
        self.row_bound = row_bound
        self.cancelled = cancelled
        self.spent = 0.0  # seconds spent in the database so far
        self.given = 0

    def _timed_out(self, since: float) -> bool:
        return self.spent + (time.monotonic() - since) > self.timeout_s

    def _error(self) -> QueryTimeoutError:
        if self.cancelled is not None and self.cancelled():
            return QueryTimeoutError("the query was cancelled")
        return QueryTimeoutError(f"query cancelled after {self.timeout_s:g} s")

    def __iter__(self):
        while self.given < self.max_rows:
            wanted = min(self.chunk_rows, self.max_rows - self.given)
            rows = self._fetch(wanted)
            if rows:
                self.given += len(rows)
                yield rows
            if len(rows) < wanted:  # the result is exhausted: no fetch to find out
                return
        self.overflow = bool(self._fetch(1))


class SqliteChunks(ResultChunks):
    """SQLite: the progress handler stops the statement (between fetches, the clock of
    the time limit stands still)."""

    def start(self, sql: str, params: Sequence[Any]) -> None:
        self._since = time.monotonic()
        self.conn.set_progress_handler(self._stop, 10000)
        self.cur = self._run(lambda: self.conn.execute(sql, list(params)))
        self.names = [d[0] for d in self.cur.description]

    def _stop(self) -> int:
        return int(self._timed_out(self._since) or (
            self.cancelled is not None and self.cancelled()))

    def _run(self, call):
        self._since = time.monotonic()
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if self._stop():
                raise self._error() from exc
            raise
        finally:
            self.spent += time.monotonic() - self._since

    def _fetch(self, n: int) -> list[tuple]:
        return self._run(lambda: self.cur.fetchmany(n))

    def close(self) -> None:  # the connection is kept: leave it as it was
        if self.cur is not None:
            self.cur.close()
        self.conn.set_progress_handler(None, 0)


class PostgresChunks(ResultChunks):
    """PostgreSQL: rows in the binary format (``pg_binary``); a cursor declared in a
    read-only transaction, each statement under
    ``statement_timeout`` (the time left); a watcher thread sends the backend a cancel
    request (what ``pg_cancel_backend`` does) as soon as ``cancelled()`` turns true.

    A result that may be large costs two round trips: ``BEGIN READ ONLY``, ``SET LOCAL``,
    ``DECLARE`` (the query, alone in its statement, so it cannot carry a second one) and
    the first ``FETCH`` sent together in libpq's pipeline mode, then ``ROLLBACK`` (which
    closes the cursor); psycopg's server-side cursor and transaction objects took ten
    (measured: 1.4 ms of a 1.7 ms cone query). Any other result costs one round trip and
    one statement, run alone in the session's read-only autocommit (``Store.reader``)
    under the session's ``statement_timeout``, which is set only when it differs from the
    time left by more than a tenth: a result that fits in one chunk (the statement's LIMIT
    says so: TOP n, or all of ``execute_readonly``) is read whole by the client; one of
    at most ``STREAMED_ROWS`` rows is streamed in chunks by libpq's chunked-rows mode
    (libpq 17): a cone of 178 rows 0.7 -> 0.4 ms of the service's CPU, one round trip
    less. The time limit of a cursor's transaction is set again before a fetch only once
    the time left has fallen below 90 % of the limit last set, so it may run over by at
    most a tenth."""

    _CURSOR = "cj_result"

    def start(self, sql: str, params: Sequence[Any]) -> None:
        self._done, self._lock = threading.Event(), threading.Lock()
        self._set_ms, self._first, self._declared, self._stream = 0, None, False, None
        if self.cancelled is not None:
            threading.Thread(target=self._watch, daemon=True, name="query-cancel").start()
        self.cur = self.conn.cursor()
        # one chunk (all of execute_readonly, a query whose LIMIT fits in a chunk) is read
        # by a plain statement; a cursor is declared for chunks, and a statement that is
        # not a query is refused as such (a cursor can only be declared for a SELECT); no
        # parameters: None, so a '%' in the SQL is not a placeholder
        if self.chunk_rows > self.max_rows or (self.row_bound is not None and
                                               self.row_bound <= self.chunk_rows):
            def whole() -> None:
                self._session_timeout()
                self.cur.execute(sql, list(params) or None, binary=True)

            self._run(whole, begin="session")
            self.names = [d[0] for d in self.cur.description]
            return
        if self.row_bound is not None and self.row_bound <= STREAMED_ROWS:
            self._first = self._run(lambda: self._stream_start(sql, params),
                                    begin="session")
            self.names = [d[0] for d in self.cur.description]
            return
        self._declared = True

        def first_chunk() -> list[tuple]:
            # sent together (libpq pipeline mode): one network round trip, not four
            with self.conn.pipeline():
                self.conn.execute("BEGIN READ ONLY")
                self.conn.execute(f"SET LOCAL statement_timeout = {self._set_ms}")
                self.cur.execute(f"DECLARE {self._CURSOR} NO SCROLL CURSOR FOR {sql}",
                                 list(params) or None)
                self.cur.execute(f"FETCH FORWARD {int(min(self.chunk_rows, self.max_rows))}"
                                 f" FROM {self._CURSOR}", binary=True)
            return self.cur.fetchall()

        self._first = self._run(first_chunk, begin="pipelined")
        # the FETCH gives the column names (DECLARE returns no row description)
        self.names = [d[0] for d in self.cur.description]

    def _session_timeout(self) -> None:
        """The session's ``statement_timeout``: the time left, set only when the one set
        before differs from it by more than a tenth (no statement most of the time)."""
        timeout = getattr(self.conn, "cj_statement_timeout_ms", None)
        if timeout is None or not self._set_ms <= timeout <= 1.1 * self._set_ms:
            self.conn.execute(f"SET statement_timeout = {self._set_ms}")
            self.conn.cj_statement_timeout_ms = self._set_ms

    def _stream_start(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        """The statement alone, its rows streamed by libpq's chunked-rows mode; the first
        chunk read."""
        self._session_timeout()
        self._stream = self.cur.stream(sql, list(params) or None, binary=True,
                                       size=self.chunk_rows)
        first = list(islice(self._stream, min(self.chunk_rows, self.max_rows)))
        if self.cur.description is None:
            # no row: psycopg keeps no description of an empty stream; the statement's
            # columns from its plan (LIMIT 0 returns before the plan runs)
            self.cur.execute(f"SELECT * FROM ({sql}) AS cj_columns LIMIT 0",
                             list(params) or None, binary=True)
        return first

    def _watch(self) -> None:
        while not self._done.wait(0.25):
            if self.cancelled():
                with self._lock:  # never once the connection has moved on
                    if not self._done.is_set():
                        self.conn.cancel()
                return

    def _run(self, call, begin: bool | str = False):
        """``call()`` under the time left; ``begin``: open the read-only transaction
        first (True), or ``call`` opens it itself ("pipelined"), or runs in the
        session's autocommit ("session")."""
        import psycopg

        if self.cancelled is not None and self.cancelled():
            raise self._error()
        left = self.timeout_s - self.spent
        if left <= 0:
            raise self._error()
        since = time.monotonic()
        ms = max(1, int(left * 1000))
        try:
            if begin:
                self._set_ms = ms
                if begin is True:
                    self.conn.execute(f"BEGIN READ ONLY; SET LOCAL statement_timeout = {ms}")
            elif self._declared and ms < 0.9 * self._set_ms:
                self.conn.execute(f"SET LOCAL statement_timeout = {ms}")
                self._set_ms = ms
            return call()
        except psycopg.errors.QueryCanceled as exc:
            raise self._error() from exc
        finally:
            self.spent += time.monotonic() - since

    def _fetch_cursor(self, n: int) -> list[tuple]:
        self.cur.execute(f"FETCH FORWARD {int(n)} FROM {self._CURSOR}", binary=True)
        return self.cur.fetchall()

    def _fetch(self, n: int) -> list[tuple]:
        if self._first is not None:  # the rows the first FETCH brought
            rows, self._first = self._first, None
            return rows
        if self._stream is not None:
            return self._run(lambda: list(islice(self._stream, n)))
        if not self._declared:
            return self._run(lambda: self.cur.fetchmany(n))
        return self._run(lambda: self._fetch_cursor(n))

    def close(self) -> None:
        if not hasattr(self, "_done"):
            return
        with self._lock:
            self._done.set()
        try:
            if self._stream is not None:  # unfinished: psycopg cancels the statement
                self._stream.close()
            if self.cur is not None:
                self.cur.close()
        finally:  # read-only: always rolled back, which closes the declared cursor
            try:
                if not self.conn.closed and self.conn.info.transaction_status != 0:
                    self.conn.execute("ROLLBACK")
            except Exception:  # a broken connection: the reader drops it
                log.debug("ROLLBACK failed", exc_info=True)
