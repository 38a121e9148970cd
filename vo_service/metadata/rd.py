"""Parsing and checking a DaCHS resource descriptor (see the package docstring)."""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

__all__ = ["COLUMN_TYPES", "Column", "MetadataError", "Resource", "Service", "Table",
           "default_rd_path", "load"]

#: the GAVO DaCHS mixin that builds an SSA view over another table (its columns are
#: DaCHS's, so such a table is a view of the resource, not one of its stored tables)
SSA_VIEW_MIXIN = "//ssap#view"

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


#: a DaCHS array type: the element type and the length (empty: variable)
_ARRAY_TYPE = re.compile(r"^(?P<base>[a-z ]+?)\s*\[(?P<size>\d*)\]$")


@dataclass(frozen=True)
class Column:
    """A column (or a ``param``, then with its ``value``): name, DaCHS type (an array is
    written ``type[n]``), unit (VOUnit), UCD, utype, description, verbosity."""

    name: str
    type: str
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str = ""
    verb_level: int = 20
    required: bool = False
    value: str | None = None

    @property
    def base_type(self) -> str:
        match = _ARRAY_TYPE.match(self.type)
        return match["base"] if match else self.type

    @property
    def arraysize(self) -> str | None:
        """The VOTable arraysize of an array type (``*`` when variable), else None."""
        match = _ARRAY_TYPE.match(self.type)
        return (match["size"] or "*") if match else None

    @property
    def votable_datatype(self) -> str:
        return COLUMN_TYPES[self.base_type][0]

    @property
    def adql_type(self) -> str:
        return COLUMN_TYPES[self.base_type][1]

    @property
    def principal(self) -> bool:
        """TAP_SCHEMA principal flag: the columns shown by default (verbLevel <= 1)."""
        return self.verb_level <= 1


@dataclass(frozen=True)
class Table:
    """A table of the resource; ``adql`` tables are visible through TAP under their own
    name, ``obscore`` ones (an ``//obscore#publish...`` mixin) as ``ivoa.obscore``.
    ``mixins`` maps each DaCHS mixin to its parameters."""

    id: str
    schema: str
    description: str
    columns: tuple[Column, ...]
    primary: str | None = None
    adql: bool = True
    indexed: tuple[str, ...] = ()
    mixins: dict[str, dict[str, str]] = field(default_factory=dict, hash=False, compare=False)
    params: tuple[Column, ...] = ()

    def param(self, name: str) -> Column:
        for par in self.params:
            if par.name == name:
                return par
        raise KeyError(f"{self.qualified_name} has no param {name!r}")

    @property
    def obscore(self) -> bool:
        return any(m.startswith("//obscore#publish") for m in self.mixins)

    def obscore_constants(self) -> dict[str, str | int | float]:
        """The columns the ObsCore publish mixin gives one value for every row (its
        parameters that are SQL literals: a quoted string or a number), by name."""
        names = {c.name for c in self.columns}
        out: dict[str, str | int | float] = {}
        for mixin, params in self.mixins.items():
            if not mixin.startswith("//obscore#publish"):
                continue
            for key, text in params.items():
                value = _sql_literal(text)
                if key in names and value is not None:
                    out[key] = value
        return out

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.id}"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.qualified_name} has no column {name!r}")


@dataclass(frozen=True)
class Service:
    """A service of the resource: its id, metadata items and the table it queries."""

    id: str
    meta: dict[str, tuple[str, ...]]
    queried_table: str | None = None

    def first(self, name: str, default: str = "") -> str:
        values = self.meta.get(name)
        return values[0] if values else default

    def required(self, name: str) -> str:
        """The first value of a metadata item the services cannot do without."""
        return _required(self.meta, name, f"service {self.id!r}")

    def number(self, name: str) -> float:
        """A metadata item that is a number (a limit the service enforces and declares)."""
        text = self.required(name)
        try:
            return float(text)
        except ValueError:
            raise MetadataError(f"service {self.id!r}: meta {name} = {text!r} is not a "
                                "number") from None


def _required(meta: dict[str, tuple[str, ...]], name: str, where: str) -> str:
    values = meta.get(name)
    if not values or not values[0]:
        raise MetadataError(f"{where}: the resource descriptor has no meta {name!r}")
    return values[0]


@dataclass(frozen=True)
class Resource:
    """The resource: metadata items (name -> values); its tables by id; the tables that
    describe a response without being stored (``onDisk="False"``: the columns and params
    of a service's documents) by id; the views DaCHS builds over the tables
    (``//ssap#view``: id -> mixin parameters); the file each table is imported from
    (``data`` elements: table id -> resdir-relative path); its services."""

    schema: str
    meta: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    responses: dict[str, Table] = field(default_factory=dict)
    views: dict[str, dict[str, str]] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)

    def first(self, name: str, default: str = "") -> str:
        values = self.meta.get(name)
        return values[0] if values else default

    def required(self, name: str) -> str:
        """The first value of a metadata item the records cannot do without."""
        return _required(self.meta, name, f"resource {self.schema!r}")

    def table(self, table_id: str) -> Table:
        try:
            return self.tables[table_id]
        except KeyError:
            raise KeyError(f"no table {table_id!r} in schema {self.schema}") from None

    def view_constants(self, view_id: str) -> dict[str, str | int | float]:
        """The columns of a DaCHS view (``//ssap#view``) that its mixin gives one value
        for every row (its parameters that are SQL literals), by name."""
        params = self.views[view_id]
        return {k: v for k, v in ((k, _sql_literal(t)) for k, t in params.items())
                if v is not None and k != "sourcetable"}

    def view_concatenation(self, view_id: str, name: str) -> tuple[tuple[str, bool], ...]:
        """A column of a DaCHS view given as an SQL concatenation of string literals and
        column names (``'CASSISjuice ' || obs_id``): its parts in order, each (the
        literal's value, True) or (the column name, False)."""
        text = self.views[view_id].get(name, "")
        parts = _concatenation(text)
        if parts is None:
            raise MetadataError(f"view {view_id!r}: {name} = {text!r} is not a "
                                "concatenation of string literals and column names")
        return parts

    def response(self, table_id: str) -> Table:
        """A table describing a response (not stored)."""
        try:
            return self.responses[table_id]
        except KeyError:
            raise KeyError(f"no response table {table_id!r} in {self.schema}") from None

    def service(self, service_id: str) -> Service:
        try:
            return self.services[service_id]
        except KeyError:
            raise KeyError(f"no service {service_id!r} in {self.schema}") from None


