"""A fresh PostgreSQL database on the machine's server (127.0.0.1:5432, trust auth) for a
test; skipped only when the server is unreachable outside CI (CI must have it)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def fresh_database(prefix: str = "cj_test_") -> Iterator[str]:
    """The URL of a new empty database, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        if os.environ.get("CI"):
            raise
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    name = prefix + secrets.token_hex(4)
    admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()
