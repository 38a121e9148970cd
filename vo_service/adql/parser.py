"""A recursive-descent parser for ADQL 2.1 (ADQL 2.1 sec. 2 and its BNF, appendix A).

``parse(text)`` returns the :class:`~vo_service.adql.ast.Query` or raises
:class:`~vo_service.adql.errors.AdqlSyntaxError` naming the line, column and token where
the query stops making sense (the furthest point any alternative reached).

Grammar decisions, where the standard leaves room or the corpus disagrees with itself:

* WITH only at the top of a query (sec. 2.2.1: not in subqueries, not in set members).
* A set operation's trailing ORDER BY / OFFSET apply to the whole result (sec. 4.6.4);
  a member with its own ORDER BY must be parenthesised. INTERSECT binds tighter than
  UNION and EXCEPT (sec. 4.6.5).
* A JOIN without ON, USING or NATURAL is a cross join: the BNF makes the join
  specification optional (the GAVO corpus accepts ``t1 JOIN t2``; the IVOA corpus's one
  query rejecting ``t1 INNER JOIN t2`` is a listed exception of our corpus test).
* A search condition is built from predicates; a bare value (``WHERE CONTAINS(a, b)``,
  ``HAVING y``) is not a condition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from . import ast as nodes
from .errors import AdqlError, AdqlSyntaxError
from .lexer import Token, tokenize

__all__ = ["parse"]

T = TypeVar("T")

_COMPARE = ("=", "<>", "!=", "<", ">", "<=", ">=")
_CAST_TYPES = ("SMALLINT", "INTEGER", "BIGINT", "REAL", "DOUBLE", "CHAR", "VARCHAR",
               "TIMESTAMP", "POINT", "CIRCLE", "POLYGON")
_INT64_MAX = 2**63 - 1
_MAX_DEPTH = 64  # nesting limit: a pathological query gets an error, not a RecursionError


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.furthest: AdqlSyntaxError | None = None
        self.depth = 0

    # ------------------------------------------------------------------ helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def error(self, expected: str, tok: Token | None = None) -> AdqlSyntaxError:
        tok = tok or self.tok
        found = "the end of the query" if tok.kind == "end" else repr(tok.text)
        err = AdqlSyntaxError(f"expected {expected} but found {found}", tok.line,
                              tok.column, None if tok.kind == "end" else tok.text)
        # the token's index, searched back from here (where it almost always is): a scan
        # of every token for each rewound alternative made long queries quadratic
        err.position = next((i for i in range(self.pos, -1, -1) if self.tokens[i] is tok),
                            self.pos)
        if self.furthest is None or err.position >= self.furthest.position:
            self.furthest = err
        return err

    def at_keyword(self, *words: str) -> bool:
        return self.tok.is_("keyword", *words)

    def at_op(self, *ops: str) -> bool:
        return self.tok.is_("op", *ops)

    def accept_keyword(self, *words: str) -> Token | None:
        if self.at_keyword(*words):
            tok = self.tok
            self.pos += 1
            return tok
        return None

    def accept_op(self, *ops: str) -> Token | None:
        if self.at_op(*ops):
            tok = self.tok
            self.pos += 1
            return tok
        return None

    def expect_keyword(self, word: str) -> Token:
        tok = self.accept_keyword(word)
        if tok is None:
            raise self.error(word)
        return tok

    def expect_op(self, op: str) -> Token:
        tok = self.accept_op(op)
        if tok is None:
            raise self.error(f"'{op}'")
        return tok

    def attempt(self, rule: Callable[[], T]) -> T | None:
        """Run ``rule``; on a syntax error rewind and return None (for alternatives)."""
        start = self.pos
        try:
            return rule()
        except _TooDeepError:
            raise
        except AdqlSyntaxError:
            self.pos = start
            return None

    def nested(self, rule: Callable[[], T]) -> T:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _TooDeepError(f"the query is nested too deeply (more than {_MAX_DEPTH} levels)",
                           self.tok.line, self.tok.column, self.tok.text)
        try:
            return rule()
        finally:
            self.depth -= 1

    # ------------------------------------------------------------------ queries
    def statement(self) -> nodes.Query:
        query = self.query(top_level=True)
        self.accept_op(";")
        if self.tok.kind != "end":
            raise self.error("the end of the query (or an operator, a clause)")
        return query

    def query(self, top_level: bool = False) -> nodes.Query:
        at = self.tok
        if self.at_keyword("WITH"):
            if not top_level:
                raise AdqlSyntaxError("WITH is only allowed at the start of the whole "
                                      "query (ADQL 2.1 sec. 2.2.1)", at.line, at.column,
                                      at.text)
            self.pos += 1
            ctes = [self.cte()]
            while self.accept_op(","):
                ctes.append(self.cte())
            return nodes.With(at, tuple(ctes), self.set_expression())
        return self.set_expression()

    def cte(self) -> tuple[nodes.Ident, nodes.Query]:
        name = self.identifier("a name for the WITH query")
        self.expect_keyword("AS")
        self.expect_op("(")
        query = self.nested(self.set_expression)
        self.expect_op(")")
        return name, query

    def set_expression(self) -> nodes.Query:
        left = self.set_term()
        while self.at_keyword("UNION", "EXCEPT"):
            at = self.tok
            op = self.tok.value
            self.pos += 1
            every = bool(self.accept_keyword("ALL"))
            self.accept_keyword("DISTINCT")
            right = self.set_term()
            left, right, order, offset = _hoist_tail(left, right)
            left = nodes.SetOperation(at, op, every, left, right, order, offset)
        return left

    def set_term(self) -> nodes.Query:
        left = self.set_primary()
        while self.at_keyword("INTERSECT"):
            at = self.tok
            self.pos += 1
            every = bool(self.accept_keyword("ALL"))
            self.accept_keyword("DISTINCT")
            right = self.set_primary()
            left, right, order, offset = _hoist_tail(left, right)
            left = nodes.SetOperation(at, "INTERSECT", every, left, right, order, offset)
        return left

    def set_primary(self) -> nodes.Query:
        if self.at_op("("):
            self.pos += 1
            if self.at_keyword("WITH"):
                raise AdqlSyntaxError("WITH is only allowed at the start of the whole "
                                      "query (ADQL 2.1 sec. 2.2.1)", self.tok.line,
                                      self.tok.column, self.tok.text)
            query = self.nested(self.set_expression)
            self.expect_op(")")
            return _Parenthesised(query.at, query) if isinstance(query, nodes.Select) else query
        return self.select()

    def select(self) -> nodes.Select:
        at = self.expect_keyword("SELECT")
        distinct = False
        if self.accept_keyword("DISTINCT"):
            distinct = True
        else:
            self.accept_keyword("ALL")
        top = None
        if self.accept_keyword("TOP"):
            top = self.unsigned_integer("a row count after TOP")
        items = self.select_list()
        self.expect_keyword("FROM")
        from_ = [self.table_reference()]
        while self.accept_op(","):
            from_.append(self.table_reference())
        where = self.condition() if self.accept_keyword("WHERE") else None
        group_by: list[nodes.Expr] = []
        if self.accept_keyword("GROUP"):
            self.expect_keyword("BY")
            group_by.append(self.value())
            while self.accept_op(","):
                group_by.append(self.value())
        having = self.condition() if self.accept_keyword("HAVING") else None
        order_by = self.order_by()
        offset = self.offset()
        return nodes.Select(at, tuple(items), tuple(from_), distinct, top, where,
                        tuple(group_by), having, order_by, offset)

    def order_by(self) -> tuple[nodes.OrderItem, ...]:
        if not self.accept_keyword("ORDER"):
            return ()
        self.expect_keyword("BY")
        items = []
        while True:
            expr = self.value()
            descending = bool(self.accept_keyword("DESC"))
            if not descending:
                self.accept_keyword("ASC")
            items.append(nodes.OrderItem(expr, descending))
            if not self.accept_op(","):
                return tuple(items)

    def offset(self) -> int | None:
        if self.accept_keyword("OFFSET"):
            return self.unsigned_integer("a row count after OFFSET")
        return None

    def unsigned_integer(self, what: str) -> int:
        tok = self.tok
        if tok.kind == "number" and tok.text.isdigit():
            self.pos += 1
            return self._bounded_int(tok, tok.text)
        raise self.error(f"{what} (an unsigned integer)")

    @staticmethod
    def _bounded_int(tok: Token, text: str) -> int:
        """An integer literal within 64 bits (ADQL 2.1 sec. 2.5.1: BIGINT is the widest
        exact type); 5000 digits would not even convert (Python's int limit)."""
        if len(text.lstrip("0")) > 19 or int(text) > _INT64_MAX:
            raise AdqlError("integer literal beyond the 64-bit range (use a decimal, e.g. "
                            "1.0e20)", tok.line, tok.column, tok.text[:30])
        return int(text)

    def select_list(self) -> list[nodes.SelectItem]:
        items = [self.select_item()]
        while self.accept_op(","):
            items.append(self.select_item())
        return items

    def select_item(self) -> nodes.SelectItem:
        at = self.tok
        if self.accept_op("*"):
            return nodes.SelectItem(nodes.Star(at))
        # table.* (up to catalog.schema.table.*)
        qualified = self.attempt(self.qualified_star)
        if qualified is not None:
            return nodes.SelectItem(qualified)
        if self.at_keyword("FROM"):
            raise self.error("a column or an expression to select")
        expr = self.value()
        return nodes.SelectItem(expr, self.alias())

    def qualified_star(self) -> nodes.Star:
        at = self.tok
        parts = [self.identifier("a table name")]
        while self.accept_op("."):
            if self.accept_op("*"):
                if len(parts) > 3:
                    raise self.error("at most catalog.schema.table before .*", at)
                return nodes.Star(at, tuple(parts))
            parts.append(self.identifier("a name"))
        raise self.error("'.*'")

    def alias(self) -> nodes.Ident | None:
        if self.accept_keyword("AS"):
            return self.identifier("an alias after AS")
        if self.tok.kind in ("ident", "delimited"):
            return self.identifier("an alias")
        return None

    def identifier(self, what: str) -> nodes.Ident:
        tok = self.tok
        if tok.kind == "ident":
            self.pos += 1
            return nodes.Ident(tok.value)
        if tok.kind == "delimited":
            self.pos += 1
            return nodes.Ident(tok.value, delimited=True)
        if tok.kind == "keyword":
            raise AdqlSyntaxError(f"expected {what} but found the reserved word {tok.value} "
                                  "(write it in double quotes to use it as a name)",
                                  tok.line, tok.column, tok.text)
        raise self.error(what)

    # ------------------------------------------------------------------ FROM
    def table_reference(self) -> nodes.FromItem:
        left = self.table_primary()
        while True:
            at = self.tok
            if self.accept_keyword("CROSS"):
                self.expect_keyword("JOIN")
                left = nodes.Join(at, "CROSS", left, self.table_primary())
                continue
            natural = bool(self.accept_keyword("NATURAL"))
            kind, typed = "INNER", bool(self.accept_keyword("INNER"))
            if not typed and self.at_keyword("LEFT", "RIGHT", "FULL"):
                kind, typed = self.tok.value, True
                self.pos += 1
                self.accept_keyword("OUTER")
            if not self.accept_keyword("JOIN"):
                if natural or typed:
                    raise self.error("JOIN")
                return left
            right = self.table_primary()
            on, using = None, ()
            if natural:
                pass
            elif self.accept_keyword("ON"):
                on = self.condition()
            elif self.accept_keyword("USING"):
                self.expect_op("(")
                names = [self.identifier("a column name")]
                while self.accept_op(","):
                    names.append(self.identifier("a column name"))
                self.expect_op(")")
                using = tuple(names)
            left = nodes.Join(at, kind, left, right, natural, on, using)

    def table_primary(self) -> nodes.FromItem:
        at = self.tok
        if self.accept_op("("):
            if self.at_keyword("SELECT") or (self.at_op("(") and self._starts_query()):
                query = self.nested(self.set_expression)
                self.expect_op(")")
                alias = self.alias()
                if alias is None:
                    raise self.error("a name for the subquery (AS name)")
                return nodes.DerivedTable(at, query, alias)
            if self.at_keyword("WITH"):
                raise AdqlSyntaxError("WITH is only allowed at the start of the whole "
                                      "query (ADQL 2.1 sec. 2.2.1)", self.tok.line,
                                      self.tok.column, self.tok.text)
            joined = self.nested(self.table_reference)
            self.expect_op(")")
            return joined
        parts = [self.identifier("a table name")]
        while self.accept_op("."):
            parts.append(self.identifier("a table name"))
        if len(parts) > 3:
            raise AdqlSyntaxError("a table name has at most three parts "
                                  "(catalog.schema.table)", at.line, at.column, at.text)
        return nodes.TableName(at, tuple(parts), self.alias())

    def _starts_query(self) -> bool:
        """After '(' and at another '(': does a parenthesised query start here?"""
        offset = 0
        while self.peek(offset).is_("op", "("):
            offset += 1
        return self.peek(offset).is_("keyword", "SELECT")

    # ------------------------------------------------------------------ conditions
    def condition(self) -> nodes.Expr:
        return self.nested(self._or)

    def _or(self) -> nodes.Expr:
        left = self._and()
        while True:
            at = self.accept_keyword("OR")
            if at is None:
                return left
            left = nodes.Logical(at, "OR", left, self._and())

    def _and(self) -> nodes.Expr:
        left = self._not()
        while True:
            at = self.accept_keyword("AND")
            if at is None:
                return left
            left = nodes.Logical(at, "AND", left, self._not())

    def _not(self) -> nodes.Expr:
        at = self.accept_keyword("NOT")
        if at is not None:
            return nodes.Not(at, self._not())
        return self.boolean_primary()

    def boolean_primary(self) -> nodes.Expr:
        if self.at_op("("):
            predicate = self.attempt(self.predicate)
            if predicate is not None:
                return predicate
            self.pos += 1
            inner = self.nested(self._or)
            self.expect_op(")")
            return inner
        return self.predicate()

    def predicate(self) -> nodes.Expr:
        at = self.tok
        if self.accept_keyword("EXISTS"):
            self.expect_op("(")
            query = self.nested(self.set_expression)
            self.expect_op(")")
            return nodes.Exists(at, query)
        left = self.value()
        op = self.tok
        if self.accept_op(*_COMPARE):
            return nodes.Comparison(op, "<>" if op.value == "!=" else op.value, left, self.value())
        if self.accept_keyword("IS"):
            negated = bool(self.accept_keyword("NOT"))
            self.expect_keyword("NULL")
            return nodes.IsNull(op, left, negated)
        negated = bool(self.accept_keyword("NOT"))
        if self.accept_keyword("BETWEEN"):
            low = self.value()
            self.expect_keyword("AND")
            return nodes.Between(op, left, low, self.value(), negated)
        if self.accept_keyword("IN"):
            self.expect_op("(")
            if self.at_keyword("SELECT"):
                query = self.nested(self.set_expression)
                self.expect_op(")")
                return nodes.In(op, left, None, query, negated)
            values = [self.value()]
            while self.accept_op(","):
                values.append(self.value())
            self.expect_op(")")
            return nodes.In(op, left, tuple(values), None, negated)
        if self.at_keyword("LIKE", "ILIKE"):
            insensitive = self.tok.value == "ILIKE"
            self.pos += 1
            return nodes.Like(op, left, self.value(), negated, insensitive)
        raise self.error("a comparison operator, BETWEEN, IN, LIKE or IS NULL" if not negated
                         else "BETWEEN, IN or LIKE after NOT")

    # ------------------------------------------------------------------ values
    def value(self) -> nodes.Expr:
        return self.nested(self._other)

    def _other(self) -> nodes.Expr:  # || & | ^ (the lowest binding operators)
        left = self._additive()
        while True:
            at = self.accept_op("||", "&", "|", "^")
            if at is None:
                return left
            left = nodes.Binary(at, at.value, left, self._additive())

    def _additive(self) -> nodes.Expr:
        left = self._term()
        while True:
            at = self.accept_op("+", "-")
            if at is None:
                return left
            left = nodes.Binary(at, at.value, left, self._term())

    def _term(self) -> nodes.Expr:
        left = self._factor()
        while True:
            at = self.accept_op("*", "/", "%")
            if at is None:
                return left
            left = nodes.Binary(at, at.value, left, self._factor())

    def _factor(self) -> nodes.Expr:
        at = self.accept_op("-", "+", "~")
        if at is not None:
            operand = self.nested(self._factor)
            if at.value == "-" and isinstance(operand, nodes.Literal) and \
                    operand.kind in ("int", "float"):
                return nodes.Literal(at, -operand.value, operand.kind)
            return operand if at.value == "+" else nodes.Unary(at, at.value, operand)
        return self.primary()

    def primary(self) -> nodes.Expr:
        tok = self.tok
        if tok.kind == "number":
            self.pos += 1
            text = tok.text
            if any(c in text for c in ".eE"):
                value = float(text)  # never fails: the lexer matched the number syntax
                if len(text) > 400 or value in (float("inf"), float("-inf")):
                    raise AdqlError("numeric literal too long or beyond the range of "
                                    "DOUBLE PRECISION", tok.line, tok.column, text[:30])
                return nodes.Literal(tok, value, "float")
            return nodes.Literal(tok, self._bounded_int(tok, text), "int")
        if tok.kind == "hex":
            self.pos += 1
            if len(tok.text) > 18 or int(tok.text, 16) > _INT64_MAX:  # 0x + 16 digits
                raise AdqlError("hexadecimal literal beyond the 64-bit range", tok.line,
                                tok.column, tok.text[:30])
            return nodes.Literal(tok, int(tok.text, 16), "int")
        if tok.kind == "string":
            self.pos += 1
            value = tok.value
            while self.tok.kind == "string":  # adjacent literals concatenate (SQL 92)
                value += self.tok.value
                self.pos += 1
            return nodes.Literal(tok, value, "string")
        if self.accept_keyword("NULL"):
            return nodes.Literal(tok, None, "null")
        if self.accept_keyword("CAST"):
            return self.cast(tok)
        if self.accept_op("("):
            if self.at_keyword("SELECT"):
                query = self.nested(self.set_expression)
                self.expect_op(")")
                return nodes.Subquery(tok, query)
            inner = self.value()
            self.expect_op(")")
            return inner
        if tok.kind == "ident" and self.peek().is_("op", "("):
            return self.function_call()
        if tok.kind in ("ident", "delimited"):
            parts = [self.identifier("a column name")]
            while self.at_op(".") and self.peek().kind in ("ident", "delimited"):
                self.pos += 1
                parts.append(self.identifier("a column name"))
            if len(parts) > 4:
                raise AdqlSyntaxError("a column name has at most four parts "
                                      "(catalog.schema.table.column)", tok.line, tok.column,
                                      tok.text)
            return nodes.ColumnRef(tok, tuple(parts))
        raise self.error("a value (a column, a literal, a function or a parenthesised "
                         "expression)")

    def function_call(self) -> nodes.FuncCall:
        tok = self.tok
        name = tok.value.upper()
        self.pos += 2  # name and '('
        if self.accept_op(")"):
            return nodes.FuncCall(tok, name, ())
        if self.at_op("*"):
            self.pos += 1
            self.expect_op(")")
            return nodes.FuncCall(tok, name, (), star=True)
        distinct = bool(self.accept_keyword("DISTINCT"))
        if not distinct:
            self.accept_keyword("ALL")
        args = [self.value()]
        while self.accept_op(","):
            args.append(self.value())
        self.expect_op(")")
        return nodes.FuncCall(tok, name, tuple(args), distinct)

    def cast(self, at: Token) -> nodes.Cast:
        self.expect_op("(")
        operand = self.value()
        self.expect_keyword("AS")
        tok = self.tok
        word = tok.value.upper() if tok.kind in ("ident", "keyword") else ""
        if word not in _CAST_TYPES:
            raise AdqlSyntaxError(f"expected an ADQL type after AS ({', '.join(_CAST_TYPES)}"
                                  ", DOUBLE PRECISION) but found {tok.text!r}", tok.line,
                                  tok.column, tok.text)
        self.pos += 1
        if word == "DOUBLE":
            if not (self.tok.kind == "ident" and self.tok.value.upper() == "PRECISION"):
                raise self.error("PRECISION after DOUBLE")
            self.pos += 1
            word = "DOUBLE PRECISION"
        length = None
        if word in ("CHAR", "VARCHAR") and self.accept_op("("):
            length = self.unsigned_integer("a length")
            self.expect_op(")")
        self.expect_op(")")
        return nodes.Cast(at, operand, word, length)


class _TooDeepError(AdqlSyntaxError):
    """Nesting beyond the limit: reported as it is, never taken as a failed alternative."""


class _Parenthesised(nodes.Query):
    """A parenthesised SELECT used as a set-operation member (keeps its own ORDER BY)."""

    def __init__(self, at: Token, query: nodes.Select) -> None:
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "query", query)


