"""The ADQL functions this service declares (TAPRegExt ``languageFeatures``), in SQL.

Each ADQL 2.1 function (sec. 2.3 math and trigonometry, 4.2 geometry, 4.3-4.7 optional
string, conditional, unit and type features) and the two user-defined functions are
translated for SQLite (3.35+, built with its math functions, as CPython's is) and
PostgreSQL. Where the engines differ from ADQL the SQL says so:

* LOG is the natural logarithm (SQLite and PostgreSQL ``log`` are base 10);
* ROUND and TRUNCATE with a digit count go through NUMERIC on PostgreSQL (which has no
  ``round(double, int)``) and through powers of ten on SQLite (whose ``round`` ignores
  negative counts);
* MOD of non-integers goes through NUMERIC on PostgreSQL;
* RAND() is ``random()`` on PostgreSQL and a 53-bit fraction of ``random()`` on SQLite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import geometry as geo
from .errors import AdqlError
from .values import Value, sql_literal

__all__ = ["AGGREGATES", "FUNCTIONS", "UDFS", "call", "is_function"]

#: name -> (min args, max args, description) of the non-aggregate functions
FUNCTIONS: dict[str, tuple[int, int]] = {
    **{n: (1, 1) for n in ("ABS", "CEILING", "DEGREES", "EXP", "FLOOR", "LOG", "LOG10",
                           "RADIANS", "SQRT", "ACOS", "ASIN", "ATAN", "COS", "COT", "SIN",
                           "TAN", "LOWER", "UPPER")},
    "ATAN2": (2, 2), "MOD": (2, 2), "POWER": (2, 2), "PI": (0, 0), "RAND": (0, 1),
    "ROUND": (1, 2), "TRUNCATE": (1, 2), "COALESCE": (1, 64), "IN_UNIT": (2, 2),
    "POINT": (2, 3), "CIRCLE": (2, 4), "BOX": (3, 5), "POLYGON": (3, 201),
    "AREA": (1, 1), "CENTROID": (1, 1), "COORD1": (1, 1), "COORD2": (1, 1),
    "COORDSYS": (1, 1), "DISTANCE": (2, 4), "CONTAINS": (2, 2), "INTERSECTS": (2, 2),
}
AGGREGATES = ("COUNT", "MIN", "MAX", "AVG", "SUM")


@dataclass(frozen=True)
class Udf:
    """A user-defined function declared in the capabilities (TAPRegExt sec. 2.3)."""

    form: str
    description: str
    args: int


UDFS = {
    "IVO_HEALPIX_INDEX": Udf(
        "ivo_healpix_index(hpxOrder INTEGER, ra DOUBLE, dec DOUBLE) -> BIGINT",
        "The NESTED HEALPix index at order hpxOrder (0..29) of a position. Here only "
        "for the position columns of the atlas tables (catalog and spectra ra/dec, "
        "ObsCore s_ra/s_dec), whose order-29 index is stored.", 3),
    "IVO_INTERVAL_OVERLAPS": Udf(
        "ivo_interval_overlaps(l1 NUMERIC, h1 NUMERIC, l2 NUMERIC, h2 NUMERIC) -> INTEGER",
        "1 if the intervals [l1, h1] and [l2, h2] overlap, else 0, e.g. "
        "ivo_interval_overlaps(em_min, em_max, 1.5e-5, 1.6e-5) = 1.", 4),
}

_SIMPLE = {"ABS": "abs", "CEILING": "ceil", "DEGREES": "degrees", "EXP": "exp",
           "FLOOR": "floor", "LOG": "ln", "LOG10": "log10", "RADIANS": "radians",
           "SQRT": "sqrt", "ACOS": "acos", "ASIN": "asin", "ATAN": "atan", "COS": "cos",
           "SIN": "sin", "TAN": "tan", "ATAN2": "atan2", "POWER": "power"}


def is_function(name: str) -> bool:
    return name in FUNCTIONS or name in AGGREGATES or name in UDFS


def _err(message: str, at) -> AdqlError:
    return AdqlError(message, at.line, at.column, at.text)


def _numeric(args: list[Value], name: str, at) -> None:
    for arg in args:
        if arg.type not in ("int", "float", "unknown", "null"):
            raise _err(f"{name} takes numbers, not a {arg.type}", at)


def _const_int(value: Value) -> int | None:
    return value.const if value.is_const and value.type == "int" else None


def _float(sql: str, dialect: str) -> str:
    return f"CAST({sql} AS {'REAL' if dialect == 'sqlite' else 'DOUBLE PRECISION'})"


def _digits(name: str, x: Value, n: Value | None, dialect: str) -> str:
    """ROUND or TRUNCATE to ``n`` decimal digits (see the module docstring)."""
    if dialect == "postgresql":
        fn = "round" if name == "ROUND" else "trunc"
        digits = "0" if n is None else n.sql
        return f"CAST({fn}(CAST({x.sql} AS NUMERIC), {digits}) AS DOUBLE PRECISION)"
    fn = "round" if name == "ROUND" else "trunc"
    if n is None:
        return f"{fn}({x.sql})"
    scale = f"power(10.0, {n.sql})"
    return f"({fn}(({x.sql}) * {scale}) / {scale})"


def call(name: str, args: list[Value], at, dialect: str) -> Value:
    """A non-aggregate function call (arity already checked by the caller)."""
    if name in ("POINT", "CIRCLE", "BOX", "POLYGON"):
        return geo.make_geometry(name, args, at)
    if name in ("AREA", "CENTROID", "COORD1", "COORD2", "COORDSYS"):
        arg = args[0]
        if not arg.geometry and arg.type != "unknown":
            raise _err(f"{name} takes a geometry, not a {arg.type}", at)
        if arg.type == "unknown":
            raise _err(f"{name} needs a geometry of known type", at)
        if name == "AREA":
            return geo.area(arg, at)
        if name == "CENTROID":
            return geo.centroid(arg, at)
        if name == "COORDSYS":
            return Value("'ICRS'", "str", const="ICRS", is_const=True)
        if arg.type != "point":
            raise _err(f"{name} takes a point, not a {arg.type}", at)
        i = 0 if name == "COORD1" else 1
        return Value(arg.parts[i], "float", const=arg.const[i] if arg.const else None,
                     is_const=arg.is_const, unit="deg")
    if name == "DISTANCE":
        if len(args) == 4:
            _numeric(args, name, at)
            a = geo.make_geometry("POINT", args[:2], at)
            b = geo.make_geometry("POINT", args[2:], at)
        elif len(args) == 2:
            a, b = args
        else:
            raise _err("DISTANCE takes two points or four coordinates", at)
        if a.type not in ("point", "circle") or b.type not in ("point", "circle"):
            raise _err("DISTANCE takes two points (or circles: their centres)", at)
        return Value(geo.distance_sql(a.parts[:2], b.parts[:2], dialect), "float", unit="deg")
    if name in ("CONTAINS", "INTERSECTS"):
        condition = geo.predicate(name, args[0], args[1], dialect, at)
        return Value(f"(CASE WHEN {condition} THEN 1 ELSE 0 END)", "int")
    if name in ("LOWER", "UPPER"):
        if args[0].geometry:
            raise _err(f"{name} takes a string, not a {args[0].type}", at)
        return Value(f"{name.lower()}({args[0].sql})", "str")
    if name == "COALESCE":
        kinds = {a.type for a in args} - {"null", "unknown"}
        if any(a.geometry for a in args):
            raise _err("COALESCE of geometries is not supported", at)
        if "str" in kinds and kinds & {"int", "float"}:  # SQL 92 sec. 6.9: one type
            raise _err("COALESCE mixes strings and numbers: CAST them to one type", at)
        kind = "float" if kinds == {"int", "float"} else (kinds.pop() if len(kinds) == 1
                                                          else "unknown")
        return Value(f"coalesce({', '.join(a.sql for a in args)})", kind,
                     column=args[0].column, unit=args[0].unit)
    if name == "IN_UNIT":
        return _in_unit(args, at)
    if name in UDFS:
        return _udf(name, args, at)
    _numeric(args, name, at)
    sql_args = ", ".join(a.sql for a in args)
    if name in _SIMPLE:
        unit = args[0].unit if name in ("ABS", "CEILING", "FLOOR") else None
        kind = args[0].type if name in ("ABS",) else "float"
        if name in ("CEILING", "FLOOR") and args[0].type == "int":
            kind = "int"
        sql = f"{_SIMPLE[name]}({sql_args})"
        if name in ("CEILING", "FLOOR") and dialect == "sqlite" and kind == "float":
            sql = _float(sql, dialect)
        if name == "POWER":
            unit = _power_unit(args)
        return Value(sql, kind, unit=unit)
    if name == "PI":
        return Value("pi()", "float", const=math.pi, is_const=True)
    if name == "COT":
        return Value(f"(1.0 / tan({args[0].sql}))", "float")
    if name == "RAND":
        sql = "random()" if dialect == "postgresql" else \
            "((random() & 9007199254740991) / 9007199254740992.0)"
        return Value(sql, "float")
    if name == "MOD":
        a, b = args
        if (a.type == "int" and b.type == "int") or dialect == "sqlite":
            return Value(f"mod({a.sql}, {b.sql})", "int" if {a.type, b.type} == {"int"}
                         else "float")
        return Value(_float(f"mod(CAST({a.sql} AS NUMERIC), CAST({b.sql} AS NUMERIC))",
                            dialect), "float")
    if name in ("ROUND", "TRUNCATE"):
        digits = args[1] if len(args) == 2 else None
        if digits is not None and digits.type not in ("int", "unknown"):
            raise _err(f"the digit count of {name} must be an integer", at)
        return Value(_digits(name, args[0], digits, dialect), "float", unit=args[0].unit)
    raise _err(f"unknown function {name}", at)  # pragma: no cover - callers check


def _power_unit(args: list[Value]):
    base, exponent = args
    n = exponent.const if exponent.is_const else None
    if base.unit is not None and isinstance(n, (int, float)):
        try:
            return base.unit ** n
        except (TypeError, ValueError):
            return None
    return None


def _in_unit(args: list[Value], at) -> Value:
    from astropy import units as u

    value, target = args
    if not (target.is_const and target.type == "str"):
        raise _err("the unit of IN_UNIT must be a string literal", at)
    try:
        unit = u.Unit(target.const, format="vounit")
    except ValueError:
        raise _err(f"{target.const!r} is not a VOUnit", at) from None
    if value.unit is None:
        raise _err("IN_UNIT needs a value whose unit is known (a column with a unit, or "
                   "products, quotients and powers of such)", at)
    try:
        factor = u.Unit(value.unit).to(unit)
    except u.UnitConversionError:
        raise _err(f"cannot convert {u.Unit(value.unit).to_string('vounit')} to "
                   f"{target.const}", at) from None
    return Value(f"(({value.sql}) * {sql_literal(float(factor))})", "float",
                 unit=unit)


def _udf(name: str, args: list[Value], at) -> Value:
    udf = UDFS[name]
    if len(args) != udf.args:
        raise _err(f"{udf.form.split('(')[0]} takes {udf.args} arguments", at)
    if name == "IVO_INTERVAL_OVERLAPS":
        l1, h1, l2, h2 = (a.sql for a in args)
        return Value(f"(CASE WHEN {h1} >= {l2} AND {h2} >= {l1} THEN 1 ELSE 0 END)", "int")
    order, ra, dec = args
    n = _const_int(order)
    if n is None or not 0 <= n <= 29:
        raise _err("the HEALPix order of ivo_healpix_index must be an integer 0..29", at)
    table = getattr(ra.source, "table", None)
    if table is None or table.healpix is None or ra.source is not dec.source or \
            (ra.column and ra.column.name, dec.column and dec.column.name) != \
            table.position:
        raise _err("ivo_healpix_index is available for the position columns of the atlas "
                   "tables (ra, dec; ObsCore s_ra, s_dec)", at)
    column = f'{ra.source.alias}."{table.healpix}"'
    return Value(f"({column} / {4 ** (29 - n)})" if n < 29 else column, "int")
