"""The ADQL syntax tree the parser builds and the translator walks (frozen dataclasses).

Every node keeps the token it starts at (``at``) so a later error can name the line and
column. Names keep whether they were delimited (ADQL 2.1 sec. 2.1.3: regular identifiers
are case-insensitive, delimited ones are exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import Token

__all__ = [
    "Between", "Binary", "Cast", "ColumnRef", "Comparison", "DerivedTable", "Exists",
    "Expr", "FromItem", "FuncCall", "Ident", "In", "IsNull", "Join", "Like", "Literal",
    "Logical", "Not", "OrderItem", "Query", "Select", "SelectItem", "SetOperation",
    "Star", "Subquery", "TableName", "Unary", "With",
]


@dataclass(frozen=True)
class Ident:
    name: str
    delimited: bool = False

    def key(self) -> str:
        """The name compared against the schema: lower case unless delimited."""
        return self.name if self.delimited else self.name.lower()

    def __str__(self) -> str:
        return '"' + self.name.replace('"', '""') + '"' if self.delimited else self.name


@dataclass(frozen=True)
class Expr:
    at: Token = field(compare=False, repr=False)


@dataclass(frozen=True)
class Literal(Expr):
    value: object  # int, float, str, bool or None
    kind: str  # 'int', 'float', 'string', 'bool', 'null'


@dataclass(frozen=True)
class ColumnRef(Expr):
    parts: tuple[Ident, ...]  # [[schema.]table.]column


@dataclass(frozen=True)
class Star(Expr):
    qualifier: tuple[Ident, ...] = ()  # empty: *, else table.*


@dataclass(frozen=True)
class FuncCall(Expr):
    name: str  # upper case
    args: tuple[Expr, ...]
    distinct: bool = False
    star: bool = False  # COUNT(*)


@dataclass(frozen=True)
class Cast(Expr):
    operand: Expr
    type_name: str  # upper case, e.g. 'DOUBLE PRECISION', 'VARCHAR'
    length: int | None = None


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # '-', '+', '~'
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # + - * / % || & | ^
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Subquery(Expr):
    query: Query


@dataclass(frozen=True)
class Comparison(Expr):
    op: str  # = <> < > <= >=
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Between(Expr):
    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False


@dataclass(frozen=True)
class In(Expr):
    operand: Expr
    values: tuple[Expr, ...] | None  # None: a subquery
    query: Query | None = None
    negated: bool = False


@dataclass(frozen=True)
class Like(Expr):
    operand: Expr
    pattern: Expr
    negated: bool = False
    case_insensitive: bool = False


@dataclass(frozen=True)
class IsNull(Expr):
    operand: Expr
    negated: bool = False


@dataclass(frozen=True)
class Exists(Expr):
    query: Query


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True)
class Logical(Expr):
    op: str  # AND, OR
    left: Expr
    right: Expr


@dataclass(frozen=True)
class SelectItem:
    expr: Expr
    alias: Ident | None = None


@dataclass(frozen=True)
class OrderItem:
    expr: Expr
    descending: bool = False


@dataclass(frozen=True)
class FromItem:
    at: Token = field(compare=False, repr=False)


@dataclass(frozen=True)
class TableName(FromItem):
    parts: tuple[Ident, ...]  # [schema.]table (ADQL allows catalog.schema.table)
    alias: Ident | None = None


@dataclass(frozen=True)
class DerivedTable(FromItem):
    query: Query
    alias: Ident


@dataclass(frozen=True)
class Join(FromItem):
    kind: str  # INNER, LEFT, RIGHT, FULL, CROSS
    left: FromItem
    right: FromItem
    natural: bool = False
    on: Expr | None = None
    using: tuple[Ident, ...] = ()


@dataclass(frozen=True)
class Query:
    """Base of the query expressions (a SELECT, a set operation, a WITH)."""

    at: Token = field(compare=False, repr=False)


@dataclass(frozen=True)
class Select(Query):
    items: tuple[SelectItem, ...]
    from_: tuple[FromItem, ...]
    distinct: bool = False
    top: int | None = None
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    having: Expr | None = None
    order_by: tuple[OrderItem, ...] = ()
    offset: int | None = None


@dataclass(frozen=True)
class SetOperation(Query):
    op: str  # UNION, INTERSECT, EXCEPT
    all: bool
    left: Query
    right: Query
    order_by: tuple[OrderItem, ...] = ()
    offset: int | None = None


@dataclass(frozen=True)
class With(Query):
    ctes: tuple[tuple[Ident, Query], ...]
    body: Query