def _hoist_tail(left: nodes.Query, right: nodes.Query):
    """The last member's ORDER BY / OFFSET belong to the whole set operation (sec. 4.6.4);
    an inner set operation's own tail moves up the same way."""
    order, offset = (), None
    if isinstance(left, nodes.Select) and (left.order_by or left.offset is not None):
        tok = left.at
        raise AdqlSyntaxError("a set-operation member with its own ORDER BY or OFFSET must "
                              "be in parentheses", tok.line, tok.column, tok.text)
    if isinstance(right, (nodes.Select, nodes.SetOperation)) and (right.order_by or
                                                          right.offset is not None):
        order, offset = right.order_by, right.offset
        right = _replace(right, order_by=(), offset=None)
    if isinstance(left, nodes.SetOperation) and (left.order_by or left.offset is not None):
        # "a UNION b ORDER BY x UNION c": the ORDER BY was not last; SQL refuses it too
        tok = left.at
        raise AdqlSyntaxError("ORDER BY and OFFSET of a set operation must come last",
                              tok.line, tok.column, tok.text)
    return _unwrap(left), _unwrap(right), order, offset


def _unwrap(query: nodes.Query) -> nodes.Query:
    return query.query if isinstance(query, _Parenthesised) else query


def _replace(query, **changes):
    from dataclasses import replace

    return replace(query, **changes)


def parse(text: str) -> nodes.Query:
    """The syntax tree of the ADQL query ``text`` (see the module docstring)."""
    if not text or not text.strip():
        raise AdqlSyntaxError("the query is empty", 1, 1)
    parser = _Parser(text)
    try:
        query = parser.statement()
    except RecursionError:  # e.g. thousands of chained operators
        raise AdqlSyntaxError("the query is nested too deeply", 1, 1) from None
    except _TooDeepError:
        raise
    except AdqlSyntaxError as exc:
        # among the alternatives tried, the error that got furthest is the useful one
        best = parser.furthest
        if best is not None and getattr(exc, "position", -1) < best.position:
            raise best from None
        raise
    return _unwrap(query)
