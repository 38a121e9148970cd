"""Results fetched from PostgreSQL in binary hold the values the text format gives, for
every type a translated query returns (REAL by its shortest digits, as float4out)."""

from __future__ import annotations

import math

import pytest

from vo_service.store import pg_binary

VALUES = ("0.1::real", "1e-5::real", "'inf'::real", "'-inf'::real", "'nan'::real",
          "3.4028235e38::real", "1.17549435e-38::real", "123456.78::real", "16777217::real",
          "NULL::real", "0.1::float8", "1e300::float8", "12::int2", "-7::int4",
          "5000000000::int8", "true", "'x é'::text", "NULL::text",
          "TIMESTAMP '2020-01-02 03:04:05.25'", "1.50::numeric", "ARRAY[1.5, 2.5]::float8[]",
          "ARRAY[0.1, 0.7]::real[]", "'\\x00ff'::bytea", "'abc'::name", "'a'::char(3)")
SELECT = "SELECT " + ", ".join(VALUES)


def _same(text, binary) -> bool:
    if isinstance(text, float) and math.isnan(text):
        return isinstance(binary, float) and math.isnan(binary)
    return type(text) is type(binary) and text == binary


def test_binary_values_equal_text_values(postgres_url):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(postgres_url) as conn:
        text = conn.execute(SELECT).fetchone()
        pg_binary.register(conn)
        cursor = conn.cursor()
        cursor.execute(SELECT, binary=True)
        binary = cursor.fetchone()
    assert len(text) == len(binary) == len(VALUES)
    for i, (t, b) in enumerate(zip(text, binary, strict=True)):
        assert _same(t, b), (i, t, b)
    assert binary[0] == 0.1 and binary[-4] == [0.1, 0.7]  # not 0.10000000149011612
