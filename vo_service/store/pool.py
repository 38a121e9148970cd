"""Pooled PostgreSQL connections (psycopg_pool) for callers that take a connection per
operation and close it: the UWS job store (``protocols/uws_jobs.py``).

A new connection costs about 11 ms on this VM against 1 ms for a pooled one (100
``SELECT 1`` round trips each), and a UWS request makes several job-store operations.

psycopg_pool, when the database is down, makes ``getconn`` wait for its reconnection
attempts, which back off exponentially; a request would hang for the pool's whole timeout
and, after a restart, until the next attempt. So the wait for a pooled connection is
short, and past it one direct connection is made instead: refused at once while the
database is down (the caller answers 503), working as soon as it is back, and the
overflow when every pooled connection is busy.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["PooledConnections"]

log = logging.getLogger(__name__)

#: seconds to wait for a pooled connection before connecting directly
POOL_WAIT_S = 0.5


class _Pooled:
    """A pooled connection whose ``close()`` gives it back (the pool rolls back an
    unfinished transaction and drops a broken connection)."""

    def __init__(self, pool, conn) -> None:
        self._pool, self._conn = pool, conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.putconn(conn)


class PooledConnections:
    """``PooledConnections(connect_direct, url, max_size)()``: a connection from the
    pool, or from ``connect_direct()`` when none comes within :data:`POOL_WAIT_S`.

    The pool is made lazily (after a gunicorn fork, never before) and checks each
    connection before handing it out, so one a database restart killed is replaced."""

    def __init__(self, connect_direct, url: str, max_size: int = 8) -> None:
        self._direct = connect_direct
        self._url = url
        self._max_size = max_size
        self._pool = None
        self._lock = threading.Lock()

    def _get_pool(self):
        with self._lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                self._pool = ConnectionPool(
                    self._url, min_size=1, max_size=self._max_size, open=True,
                    check=ConnectionPool.check_connection, kwargs={"connect_timeout": 10},
                    name="cassisjuice-uws")
            return self._pool

    def __call__(self):
        from psycopg_pool import PoolTimeout

        pool = self._get_pool()
        try:
            return _Pooled(pool, pool.getconn(timeout=POOL_WAIT_S))
        except PoolTimeout:
            return self._direct()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
