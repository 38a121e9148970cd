"""Translated values: the SQL of an ADQL expression with its type, unit and metadata.

A scalar is one SQL expression. A geometry (ADQL 2.1 sec. 4.2) is kept as the SQL of its
components, never as a database object: a point is (ra, dec), a circle (ra, dec, radius),
a polygon its vertices' coordinates, all in degrees. So no spherical extension is needed
in SQLite or PostgreSQL: predicates become spherical trigonometry on the components plus
the store's HEALPix range prefilter, and a geometry in a result is assembled from its
components into the DALI array (DALI 1.1 sec. 3.3: point double[2], circle double[3],
polygon double[*]).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .schema import ColumnInfo

__all__ = ["GEOMETRY_TYPES", "NUMERIC_TYPES", "Value", "sql_literal"]

NUMERIC_TYPES = ("int", "float")
GEOMETRY_TYPES = ("point", "circle", "polygon")


@dataclass(frozen=True)
class Value:
    """``type``: int, float, str, bool, timestamp, null, unknown, point, circle, polygon.

    ``const`` holds the Python value when the expression is a constant (a number, a
    string, or a geometry's tuple of component floats); ``column`` the metadata when it is
    a plain column reference; ``source`` the FROM item it comes from (for prefilters);
    ``unit`` an astropy unit when known.
    """

    sql: str
    type: str
    parts: tuple[str, ...] = ()
    const: object = None
    is_const: bool = False
    column: ColumnInfo | None = None
    unit: object = None
    aggregate: bool = False
    source: object = field(default=None, compare=False)

    @property
    def geometry(self) -> bool:
        return self.type in GEOMETRY_TYPES

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    def but(self, **changes) -> Value:
        return replace(self, **changes)


def sql_literal(value: object) -> str:
    """A Python constant as an SQL literal (strings quoted, floats exactly)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        text = repr(value)
        return text if any(c in text for c in ".e") else text + ".0"
    return "'" + str(value).replace("'", "''") + "'"
