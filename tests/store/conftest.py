"""Stores for the tests: SQLite in a temporary file, PostgreSQL in a fresh database on the
server of the machine (``tests.postgres``)."""

from __future__ import annotations

import pytest

from tests.postgres import fresh_database


@pytest.fixture(scope="module")
def postgres_url():
    with fresh_database() as url:
        yield url
