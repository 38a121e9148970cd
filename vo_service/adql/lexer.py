"""ADQL 2.1 tokens (ADQL 2.1 sec. 2.1): keywords, identifiers, literals, operators.

Keywords are case-insensitive and only the words the grammar uses are reserved here; the
ADQL function names are recognised by the parser when an identifier is followed by ``(``
and refused as bare column names by the translator (sec. 2.1.3). Whitespace and ``--``
comments separate tokens; a token ends where a character cannot continue it, so
``select all(a+b)X`` and ``2desc`` lex as the corpus expects, while ``fromy`` is one
identifier (not FROM followed by y).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import AdqlSyntaxError

__all__ = ["KEYWORDS", "Token", "tokenize"]

#: the words the grammar itself uses (ADQL 2.1 sec. 2.1.2, the subset that is syntax)
KEYWORDS = frozenset([
    "ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CAST", "CROSS", "DESC", "DISTINCT", "EXCEPT",
    "EXISTS", "FROM", "FULL", "GROUP", "HAVING", "ILIKE", "IN", "INNER", "INTERSECT", "IS",
    "JOIN", "LEFT", "LIKE", "NATURAL", "NOT", "NULL", "OFFSET", "ON", "OR", "ORDER", "OUTER",
    "RIGHT", "SELECT", "TOP", "UNION", "USING", "WHERE", "WITH",
])

_TOKEN = re.compile(r"""
    (?P<ws>\s+|--[^\n]*)
  | (?P<hex>0[xX][0-9a-fA-F]+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<delimited>"(?:[^"]|"")+")
  | (?P<word>[A-Za-z][A-Za-z0-9_]*)
  | (?P<op><>|!=|<=|>=|\|\||[-+*/%(),.<>=&|^~;])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    """``kind``: keyword, ident, delimited, number, string, op or end; ``value`` is the
    keyword in upper case, the identifier as written, the unquoted text of a delimited
    identifier or string, or the operator; ``line``/``column`` count from 1."""

    kind: str
    value: str
    line: int
    column: int
    text: str

    def is_(self, kind: str, *values: str) -> bool:
        return self.kind == kind and (not values or self.value in values)


def tokenize(query: str) -> list[Token]:
    """The tokens of ``query``, ending with an ``end`` token."""
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        column = pos - line_start + 1
        if match is None:
            char = query[pos]
            what = "an unterminated string" if char == "'" else \
                "an unterminated or empty delimited identifier" if char == '"' else \
                f"the character {char!r}"
            raise AdqlSyntaxError(f"unexpected {what}", line, column, char)
        text = match.group()
        kind = match.lastgroup
        if kind == "word":
            upper = text.upper()
            tokens.append(Token("keyword", upper, line, column, text) if upper in KEYWORDS
                          else Token("ident", text, line, column, text))
        elif kind == "string":
            tokens.append(Token("string", text[1:-1].replace("''", "'"), line, column, text))
        elif kind == "delimited":
            tokens.append(Token("delimited", text[1:-1].replace('""', '"'), line, column,
                                text))
        elif kind in ("number", "hex", "op"):
            tokens.append(Token(kind, text, line, column, text))
        newlines = text.count("\n")
        if newlines:
            line += newlines
            line_start = pos + text.rindex("\n") + 1
        pos = match.end()
    tokens.append(Token("end", "", line, pos - line_start + 1, "end of query"))
    return tokens
