"""What ADQL can see: tables and columns with their VOTable metadata, and where they are.

:func:`atlas_schema` builds it from the resdir (the one metadata source) for a store: the
published names (``cassisjuice.positions``, ``ivoa.obscore``, ``TAP_SCHEMA.*``), their
physical SQL names in that store, and which columns a HEALPix index covers. Uploaded
tables (``TAP_UPLOAD.name``) are added per query with :meth:`Schema.with_tables`.

An *open* table (``open=True``) accepts any column name with unknown type: the ADQL test
corpus's own tables (``stars``, ``t1`` ...) are declared that way by its test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .errors import AdqlError

__all__ = ["ColumnInfo", "Schema", "TableInfo", "atlas_schema"]

@dataclass(frozen=True)
class ColumnInfo:
    """A column: its ADQL name (case as published) and VOTable FIELD metadata."""

    name: str
    datatype: str = "char"  # VOTable datatype
    arraysize: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    xtype: str | None = None
    description: str | None = None
    principal: bool = False
    indexed: bool = False
    std: bool = False  # TAP_SCHEMA.columns.std: defined by a standard (ObsCore)
    relative_url: bool = False  # stored relative to the service: results prefix the base


@dataclass(frozen=True)
class Geometry:
    """A geometry column computed from plain columns, e.g. ObsCore ``s_region`` of this
    atlas: always ``Circle ICRS s_ra s_dec s_fov/2`` (store.ingest writes it so), so ADQL
    geometry functions see it as ``CIRCLE(s_ra, s_dec, s_fov / 2)``; selected, it is the
    stored STC-S string (ObsCore 1.1 types s_region as a string region)."""

    kind: str  # 'circle' or 'point'
    ra: str
    dec: str
    radius: str | None = None  # a column name
    radius_scale: float = 1.0


@dataclass(frozen=True)
class TableInfo:
    schema: str  # published schema name, e.g. 'cassisjuice', 'TAP_SCHEMA', 'TAP_UPLOAD'
    name: str  # published table name without schema
    physical: str  # SQL text naming it in FROM (already quoted)
    columns: tuple[ColumnInfo, ...] = ()
    description: str = ""
    open: bool = False
    healpix: str | None = None  # the order-29 HEALPix column indexing (ra, dec) ...
    position: tuple[str, str] | None = None  # ... of these columns
    geometries: dict[str, Geometry] = field(default_factory=dict)
    kind: str = "table"
    utype: str | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, key: str, delimited: bool) -> ColumnInfo | None:
        for col in self.columns:
            if col.name.startswith('"'):  # a reserved word, published delimited
                if delimited and bare_name(col.name) == key:
                    return col
            elif (col.name == key) if delimited else (col.name.lower() == key):
                return col
        return None


def bare_name(name: str) -> str:
    """A column name without the quotes TAP_SCHEMA keeps on reserved words ("size")."""
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


class Schema:
    """Tables by (schema, name); lookups follow ADQL 2.1 sec. 2.1.3 case rules."""

    def __init__(self, tables: Iterable[TableInfo], search_path: Sequence[str] = ()) -> None:
        self.tables = list(tables)
        self.search_path = tuple(search_path)

    def with_tables(self, extra: Sequence[TableInfo]) -> Schema:
        return Schema([*self.tables, *extra], self.search_path)

    def find(self, parts: Sequence, at=None) -> TableInfo:
        """The table named by ``parts`` (ast.Ident: [[catalog.]schema.]table)."""
        *qualifiers, name = parts
        schema = qualifiers[-1] if qualifiers else None
        hits = [t for t in self.tables if _same(name, t.name) and
                (schema is None or _same(schema, t.schema))]
        if len(hits) > 1 and schema is None:  # an unqualified name: the search path
            for preferred in self.search_path:
                first = [t for t in hits if t.schema == preferred]
                if len(first) == 1:
                    return first[0]
        if len(hits) == 1:
            return hits[0]
        written = ".".join(str(p) for p in parts)
        line, column = (at.line, at.column) if at is not None else (None, None)
        if not hits:
            raise AdqlError(f"no table {written} (TAP_SCHEMA.tables lists the tables)",
                            line, column, written)
        raise AdqlError(f"the table name {written} is ambiguous: qualify it with its schema "
                        f"({', '.join(t.qualified for t in hits)})", line, column, written)


def _same(ident, published: str) -> bool:
    return ident.name == published if ident.delimited else \
        ident.name.lower() == published.lower()


def _column_info(col, table_id: str, indexed: set[str]) -> ColumnInfo:
    arraysize = "*" if col.votable_datatype == "char" else None
    return ColumnInfo(col.name, col.votable_datatype, arraysize, col.unit, col.ucd,
                      col.utype, None, col.description or None, col.principal,
                      col.name in indexed, table_id == "obscore" and col.name != "healpix",
                      relative_url=(table_id, col.name) == ("obscore", "access_url"))


def atlas_schema(store) -> Schema:
    """The ADQL view of ``store``: its resdir tables, and TAP_SCHEMA."""
    from vo_service.protocols.tap_schema import tap_schema_tables
    from vo_service.store import PUBLISHED

    tables = []
    for table in store.resource.tables.values():
        if not (table.adql or table.obscore):
            continue
        schema, name = PUBLISHED.get(table.id, f"{table.schema}.{table.id}").split(".")
        indexed = {c.strip() for spec in table.indexed for c in spec.split(",")}
        columns = [_column_info(c, table.id, indexed) for c in table.columns]
        names = {c.name for c in columns}
        position = ("ra", "dec") if {"ra", "dec"} <= names else \
            ("s_ra", "s_dec") if {"s_ra", "s_dec"} <= names else None
        geometries = {}
        if {"s_region", "s_ra", "s_dec", "s_fov"} <= names:
            geometries["s_region"] = Geometry("circle", "s_ra", "s_dec", "s_fov", 0.5)
        tables.append(TableInfo(schema, name, store.physical(table.id), tuple(columns),
                                table.description, healpix="healpix" if "healpix" in names
                                else None, position=position, geometries=geometries,
                                utype="ivo://ivoa.net/std/ObsCore#core-1.1"
                                if table.id == "obscore" else None))
    tables.extend(tap_schema_tables(store.dialect))
    return Schema(tables)
