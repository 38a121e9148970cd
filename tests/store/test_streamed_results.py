"""PostgreSQL results of at most ``STREAMED_ROWS`` rows, streamed by one statement in the
session's read-only autocommit (``store.result_chunks.PostgresChunks``): the same rows in
chunks as a plain SELECT, overflow told, writes refused, the time limit and cancellation
kept, and the connection fit for the next query however the stream ended."""

from __future__ import annotations

import threading
import time
from contextlib import closing

import pytest

from vo_service.store import QueryTimeoutError, open_store
from vo_service.store.result_chunks import STREAMED_ROWS

N = 250
SLOW = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 100000000) SELECT count(*) FROM n")


@pytest.fixture(scope="module")
def store(postgres_url):
    store = open_store(postgres_url)
    with closing(store.connect(readonly=False)) as conn:
        conn.execute("CREATE TABLE numbers (i integer, name text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO numbers VALUES (%s, %s)",
                            [(i, f"n{i}" if i % 3 else None) for i in range(N)])
        conn.commit()
    yield store
    store.close()


def _chunks(store, sql: str, max_rows: int, chunk_rows: int, timeout_s: float = 10,
            cancelled=None, row_bound: int | None = None):
    with store.query_chunks(sql, [], max_rows, timeout_s, cancelled, chunk_rows,
                            row_bound=max_rows + 1 if row_bound is None else row_bound
                            ) as result:
        chunks = list(result)
        return result.names, chunks, result.overflow


def test_rows_in_chunks_as_a_plain_select(store):
    with store.reader() as conn:
        expected = conn.execute("SELECT i, name FROM numbers ORDER BY i").fetchall()
    names, chunks, overflow = _chunks(store, "SELECT i, name FROM numbers ORDER BY i",
                                      1000, 40)
    assert names == ["i", "name"] and not overflow
    assert [len(c) for c in chunks] == [40] * 6 + [10]
    assert [row for chunk in chunks for row in chunk] == expected
    # MAXREC reached: the rows up to it, and the overflow told
    names, chunks, overflow = _chunks(store, "SELECT i FROM numbers ORDER BY i", 100, 40)
    assert sum(map(len, chunks)) == 100 and overflow
    assert chunks[-1][-1] == (99,)


def test_an_empty_result_has_its_columns(store):
    names, chunks, overflow = _chunks(store, "SELECT i AS x, name FROM numbers WHERE i < 0",
                                      1000, 40)
    assert names == ["x", "name"] and chunks == [] and not overflow


@pytest.mark.parametrize("row_bound", [None, 30])  # streamed; read whole (TOP 30)
def test_the_statement_runs_alone_in_autocommit(store, row_bound):
    """No transaction around it: one statement; the session's time limit set once."""
    with store.reader() as conn:
        conn.execute("SET statement_timeout = 0")
        conn.cj_statement_timeout_ms = 0
    _, chunks, _ = _chunks(store, "SELECT i FROM numbers ORDER BY i LIMIT 30", 1000, 40,
                           row_bound=row_bound)
    assert [len(c) for c in chunks] == [30]
    with store.reader() as conn:
        assert conn.autocommit and conn.info.transaction_status == 0  # idle
        assert conn.execute("SHOW statement_timeout").fetchone()[0] in ("10s", "9999ms")
    assert STREAMED_ROWS > 1000


def test_writes_are_refused(store):
    with pytest.raises(Exception, match=r"(?i)read.?only"):
        _chunks(store, "DELETE FROM numbers RETURNING i", 1000, 40)
    assert _chunks(store, "SELECT count(*) FROM numbers", 1000, 40)[1] == [[(N,)]]


def test_the_time_limit_and_the_next_query(store):
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError):
        _chunks(store, SLOW, 1000, 40, timeout_s=0.3)
    assert time.monotonic() - start < 10
    # a longer limit is set again for the next query, which runs to its end
    assert _chunks(store, "SELECT count(*) FROM numbers", 1000, 40)[1] == [[(N,)]]
    with store.reader() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] != "300ms"


def test_cancelled_while_running(store):
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError, match="cancelled"):
        _chunks(store, SLOW, 1000, 40, timeout_s=60, cancelled=stop.is_set)
    assert time.monotonic() - start < 10
    assert _chunks(store, "SELECT count(*) FROM numbers", 1000, 40)[1] == [[(N,)]]


def test_a_stream_left_early_leaves_the_connection_fit(store):
    """The caller stops after the first chunk (a client gone): the statement is cancelled
    and the connection answers the next query."""
    with store.query_chunks("SELECT a.i FROM numbers a, numbers b", [], 10_000, 10, None,
                            40, row_bound=10_001) as result:
        first = next(iter(result))
        assert len(first) == 40
    assert _chunks(store, "SELECT count(*) FROM numbers", 1000, 40)[1] == [[(N,)]]
