"""The UWS job store's pooled connections: reused, checked, and a direct connection when
the pool has none to give at once."""

from __future__ import annotations

import pytest

from tests.postgres import fresh_database
from vo_service.store.pool import PooledConnections

psycopg = pytest.importorskip("psycopg")


def _backend(conn) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_connections_are_reused_and_overflow_connects_directly():
    with fresh_database("cj_pool_") as url:
        direct = []

        def connect_direct():
            direct.append(psycopg.connect(url))
            return direct[-1]

        connections = PooledConnections(connect_direct, url, max_size=2)
        try:
            connections._get_pool().wait(timeout=30)  # its first connection is made
            first = connections()
            pid = _backend(first)
            first.commit()
            first.close()
            again = connections()
            assert _backend(again) == pid and not direct  # the same session, given back
            # more at once than the pool holds: the rest are direct connections
            held = [again] + [connections() for _ in range(2)]
            assert len(direct) >= 1 and held[-1] is direct[-1]
            assert len({_backend(conn) for conn in held}) == 3
            for conn in held:
                conn.close()
            killer = psycopg.connect(url, autocommit=True)
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
            killer.close()
            revived = connections()  # the dead one is checked out of the pool
            assert _backend(revived) != pid
            revived.close()
        finally:
            connections.close()
