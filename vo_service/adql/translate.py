"""ADQL syntax tree -> SQL for SQLite or PostgreSQL, with the result's column metadata.

:func:`translate` resolves every name against a :class:`~vo_service.adql.schema.Schema`
(unknown or ambiguous names are errors with their position), type-checks what ADQL
constrains (geometries are not strings or numbers, function arities, CAST targets), and
writes SQL text from the tree alone: identifiers are always re-quoted from the schema,
literals re-serialised, so no user text is pasted into SQL.

The generated SQL names every table ``"t<n>"`` and every result column ``"_c<n>"``
(geometry components ``"_c<n>_<k>"``); :class:`Translation` keeps the ADQL name and the
VOTable metadata of each result column, and turns database rows into result values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import ast as nodes
from . import functions as funcs
from . import geometry as geo
from .errors import AdqlError
from .parser import parse
from .schema import ColumnInfo, Schema, TableInfo, bare_name
from .values import Value, sql_literal

__all__ = ["OutputColumn", "Translation", "translate"]

#: ADQL names that must be written in double quotes to be used as column names
#: (ADQL 2.1 sec. 2.1.2: the function names are reserved words)
_RESERVED = frozenset([*funcs.FUNCTIONS, *funcs.AGGREGATES, "REGION"])

_CAST = {  # ADQL type -> (SQLite, PostgreSQL, value type, VOTable datatype)
    "SMALLINT": ("INTEGER", "SMALLINT", "int", "short"),
    "INTEGER": ("INTEGER", "INTEGER", "int", "int"),
    "BIGINT": ("INTEGER", "BIGINT", "int", "long"),
    "REAL": ("REAL", "REAL", "float", "float"),
    "DOUBLE PRECISION": ("REAL", "DOUBLE PRECISION", "float", "double"),
    "CHAR": ("TEXT", "CHAR", "str", "char"),
    "VARCHAR": ("TEXT", "VARCHAR", "str", "char"),
    "TIMESTAMP": ("TEXT", "TIMESTAMP", "timestamp", "char"),
}
_DATATYPE = {"int": "long", "float": "double", "str": "char", "bool": "boolean",
             "timestamp": "char", "null": "char", "unknown": "char", "point": "double",
             "circle": "double", "polygon": "double"}
_VOTABLE_KIND = {"short": "int", "int": "int", "long": "int", "unsignedByte": "int",
                 "float": "float", "double": "float", "boolean": "bool", "char": "str",
                 "unicodeChar": "str"}


def _err(message: str, at) -> AdqlError:
    if at is None:
        return AdqlError(message)
    return AdqlError(message, at.line, at.column, at.text)


@dataclass(frozen=True)
class OutputColumn:
    """A result column: its ADQL name, its translated value and its SQL column names."""

    name: str
    value: Value
    sql_names: tuple[str, ...]
    delimited: bool = False

    def field_metadata(self) -> ColumnInfo:
        """The VOTable FIELD of this column (names made unique by the caller)."""
        v = self.value
        col = v.column
        if v.geometry:
            size = {"point": "2", "circle": "3"}.get(v.type, "*")
            return ColumnInfo(self.name, "double", size, col.unit if col else "deg",
                              col.ucd if col else None,
                              col.utype if col else None, v.type,
                              col.description if col else None)
        if col is not None:
            return ColumnInfo(self.name, col.datatype, col.arraysize, col.unit, col.ucd,
                              col.utype, col.xtype, col.description)
        datatype = _DATATYPE[v.type]
        unit = None
        if v.unit is not None:
            from astropy import units as u

            unit = u.Unit(v.unit).to_string("vounit") or None
        return ColumnInfo(self.name, datatype, "*" if datatype == "char" else None, unit,
                          None, None, "timestamp" if v.type == "timestamp" else None)


@dataclass
class Translation:
    """The SQL of a query and what its rows mean."""

    sql: str
    columns: list[OutputColumn]
    tables: list[str] = field(default_factory=list)
    #: the most rows the SQL can return (its outermost LIMIT: TOP or the cap), or None
    row_bound: int | None = None

    def fields(self) -> list[ColumnInfo]:
        """Result FIELD metadata, names made unique (VOTable needs distinct names)."""
        seen: dict[str, int] = {}
        out = []
        for column in self.columns:
            meta = column.field_metadata()
            name = meta.name
            count = seen.get(name.lower(), 0)
            seen[name.lower()] = count + 1
            if count:
                name = f"{name}_{count + 1}"
                from dataclasses import replace

                meta = replace(meta, name=name)
            out.append(meta)
        return out

    def values(self, rows: Sequence[tuple]) -> list[list]:
        """Column-wise result values: geometry components joined into arrays."""
        widths = [len(c.sql_names) for c in self.columns]
        if all(w == 1 for w in widths):  # no geometry: the columns as they come
            return [list(c) for c in zip(*rows, strict=True)] if rows else \
                [[] for _ in self.columns]
        out: list[list] = [[] for _ in self.columns]
        for row in rows:
            i = 0
            for j, width in enumerate(widths):
                if width == 1:
                    out[j].append(row[i])
                else:
                    parts = row[i:i + width]
                    out[j].append(None if any(p is None for p in parts)
                                  else np.array(parts, float))
                i += width
        return out


@dataclass
class _Source:
    """A FROM item in scope: a table, a derived table or a WITH query."""

    alias: str  # SQL alias, quoted
    names: tuple[tuple[nodes.Ident | str, ...], ...]  # the qualifiers that designate it
    table: TableInfo | None = None
    columns: list[OutputColumn] | None = None  # for derived tables and WITH queries
    open: bool = False
    hidden: set[str] = field(default_factory=set)  # USING/NATURAL columns, right side

    def matches(self, qualifier: Sequence[nodes.Ident]) -> bool:
        for names in self.names:
            if len(names) < len(qualifier):
                continue
            tail = names[len(names) - len(qualifier):]
            if all(_same(q, n) for q, n in zip(qualifier, tail, strict=True)):
                return True
        return False

    def column_keys(self) -> list[str]:
        if self.table is not None:
            return [c.name for c in self.table.columns]
        return [c.name for c in self.columns or []]

    def value(self, ident: nodes.Ident) -> Value | None:
        if self.table is not None:
            col = self.table.column(ident.key(), ident.delimited)
            if col is not None:
                return _column_value(self, col)
            if self.table.open:
                name = ident.key()
                return Value(f'{self.alias}."{_q(name)}"', "unknown", source=self)
            return None
        for out in self.columns or []:
            if _same(ident, out.name):
                return _derived_value(self, out)
        if self.open:
            return Value(f'{self.alias}."{_q(ident.key())}"', "unknown", source=self)
        return None

    def star(self) -> list[tuple[str, Value]]:
        if self.table is not None:
            return [(bare_name(c.name), _stored_value(self, c)) for c in self.table.columns
                    if c.name not in self.hidden]
        return [(c.name, _derived_value(self, c)) for c in self.columns or []
                if c.name not in self.hidden]


def _derived_source(alias: str, names, columns: list[OutputColumn]) -> _Source:
    """A derived table or WITH query in FROM; a ``*`` over an undeclared table inside it
    makes it open (its column names cannot be known)."""
    return _Source(alias, names, columns=[c for c in columns if c.value.type != "star"],
                   open=any(c.value.type == "star" for c in columns))


def _q(name: str) -> str:
    return name.replace('"', '""')


def _same(ident, name) -> bool:
    if isinstance(name, nodes.Ident):
        name = name.name if name.delimited else name.name.lower()
        return ident.name == name if ident.delimited else ident.name.lower() == name.lower()
    return ident.name == name if ident.delimited else ident.name.lower() == name.lower()


def _column_value(source: _Source, col: ColumnInfo) -> Value:
    geometry = source.table.geometries.get(col.name)
    if geometry is not None:
        a = source.alias
        parts = (f'{a}."{geometry.ra}"', f'{a}."{geometry.dec}"')
        if geometry.kind == "circle":
            parts += (f'({a}."{geometry.radius}" * {geometry.radius_scale!r})',)
        return Value("", geometry.kind, parts, column=col, source=source)
    kind = _VOTABLE_KIND.get(col.datatype, "unknown")
    return Value(f'{source.alias}."{_q(bare_name(col.name))}"', kind, column=col,
                 unit=col.unit, source=source)


def _stored_value(source: _Source, col: ColumnInfo) -> Value:
    """A column as stored (a geometry column stored as a string gives the string)."""
    value = _column_value(source, col)
    if value.geometry and col.datatype == "char":
        return Value(f'{source.alias}."{_q(bare_name(col.name))}"', "str", column=col,
                     source=source)
    return value


def _derived_value(source: _Source, out: OutputColumn) -> Value:
    refs = tuple(f'{source.alias}."{n}"' for n in out.sql_names)
    v = out.value
    if v.geometry:
        return v.but(sql="", parts=refs, const=None, is_const=False, source=None,
                     aggregate=False)
    return v.but(sql=refs[0], const=None, is_const=False, source=None, aggregate=False)


class _Scope:
    def __init__(self, parent: _Scope | None = None) -> None:
        self.parent = parent
        self.sources: list[_Source] = []

    def resolve(self, ref: nodes.ColumnRef) -> Value:
        *qualifier, name = ref.parts
        if not name.delimited and name.name.upper() in _RESERVED and not qualifier:
            raise _err(f"{name.name} is a reserved word of ADQL: write it in double quotes "
                       f"to use it as a column name", ref.at)
        scope: _Scope | None = self
        while scope is not None:
            hits = []
            for source in scope.sources:
                if qualifier and not source.matches(qualifier):
                    continue
                value = source.value(name)
                if value is not None:
                    hits.append((source, value))
            if len(hits) > 1:  # USING/NATURAL columns count once; open tables yield
                hits = [h for h in hits if name.key() not in h[0].hidden] or hits
                declared = [h for h in hits if h[1].type != "unknown" or not _open(h[0])]
                if len(declared) == 1 or (not declared and hits):
                    hits = declared or hits[:1]
            if len(hits) > 1:
                raise _err(f"the column name {name} is ambiguous: qualify it with its "
                           "table", ref.at)
            if hits:
                return hits[0][1]
            if qualifier and any(s.matches(qualifier) for s in scope.sources):
                break
            scope = scope.parent
        written = ".".join(str(p) for p in ref.parts)
        if qualifier and not self._has_qualifier(qualifier):
            raise _err(f"{'.'.join(str(q) for q in qualifier)} is not a table (or an alias) "
                       "of the FROM clause", ref.at)
        raise _err(f"no column {written} in the tables of the FROM clause", ref.at)

    def _has_qualifier(self, qualifier) -> bool:
        scope: _Scope | None = self
        while scope is not None:
            if any(s.matches(qualifier) for s in scope.sources):
                return True
            scope = scope.parent
        return False


def _open(source: _Source) -> bool:
    return source.open or (source.table is not None and source.table.open)


class _Translator:
    def __init__(self, schema: Schema, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unknown SQL dialect {dialect!r}")
        self.schema = schema
        self.dialect = dialect
        self.counter = 0
        self.ctes: dict[str, tuple[str, list[OutputColumn]]] = {}
        self.tables: list[str] = []

    def alias(self, prefix: str = "t") -> str:
        self.counter += 1
        return f'"{prefix}{self.counter}"'

    # ------------------------------------------------------------------ queries
    def query(self, node: nodes.Query, outer: _Scope | None,
              limit: int | None = None) -> tuple[str, list[OutputColumn]]:
        if isinstance(node, nodes.With):
            parts = []
            for name, query in node.ctes:
                sql, columns = self.query(query, None)
                alias = self.alias("w")
                self.ctes[name.key()] = (alias, columns, name)
                parts.append(f"{alias} AS ({sql})")
            sql, columns = self.query(node.body, outer, limit)
            return f"WITH {', '.join(parts)} {sql}", columns
        if isinstance(node, nodes.SetOperation):
            return self.set_operation(node, outer, limit)
        return self.select(node, outer, limit)

    def _member(self, node: nodes.Query, outer) -> tuple[str, list[OutputColumn]]:
        sql, columns = self.query(node, outer)
        wrap = isinstance(node, nodes.SetOperation) or (isinstance(node, nodes.Select) and (
            node.top is not None or node.order_by or node.offset is not None))
        if wrap:
            names = ", ".join(f'"{n}"' for c in columns for n in c.sql_names)
            sql = f"SELECT {names} FROM ({sql}) AS {self.alias('s')}"
        return sql, columns

    def set_operation(self, node: nodes.SetOperation, outer,
                      limit: int | None) -> tuple[str, list[OutputColumn]]:
        left_sql, left = self._member(node.left, outer)
        right_sql, right = self._member(node.right, outer)
        widths = ([len(c.sql_names) for c in left], [len(c.sql_names) for c in right])
        has_star = any(c.value.type == "star" for c in (*left, *right))
        if widths[0] != widths[1] and not has_star:
            raise _err(f"the two sides of {node.op} have different columns "
                       f"({len(left)} and {len(right)})", node.at)
        sql = f"{left_sql} {node.op}{' ALL' if node.all else ''} {right_sql}"
        if node.order_by:
            items = []
            for item in node.order_by:
                target = self._output_reference(item.expr, left)
                if target is None:
                    raise _err("ORDER BY of a set operation takes result column names or "
                               "numbers", item.expr.at)
                items.append(target + (" DESC" if item.descending else " ASC"))
            sql += " ORDER BY " + ", ".join(items)
        return sql + self._limit_offset(limit, node.offset), left

    def _limit_offset(self, limit: int | None, offset: int | None) -> str:
        out = ""
        if limit is not None:
            out += f" LIMIT {int(limit)}"
        if offset is not None:
            if limit is None and self.dialect == "sqlite":
                out += " LIMIT -1"
            out += f" OFFSET {int(offset)}"
        return out

    def _output_reference(self, expr: nodes.Expr, columns: list[OutputColumn]) -> str | None:
        """An ORDER BY item naming a result column (by number or name), as SQL."""
        if isinstance(expr, nodes.Literal) and expr.kind == "int":
            if any(c.value.type == "star" for c in columns):
                return str(expr.value)  # columns of an undeclared table: the engine checks
            if not 1 <= expr.value <= len(columns):
                raise _err(f"ORDER BY {expr.value}: there are {len(columns)} result "
                           "columns", expr.at)
            return f'"{columns[expr.value - 1].sql_names[0]}"'
        if isinstance(expr, nodes.ColumnRef) and len(expr.parts) == 1:
            hits = [c for c in columns if _same(expr.parts[0], c.name)]
            if hits:
                return f'"{hits[0].sql_names[0]}"'
        return None

    def select(self, node: nodes.Select, outer: _Scope | None,
               limit: int | None = None) -> tuple[str, list[OutputColumn]]:
        scope = _Scope(outer)
        from_sql = ", ".join(self.from_item(item, scope) for item in node.from_)
        columns: list[OutputColumn] = []
        select_sql: list[str] = []
        for item in node.items:
            for name, value, delimited in self.select_item(item, scope):
                index = len(columns)
                if value.geometry:
                    names = tuple(f"_c{index}_{k}" for k in range(len(value.parts)))
                    select_sql += [f'{p} AS "{n}"' for p, n in zip(value.parts, names,
                                                                   strict=True)]
                elif value.type == "star":
                    names = ()
                    select_sql.append(value.sql)
                else:
                    names = (f"_c{index}",)
                    select_sql.append(f'{value.sql} AS "{names[0]}"')
                columns.append(OutputColumn(name, value, names, delimited))
        sql = ("SELECT " + ("DISTINCT " if node.distinct else "") + ", ".join(select_sql) +
               " FROM " + from_sql)
        if node.where is not None:
            sql += " WHERE " + self.condition(node.where, scope)
        if node.group_by:
            groups = []
            for expr in node.group_by:
                alias = self._alias_value(expr, node.items, columns)
                value = alias if alias is not None else self.value(expr, scope)
                groups.extend(value.parts if value.geometry else [value.sql])
            sql += " GROUP BY " + ", ".join(groups)
        if node.having is not None:
            sql += " HAVING " + self.condition(node.having, scope)
        if node.order_by:
            items = []
            for item in node.order_by:
                target = self._output_reference(item.expr, columns)
                if target is None:
                    value = self.value(item.expr, scope)
                    if value.geometry:
                        raise _err("cannot ORDER BY a geometry", item.expr.at)
                    target = value.sql
                items.append(target + (" DESC" if item.descending else " ASC"))
            sql += " ORDER BY " + ", ".join(items)
        caps = [n for n in (node.top, limit) if n is not None]
        return sql + self._limit_offset(min(caps) if caps else None, node.offset), columns

    def _alias_value(self, expr: nodes.Expr, items, columns) -> Value | None:
        """GROUP BY naming a select-list alias (ADQL allows it): that item's value."""
        if isinstance(expr, nodes.ColumnRef) and len(expr.parts) == 1:
            for column, item in zip(columns, items, strict=False):
                if item.alias is not None and _same(expr.parts[0], column.name):
                    return column.value
        return None

    def select_item(self, item: nodes.SelectItem, scope: _Scope):
        expr = item.expr
        if isinstance(expr, nodes.Star):
            sources = scope.sources
            if expr.qualifier:
                sources = [s for s in scope.sources if s.matches(expr.qualifier)]
                if not sources:
                    raise _err(f"{'.'.join(str(q) for q in expr.qualifier)} is not a table "
                               "of the FROM clause", expr.at)
            out = []
            for source in sources:
                if _open(source) and (source.table is None or source.table.open):
                    out.append(("*", Value(f"{source.alias}.*", "star"), False))
                    continue
                out.extend((name, value, False) for name, value in source.star())
            return out
        value = self.value(expr, scope)
        if value.geometry and value.column is not None and value.column.datatype == "char" \
                and isinstance(expr, nodes.ColumnRef):
            # a geometry column stored as a string (s_region): the stored string
            value = Value(f'{value.source.alias}."{_q(bare_name(value.column.name))}"',
                          "str", column=value.column, source=value.source)
        if item.alias is not None:
            return [(item.alias.name, value, item.alias.delimited)]
        if isinstance(expr, nodes.ColumnRef):
            return [(bare_name(value.column.name) if value.column else expr.parts[-1].name,
                     value,
                     expr.parts[-1].delimited)]
        if isinstance(expr, nodes.FuncCall):
            return [(expr.name.lower(), value, False)]
        return [("expr", value, False)]

    # ------------------------------------------------------------------ FROM
    def from_item(self, item: nodes.FromItem, scope: _Scope) -> str:
        if isinstance(item, nodes.TableName):
            alias = self.alias()
            names = ((item.alias,),) if item.alias is not None else None
            if len(item.parts) == 1 and item.parts[0].key() in self.ctes:
                cte_alias, columns, cte_name = self.ctes[item.parts[0].key()]
                scope.sources.append(_derived_source(alias, names or ((cte_name,),),
                                                     columns))
                return f"{cte_alias} AS {alias}"
            table = self.schema.find(item.parts, item.at)
            self.tables.append(table.qualified)
            scope.sources.append(_Source(alias, names or ((table.schema, table.name),),
                                         table=table))
            return f"{table.physical} AS {alias}"
        if isinstance(item, nodes.DerivedTable):
            sql, columns = self.query(item.query, None)
            alias = self.alias()
            scope.sources.append(_derived_source(alias, ((item.alias,),), columns))
            return f"({sql}) AS {alias}"
        if isinstance(item, nodes.Join):
            left = self.from_item(item.left, scope)
            left_sources = list(scope.sources)
            right = self.from_item(item.right, scope)
            right_sources = scope.sources[len(left_sources):]
            kind = {"INNER": "JOIN", "LEFT": "LEFT JOIN", "RIGHT": "RIGHT JOIN",
                    "FULL": "FULL JOIN", "CROSS": "CROSS JOIN"}[item.kind]
            if item.kind == "CROSS":
                return f"{left} CROSS JOIN {right}"
            using = list(item.using)
            if item.natural:
                known_left = {k.lower() for s in left_sources for k in s.column_keys()}
                known_right = {k.lower() for s in right_sources for k in s.column_keys()}
                if any(_open(s) for s in (*left_sources, *right_sources)):
                    return f"{left} NATURAL {kind} {right}"
                using = [nodes.Ident(k) for k in sorted(known_left & known_right)]
            if using:
                terms = []
                for ident in using:
                    lv = self._side_value(ident, left_sources, item)
                    rv = self._side_value(ident, right_sources, item)
                    terms.append(f"{lv.sql} = {rv.sql}")
                    for s in right_sources:
                        s.hidden.add(rv.column.name if rv.column else ident.key())
                return f"{left} {kind} {right} ON {' AND '.join(terms) or '1 = 1'}"
            if item.on is not None:
                return f"{left} {kind} {right} ON {self.condition(item.on, scope)}"
            return f"{left} {kind} {right} ON 1 = 1" if item.kind != "INNER" else \
                f"{left} CROSS JOIN {right}"
        raise AssertionError(f"unknown FROM item {item!r}")  # pragma: no cover

    def _side_value(self, ident: nodes.Ident, sources: list[_Source], join: nodes.Join) -> Value:
        hits = [v for v in (s.value(ident) for s in sources) if v is not None]
        if not hits:
            raise _err(f"the join column {ident} is not in both tables", join.at)
        return hits[0]

    # ------------------------------------------------------------------ conditions
    def condition(self, node: nodes.Expr, scope: _Scope) -> str:
        if isinstance(node, nodes.Logical):
            return (f"({self.condition(node.left, scope)} {node.op} "
                    f"{self.condition(node.right, scope)})")
        if isinstance(node, nodes.Not):
            return f"(NOT {self.condition(node.operand, scope)})"
        if isinstance(node, nodes.Comparison):
            return self.comparison(node, scope)
        if isinstance(node, nodes.Between):
            v, lo, hi = (self.scalar(e, scope) for e in (node.operand, node.low, node.high))
            return f"({v.sql} {'NOT ' if node.negated else ''}BETWEEN {lo.sql} AND {hi.sql})"
        if isinstance(node, nodes.In):
            v = self.scalar(node.operand, scope)
            if node.query is not None:
                sql, columns = self.query(node.query, scope)
                if len(columns) != 1 or columns[0].value.geometry:
                    raise _err("a subquery after IN must select one column", node.at)
                inner = sql
            else:
                inner = ", ".join(self.scalar(e, scope).sql for e in node.values)
            return f"({v.sql} {'NOT ' if node.negated else ''}IN ({inner}))"
        if isinstance(node, nodes.Like):
            v, pattern = self.scalar(node.operand, scope), self.scalar(node.pattern, scope)
            for x in (v, pattern):
                if x.type not in ("str", "unknown", "null"):
                    raise _err(f"LIKE compares strings, not a {x.type}", node.at)
            neg = "NOT " if node.negated else ""
            if node.case_insensitive:
                if self.dialect == "postgresql":
                    return f"({v.sql} {neg}ILIKE {pattern.sql})"
                return f"(lower({v.sql}) {neg}LIKE lower({pattern.sql}))"
            return f"({v.sql} {neg}LIKE {pattern.sql})"
        if isinstance(node, nodes.IsNull):
            v = self.value(node.operand, scope)
            parts = v.parts if v.geometry else (v.sql,)
            test = " OR ".join(f"{p} IS NULL" for p in parts)
            return f"(NOT ({test}))" if node.negated else f"({test})"
        if isinstance(node, nodes.Exists):
            sql, _ = self.query(node.query, scope)
            return f"(EXISTS ({sql}))"
        raise _err("expected a condition", node.at)

    def comparison(self, node: nodes.Comparison, scope: _Scope) -> str:
        special = self._geometric_comparison(node, scope)
        if special is not None:
            return special
        left, right = self.value(node.left, scope), self.value(node.right, scope)
        if left.geometry or right.geometry:
            if left.type != right.type or node.op not in ("=", "<>"):
                raise _err(f"a {left.type} cannot be compared with a {right.type} by "
                           f"{node.op}", node.at)
            terms = " AND ".join(f"{a} = {b}" for a, b in zip(left.parts, right.parts,
                                                              strict=True))
            return f"({terms})" if node.op == "=" else f"(NOT ({terms}))"
        return f"({left.sql} {node.op} {right.sql})"

    def _geometric_comparison(self, node: nodes.Comparison, scope: _Scope) -> str | None:
        """``CONTAINS(...) = 1`` (either way round, = 0 too) and ``DISTANCE(...) < r``
        become conditions with the HEALPix prefilter (ADQL 2.1 sec. 4.2.3, 4.2.5)."""
        pairs = ((node.left, node.right, node.op), (node.right, node.left,
                                                    _MIRROR[node.op]))
        for func, other, op in pairs:
            if not isinstance(func, nodes.FuncCall) or func.name not in (
                    "CONTAINS", "INTERSECTS", "DISTANCE"):
                continue
            value = self.value(other, scope)
            if not value.is_const or value.type not in ("int", "float"):
                continue
            if func.name == "DISTANCE":
                if op not in ("<", "<="):
                    continue
                a, b = self._distance_points(func, scope)
                return geo.within_distance(a, b, sql_literal(float(value.const)),
                                         self.dialect, prefilter_radius=float(value.const),
                                         op=op)
            if op not in ("=", "<>") or value.const not in (0, 1) or len(func.args) != 2:
                continue
            self._check_arity(func)
            a, b = (self.value(arg, scope) for arg in func.args)
            condition = geo.predicate(func.name, a, b, self.dialect, func.at)
            truth = (value.const == 1) == (op == "=")
            return condition if truth else f"(NOT {condition})"
        return None

    def _distance_points(self, func: nodes.FuncCall, scope: _Scope) -> tuple[Value, Value]:
        self._check_arity(func)
        args = [self.value(a, scope) for a in func.args]
        if len(args) == 4:
            return (geo.make_geometry("POINT", args[:2], func.at),
                    geo.make_geometry("POINT", args[2:], func.at))
        if len(args) != 2 or any(a.type != "point" for a in args):
            raise _err("DISTANCE takes two points or four coordinates", func.at)
        return args[0], args[1]

    # ------------------------------------------------------------------ values
    def scalar(self, node: nodes.Expr, scope: _Scope) -> Value:
        value = self.value(node, scope)
        if value.geometry:
            raise _err(f"a {value.type} cannot be used here (only in geometry functions "
                       "and the select list)", node.at)
        return value

    def value(self, node: nodes.Expr, scope: _Scope) -> Value:
        if isinstance(node, nodes.Literal):
            kind = {"int": "int", "float": "float", "string": "str", "null": "null"}[node.kind]
            return Value(sql_literal(node.value), kind, const=node.value, is_const=True)
        if isinstance(node, nodes.ColumnRef):
            return scope.resolve(node)
        if isinstance(node, nodes.FuncCall):
            return self.function(node, scope)
        if isinstance(node, nodes.Unary):
            v = self.scalar(node.operand, scope)
            if node.op == "~":
                self._need(v, ("int",), "~", node)
                return Value(f"(~{v.sql})", "int")
            self._need(v, ("int", "float"), "-", node)
            return v.but(sql=f"(-{v.sql})", const=None, is_const=False, column=None,
                         source=None)
        if isinstance(node, nodes.Binary):
            return self.binary(node, scope)
        if isinstance(node, nodes.Cast):
            return self.cast(node, scope)
        if isinstance(node, nodes.Subquery):
            sql, columns = self.query(node.query, scope)
            if len(columns) != 1 or columns[0].value.geometry:
                raise _err("a subquery used as a value must select one column", node.at)
            return columns[0].value.but(sql=f"({sql})", const=None, is_const=False,
                                        source=None)
        if isinstance(node, (nodes.Comparison, nodes.Logical, nodes.Not, nodes.Between,
                             nodes.In, nodes.Like, nodes.IsNull, nodes.Exists)):
            raise _err("a condition cannot be used as a value", node.at)
        raise _err("unsupported expression", node.at)  # pragma: no cover

    def _need(self, v: Value, kinds, op: str, node) -> None:
        if v.type not in (*kinds, "unknown", "null"):
            raise _err(f"{op} does not apply to a {v.type}", node.at)

    def binary(self, node: nodes.Binary, scope: _Scope) -> Value:
        left, right = self.value(node.left, scope), self.value(node.right, scope)
        for v in (left, right):
            if v.geometry:
                raise _err(f"the operator {node.op} does not apply to a {v.type}", node.at)
        if node.op == "||":
            if self.dialect == "postgresql":
                return Value(f"(CAST({left.sql} AS TEXT) || CAST({right.sql} AS TEXT))",
                             "str")
            return Value(f"({left.sql} || {right.sql})", "str")
        if node.op in ("&", "|", "^"):
            for v in (left, right):
                self._need(v, ("int",), node.op, node)
            if node.op == "^":
                if self.dialect == "postgresql":
                    return Value(f"({left.sql} # {right.sql})", "int")
                return Value(f"(({left.sql} | {right.sql}) - ({left.sql} & {right.sql}))",
                             "int")
            return Value(f"({left.sql} {node.op} {right.sql})", "int")
        for v in (left, right):  # ADQL lets strings take part in arithmetic ('30'*2)
            self._need(v, ("int", "float", "str"), node.op, node)
        kind = "int" if left.type == right.type == "int" else "float"
        unit = _arith_unit(node.op, left, right)
        const = None
        if left.is_const and right.is_const and kind != "str" and \
                left.type in ("int", "float") and right.type in ("int", "float"):
            const = _fold(node.op, left.const, right.const)
        op = node.op
        sql = f"({left.sql} {op} {right.sql})"
        if op == "%":
            sql = f"mod({left.sql}, {right.sql})"
        return Value(sql, kind, const=const, is_const=const is not None, unit=unit)

    def cast(self, node: nodes.Cast, scope: _Scope) -> Value:
        if node.type_name in ("POINT", "CIRCLE", "POLYGON"):
            v = self.value(node.operand, scope)
            if not (v.is_const and v.type == "str"):
                raise _err(f"CAST to {node.type_name} needs a string literal (DALI "
                           "serialisation)", node.at)
            return geo.geometry_from_dali(node.type_name, v.const, node.at)
        v = self.scalar(node.operand, scope)
        sqlite_type, pg_type, kind, datatype = _CAST[node.type_name]
        target = sqlite_type if self.dialect == "sqlite" else pg_type
        if node.length is not None and self.dialect == "postgresql":
            target += f"({node.length})"
        column = ColumnInfo("cast", datatype, "*" if datatype == "char" else None,
                            xtype="timestamp" if kind == "timestamp" else None)
        return Value(f"CAST({v.sql} AS {target})", kind, column=column, unit=v.unit)

    def _check_arity(self, node: nodes.FuncCall) -> None:
        name = node.name
        if name in funcs.AGGREGATES:
            if node.star and name != "COUNT":
                raise _err(f"{name}(*) is not allowed; only COUNT(*)", node.at)
            if not node.star and len(node.args) != 1:
                raise _err(f"{name} takes one argument", node.at)
            return
        if name in funcs.UDFS:
            return
        if name not in funcs.FUNCTIONS:
            raise _err(f"unknown function {name}: neither an ADQL 2.1 function nor a "
                       "user-defined function of this service (see its capabilities)",
                       node.at)
        low, high = funcs.FUNCTIONS[name]
        if node.star or node.distinct:
            raise _err(f"{name} is not an aggregate function", node.at)
        if not low <= len(node.args) <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise _err(f"{name} takes {expected} arguments, not {len(node.args)}", node.at)

    def function(self, node: nodes.FuncCall, scope: _Scope) -> Value:
        self._check_arity(node)
        if node.name in funcs.AGGREGATES:
            return self.aggregate(node, scope)
        args = [self.value(a, scope) for a in node.args]
        if node.name not in ("POINT", "CIRCLE", "BOX", "POLYGON", "AREA", "CENTROID",
                             "COORD1", "COORD2", "COORDSYS", "DISTANCE", "CONTAINS",
                             "INTERSECTS"):
            for arg in args:
                if arg.geometry:
                    raise _err(f"{node.name} does not take a {arg.type}", node.at)
        value = funcs.call(node.name, args, node.at, self.dialect)
        return value.but(aggregate=any(a.aggregate for a in args))

    def aggregate(self, node: nodes.FuncCall, scope: _Scope) -> Value:
        name = node.name
        if node.star:
            return Value("count(*)", "int", aggregate=True)
        arg = self.scalar(node.args[0], scope)
        distinct = "DISTINCT " if node.distinct else ""
        sql = f"{name.lower()}({distinct}{arg.sql})"
        if name == "COUNT":
            return Value(sql, "int", aggregate=True)
        if name == "AVG":
            if self.dialect == "postgresql":
                sql = f"CAST({sql} AS DOUBLE PRECISION)"
            return Value(sql, "float", unit=arg.unit, aggregate=True,
                         column=_stat(arg.column, "float"))
        if name == "SUM":
            return Value(sql, arg.type, unit=arg.unit, aggregate=True)
        return Value(sql, arg.type, unit=arg.unit, aggregate=True, column=arg.column)


