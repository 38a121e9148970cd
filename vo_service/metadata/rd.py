"""Parsing and checking a DaCHS resource descriptor (see the package docstring)."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

__all__ = ["COLUMN_TYPES", "Column", "MetadataError", "Resource", "Table",
           "default_rd_path", "load"]

#: DaCHS column type -> (VOTable datatype, ADQL type, SQLite type, PostgreSQL type)
COLUMN_TYPES = {
    "text": ("char", "VARCHAR", "TEXT", "TEXT"),
    "smallint": ("short", "SMALLINT", "INTEGER", "SMALLINT"),
    "integer": ("int", "INTEGER", "INTEGER", "INTEGER"),
    "bigint": ("long", "BIGINT", "INTEGER", "BIGINT"),
    "real": ("float", "REAL", "REAL", "REAL"),
    "double precision": ("double", "DOUBLE", "REAL", "DOUBLE PRECISION"),
    "boolean": ("boolean", "BOOLEAN", "INTEGER", "BOOLEAN"),
    "bytea": ("unsignedByte", "BLOB", "BLOB", "BYTEA"),
}


class MetadataError(ValueError):
    """The resource descriptor is malformed or declares an invalid unit, UCD or type."""


@dataclass(frozen=True)
class Column:
    """A column: name, DaCHS type, unit (VOUnit), UCD, utype, description, verbosity."""

    name: str
    type: str
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str = ""
    verb_level: int = 20
    required: bool = False

    @property
    def votable_datatype(self) -> str:
        return COLUMN_TYPES[self.type][0]

    @property
    def adql_type(self) -> str:
        return COLUMN_TYPES[self.type][1]

    @property
    def principal(self) -> bool:
        """TAP_SCHEMA principal flag: the columns shown by default (verbLevel <= 1)."""
        return self.verb_level <= 1


@dataclass(frozen=True)
class Table:
    """A table of the resource; ``adql`` tables are visible through TAP."""

    id: str
    schema: str
    description: str
    columns: tuple[Column, ...]
    primary: str | None = None
    adql: bool = True
    indexed: tuple[str, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.id}"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.qualified_name} has no column {name!r}")


@dataclass(frozen=True)
class Resource:
    """The resource: metadata items (name -> values) and its tables by id."""

    schema: str
    meta: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)

    def first(self, name: str, default: str = "") -> str:
        values = self.meta.get(name)
        return values[0] if values else default

    def table(self, table_id: str) -> Table:
        try:
            return self.tables[table_id]
        except KeyError:
            raise KeyError(f"no table {table_id!r} in schema {self.schema}") from None


def default_rd_path() -> Path:
    """``resdir/cassisjuice/q.rd`` of this checkout or installation."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "resdir" / "cassisjuice" / "q.rd"
        if candidate.exists():
            return candidate
    raise MetadataError("resdir/cassisjuice/q.rd not found beside the package")


def _text(element: ET.Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def _check_unit(unit: str, where: str) -> None:
    from astropy import units as u

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            u.Unit(unit, format="vounit")
    except (ValueError, Warning) as exc:
        raise MetadataError(f"{where}: unit {unit!r} is not a VOUnit ({exc})") from None


def _check_ucd(ucd: str, where: str) -> None:
    from astropy.io.votable.ucd import check_ucd

    if not check_ucd(ucd, check_controlled_vocabulary=True):
        raise MetadataError(f"{where}: {ucd!r} is not a valid UCD1+")


def _column(element: ET.Element, where: str) -> Column:
    name = element.get("name")
    if not name:
        raise MetadataError(f"{where}: a column without a name")
    where = f"{where}.{name}"
    kind = element.get("type", "real")
    if kind not in COLUMN_TYPES:
        raise MetadataError(f"{where}: unknown type {kind!r}")
    unit, ucd = element.get("unit") or None, element.get("ucd") or None
    if unit:
        _check_unit(unit, where)
    if ucd:
        _check_ucd(ucd, where)
    return Column(name, kind, unit, ucd, element.get("utype") or None,
                  element.get("description", ""), int(element.get("verbLevel", "20")),
                  element.get("required", "False").lower() == "true")


def _table(element: ET.Element, schema: str) -> Table:
    table_id = element.get("id")
    if not table_id:
        raise MetadataError("a table without an id")
    where = f"{schema}.{table_id}"
    columns = tuple(_column(c, where) for c in element.findall("column"))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise MetadataError(f"{where}: duplicate column names")
    description = next((_text(m) for m in element.findall("meta")
                        if m.get("name") == "description"), "")
    primary = element.get("primary")
    if primary and primary not in names:
        raise MetadataError(f"{where}: primary key {primary!r} is not a column")
    indexed = tuple(i.get("columns", "") for i in element.findall("index"))
    return Table(table_id, schema, description, columns, primary,
                 element.get("adql", "False").lower() == "true", indexed)


@cache
def load(path: str | Path | None = None) -> Resource:
    """The resource described by ``path`` (default: the project's q.rd), checked."""
    path = Path(path) if path else default_rd_path()
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise MetadataError(f"cannot read {path}: {exc}") from exc
    schema = root.get("schema")
    if root.tag != "resource" or not schema:
        raise MetadataError(f"{path}: not a resource descriptor with a schema")
    meta: dict[str, list[str]] = {}
    for m in root.findall("meta"):
        meta.setdefault(m.get("name", ""), []).append(_text(m))
    tables = {t.id: t for t in (_table(e, schema) for e in root.findall("table"))}
    return Resource(schema, {k: tuple(v) for k, v in meta.items()}, tables)