def _sql_literal(text: str) -> str | int | float | None:
    """The value of an SQL string or numeric literal; None for anything else (a column
    name, an expression, NULL)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'" and "'" not in text[1:-1].replace(
            "''", ""):
        return text[1:-1].replace("''", "'")
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return None


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _concatenation(text: str) -> tuple[tuple[str, bool], ...] | None:
    """The parts of ``'literal' || column || ...`` (None for any other expression)."""
    parts, rest = [], text.strip()
    while rest:
        if rest.startswith("'"):
            end = 1
            while True:  # a doubled quote is a quote inside the literal
                end = rest.find("'", end)
                if end < 0:
                    return None
                if rest[end + 1:end + 2] != "'":
                    break
                end += 2
            parts.append((rest[1:end].replace("''", "'"), True))
            rest = rest[end + 1:].strip()
        else:
            head = rest.split("||", 1)[0].strip()
            if not _IDENTIFIER.match(head):
                return None
            parts.append((head, False))
            rest = rest[len(rest.split("||", 1)[0]):].strip()
        if rest:
            if not rest.startswith("||"):
                return None
            rest = rest[2:].strip()
            if not rest:
                return None
    return tuple(parts) or None


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
    array = _ARRAY_TYPE.match(kind)
    if (array["base"] if array else kind) not in COLUMN_TYPES:
        raise MetadataError(f"{where}: unknown type {kind!r}")
    unit, ucd = element.get("unit") or None, element.get("ucd") or None
    if unit:
        _check_unit(unit, where)
    if ucd:
        _check_ucd(ucd, where)
    value = _text(element) or None if element.tag == "param" else None
    return Column(name, kind, unit, ucd, element.get("utype") or None,
                  element.get("description", ""), int(element.get("verbLevel", "20")),
                  element.get("required", "False").lower() == "true", value)


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
    # an adql element (after the mixins, which may set it) overrides the attribute
    adql = _text(element.find("adql")) or element.get("adql", "False")
    params = tuple(_column(p, where) for p in element.findall("param"))
    return Table(table_id, schema, description, columns, primary, adql.lower() == "true",
                 indexed, _mixins(element), params)


def _mixins(element: ET.Element) -> dict[str, dict[str, str]]:
    """The DaCHS mixins of a table: the ``mixin`` attribute (comma-separated names) and
    ``mixin`` elements (the name as text, the parameters as attributes)."""
    out: dict[str, dict[str, str]] = {
        name.strip(): {} for name in element.get("mixin", "").split(",") if name.strip()}
    for m in element.findall("mixin"):
        out[_text(m)] = {key: " ".join(value.split()) for key, value in m.attrib.items()}
    return out


def _meta(element: ET.Element, prefix: str = "") -> dict[str, tuple[str, ...]]:
    """Metadata items by name; a meta holding metas (DaCHS's ``testQuery``) gives its
    children as ``name.child``."""
    meta: dict[str, list[str]] = {}
    for m in element.findall("meta"):
        name = prefix + m.get("name", "")
        if m.find("meta") is not None:
            for key, values in _meta(m, name + ".").items():
                meta.setdefault(key, []).extend(values)
        else:
            meta.setdefault(name, []).append(_text(m))
    return {k: tuple(v) for k, v in meta.items()}


def _imports(root: ET.Element, tables: dict[str, Table], path: Path) -> dict[str, str]:
    """Table id -> the file its ``data`` element imports it from."""
    out = {}
    for data in root.findall("data"):
        makes = [m.get("table") for m in data.findall("make")]
        sources = _text(data.find("sources"))
        if not sources:
            continue
        for table_id in makes:
            if table_id not in tables:
                raise MetadataError(f"{path}: data {data.get('id')!r} makes an unknown "
                                    f"table {table_id!r}")
            out[table_id] = sources
    return out


def _services(root: ET.Element) -> dict[str, Service]:
    out = {}
    for element in root.findall("service"):
        core = next((c for c in element if c.tag.endswith("Core")), None)
        out[element.get("id", "")] = Service(
            element.get("id", ""), _meta(element),
            core.get("queriedTable") if core is not None else None)
    return out


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
    tables, responses, views = {}, {}, {}
    for element in root.findall("table"):
        mixins = _mixins(element)
        if SSA_VIEW_MIXIN in mixins:
            views[element.get("id", "")] = mixins[SSA_VIEW_MIXIN]
            continue
        if element.find("viewStatement") is not None:
            continue  # a view only GAVO DaCHS builds (its own SQL), not a stored table
        table = _table(element, schema)
        stored = element.get("onDisk", "False").lower() == "true"
        (tables if stored else responses)[table.id] = table
    for view_id, params in views.items():
        if params.get("sourcetable") not in tables:
            raise MetadataError(f"{path}: the view {view_id!r} is built on an unknown "
                                f"table {params.get('sourcetable')!r}")
    return Resource(schema, _meta(root), tables, responses, views,
                    _imports(root, tables, path), _services(root))
