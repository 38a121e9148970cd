"""TAP_SCHEMA (TAP 1.1 sec. 4): its five tables, generated from the resdir, in the store.

The store keeps TAP_SCHEMA as ordinary tables (``tap_schema_tables`` ... in SQLite,
schema ``tap_schema`` in PostgreSQL), rewritten by every ingest from the ADQL view of the
resdir (:func:`vo_service.adql.schema.atlas_schema`), so ADQL queries on TAP_SCHEMA run
like any other and always describe what TAP serves. TAP_SCHEMA describes itself too.
"""

from __future__ import annotations

from vo_service.adql.schema import ColumnInfo, TableInfo, bare_name

__all__ = ["FOREIGN_KEYS", "TAP_SCHEMA_COLUMNS", "tap_schema_tables", "write_tap_schema"]


def _c(name: str, datatype: str, description: str, principal: bool = True,
       ucd: str | None = None) -> ColumnInfo:
    return ColumnInfo(name, datatype, "*" if datatype == "char" else None, None, ucd, None,
                      None, description, principal, False, True)


#: table -> its columns, in TAP 1.1 sec. 4 order ("size" is TAP 1.0's arraysize)
TAP_SCHEMA_COLUMNS: dict[str, tuple[ColumnInfo, ...]] = {
    "schemas": (
        _c("schema_name", "char", "schema name, for reference"),
        _c("utype", "char", "lists the utypes of schemas"),
        _c("description", "char", "describes schemas in the tableset"),
        _c("schema_index", "int", "recommended sort order when listing schemas", False),
    ),
    "tables": (
        _c("schema_name", "char", "the schema this table belongs to"),
        _c("table_name", "char", "the fully qualified table name"),
        _c("table_type", "char", "one of: table, view"),
        _c("utype", "char", "lists the utype of tables in the tableset"),
        _c("description", "char", "describes tables in the tableset"),
        _c("table_index", "int", "recommended sort order when listing tables", False),
    ),
    "columns": (
        _c("table_name", "char", "the table this column belongs to"),
        _c("column_name", "char", "the column name"),
        _c("utype", "char", "lists the utypes of columns in the tableset"),
        _c("ucd", "char", "lists the UCDs of columns in the tableset"),
        _c("unit", "char", "lists the unit used for column values in the tableset"),
        _c("description", "char", "describes the columns in the tableset"),
        _c("datatype", "char", "lists the VOTable datatypes of columns"),
        _c("arraysize", "char", "lists the size of variable-length columns"),
        _c("xtype", "char", "a DALI or custom extended type annotation"),
        _c('"size"', "int", "deprecated: use arraysize", False),
        _c("principal", "int", "a principal column; 1 means 1, 0 means 0"),
        _c("indexed", "int", "an indexed column; 1 means 1, 0 means 0"),
        _c("std", "int", "a standard column; 1 means 1, 0 means 0"),
        _c("column_index", "int", "recommended sort order when listing columns", False),
    ),
    "keys": (
        _c("key_id", "char", "unique key to join to TAP_SCHEMA.key_columns"),
        _c("from_table", "char", "the table with the foreign key"),
        _c("target_table", "char", "the table with the primary key"),
        _c("utype", "char", "an optional utype for the key"),
        _c("description", "char", "describes keys in the tableset"),
    ),
    "key_columns": (
        _c("key_id", "char", "key to join to TAP_SCHEMA.keys"),
        _c("from_column", "char", "column in the from_table"),
        _c("target_column", "char", "column in the target_table"),
    ),
}

_DESCRIPTIONS = {
    "schemas": "the schemas of this TAP service",
    "tables": "the tables of this TAP service",
    "columns": "the columns of the tables of this TAP service",
    "keys": "the foreign keys between the tables of this TAP service",
    "key_columns": "the columns of the foreign keys of this TAP service",
}