def _stat(column: ColumnInfo | None, kind: str) -> ColumnInfo | None:
    if column is None:
        return None
    from dataclasses import replace

    return replace(column, datatype="double" if kind == "float" else column.datatype)


_MIRROR = {"=": "=", "<>": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _fold(op: str, a, b):
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a // b if isinstance(a, int) and isinstance(b, int) else a / b
    except (ZeroDivisionError, TypeError, OverflowError):
        return None
    return None


def _arith_unit(op: str, left: Value, right: Value):
    from astropy import units as u

    try:
        lu = u.Unit(left.unit) if left.unit is not None else None
        ru = u.Unit(right.unit) if right.unit is not None else None
    except ValueError:
        return None
    if op in ("+", "-"):
        return lu if lu is not None and ((ru is None and right.is_const) or lu == ru) else None
    if op in ("*", "/"):
        if lu is None and ru is None:
            return None
        lu = lu if lu is not None else (u.dimensionless_unscaled if left.is_const else None)
        ru = ru if ru is not None else (u.dimensionless_unscaled if right.is_const else None)
        if lu is None or ru is None:
            return None
        return lu * ru if op == "*" else lu / ru
    return None


def translate(query: str | nodes.Query, schema: Schema, dialect: str,
              limit: int | None = None) -> Translation:
    """Translate ``query`` (text or a parsed tree) for ``dialect``; ``limit`` caps the
    rows the database returns (TOP applies too; pass MAXREC + 1 to detect overflow)."""
    tree = parse(query) if isinstance(query, str) else query
    translator = _Translator(schema, dialect)
    try:
        sql, columns = translator.query(tree, None, limit)
    except RecursionError:
        raise AdqlError("the query is too deeply nested to translate") from None
    body = tree.body if isinstance(tree, nodes.With) else tree
    caps = [n for n in (getattr(body, "top", None), limit) if n is not None]
    return Translation(sql, columns, translator.tables, min(caps) if caps else None)
