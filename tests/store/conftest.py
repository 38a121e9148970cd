"""Stores for the tests: SQLite in a temporary file, PostgreSQL in a fresh database on the
server of the machine (skipped only when it is unreachable outside CI)."""

from __future__ import annotations

import os
import secrets

import pytest

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def postgres_url():
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        if os.environ.get("CI"):
            raise
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    name = "cj_test_" + secrets.token_hex(4)
    admin.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()