#: foreign keys of the atlas: (from table, target table, [(from col, target col)])
FOREIGN_KEYS = (
    ("cassisjuice.spectra", "cassisjuice.positions", (("cj_id", "cj_id"),)),
    ("cassisjuice.exposures", "cassisjuice.positions", (("cj_id", "cj_id"),)),
    ("cassisjuice.features", "cassisjuice.positions", (("cj_id", "cj_id"),)),
    # TAP_SCHEMA's own (TAP 1.1 sec. 4.4)
    ("TAP_SCHEMA.tables", "TAP_SCHEMA.schemas", (("schema_name", "schema_name"),)),
    ("TAP_SCHEMA.columns", "TAP_SCHEMA.tables", (("table_name", "table_name"),)),
    ("TAP_SCHEMA.keys", "TAP_SCHEMA.tables", (("from_table", "table_name"),)),
    ("TAP_SCHEMA.keys", "TAP_SCHEMA.tables", (("target_table", "table_name"),)),
    ("TAP_SCHEMA.key_columns", "TAP_SCHEMA.keys", (("key_id", "key_id"),)),
)

#: the descriptions of the schemas that are not the resdir's (whose description is the
#: resource's, as GAVO DaCHS gives it)
_SCHEMA_DESCRIPTIONS = {
    "TAP_SCHEMA": "Metadata of the tables of this TAP service (TAP 1.1 sec. 4)",
    "ivoa": "IVOA standard tables: ObsCore 1.1",
}


def _physical(dialect: str, name: str) -> str:
    return f'"tap_schema_{name}"' if dialect == "sqlite" else f'"tap_schema"."{name}"'


def tap_schema_tables(dialect: str) -> list[TableInfo]:
    """The TAP_SCHEMA tables as ADQL sees them."""
    return [TableInfo("TAP_SCHEMA", name, _physical(dialect, name), columns,
                      _DESCRIPTIONS[name]) for name, columns in TAP_SCHEMA_COLUMNS.items()]


def _rows(tables: list[TableInfo], descriptions: dict[str, str]) -> dict[str, list[tuple]]:
    schemas = sorted({t.schema for t in tables}, key=lambda s: (s != "ivoa", s))
    out: dict[str, list[tuple]] = {
        "schemas": [(s, None, descriptions.get(s, ""), i)
                    for i, s in enumerate(schemas)],
        "tables": [], "columns": [], "keys": [], "key_columns": []}
    for index, table in enumerate(tables):
        out["tables"].append((table.schema, table.qualified, table.kind, table.utype,
                              table.description, index))
        for col_index, col in enumerate(table.columns):
            size = int(col.arraysize) if col.arraysize and col.arraysize.isdigit() else None
            out["columns"].append((table.qualified, col.name, col.utype, col.ucd, col.unit,
                                   col.description, col.datatype, col.arraysize, col.xtype,
                                   size, int(col.principal), int(col.indexed), int(col.std),
                                   col_index))
    for number, (source, target, pairs) in enumerate(FOREIGN_KEYS):
        key_id = f"key{number}"
        out["keys"].append((key_id, source, target, None,
                            f"{source} rows point at their {target} row"))
        out["key_columns"].extend((key_id, a, b) for a, b in pairs)
    return out


def write_tap_schema(store, cur, tables: list[TableInfo]) -> None:
    """(Re)write the TAP_SCHEMA tables in the store, in the caller's transaction."""
    if store.dialect == "postgresql":
        cur.execute('CREATE SCHEMA IF NOT EXISTS "tap_schema"')
    mark = store.mark
    descriptions = {**_SCHEMA_DESCRIPTIONS,
                    store.resource.schema: store.resource.required("description")}
    for name, rows in _rows(tables, descriptions).items():
        columns = TAP_SCHEMA_COLUMNS[name]
        physical = _physical(store.dialect, name)
        cur.execute(f"DROP TABLE IF EXISTS {physical}")
        kinds = ", ".join(f'"{bare_name(c.name)}" '
                          f'{"TEXT" if c.datatype == "char" else "INTEGER"}' for c in columns)
        cur.execute(f"CREATE TABLE {physical} ({kinds})")
        if rows:
            cur.executemany(f"INSERT INTO {physical} VALUES "
                            f"({', '.join([mark] * len(columns))})", rows)
