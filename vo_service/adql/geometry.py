"""ADQL geometry (ADQL 2.1 sec. 4.2) on component values (see ``values``).

Predicates: CONTAINS and INTERSECTS between points, circles and polygons, and DISTANCE
compared with a constant, become

* the exact spherical test (haversine distance for circles, great-circle edge normals for
  a constant polygon, the store's ``healpix.Polygon``), and
* when one side is the indexed position of a table (its ``ra``/``dec`` columns, or
  ObsCore's ``s_region``) and the other is constant: the HEALPix range prefilter on that
  table's order-29 index (``store.healpix``), which never loses a row;
* when both sides are table positions (a cross-match): declination bands in *both*
  directions, so the planner can drive the join from either table whichever way round
  the user wrote it, with an index on the declination columns.

Coordinate systems: every position of this service is ICRS; the first argument of POINT,
CIRCLE, BOX and POLYGON is accepted and ignored (ADQL 2.1 sec. 4.2.1 deprecates it).
"""

from __future__ import annotations

import math

import numpy as np

from vo_service.store.healpix import Box, Cone, Polygon, placeholder, ranges_sql

from .errors import AdqlError
from .values import Value, sql_literal

__all__ = ["area", "centroid", "distance_sql", "make_geometry", "predicate",
           "within_distance"]

#: the largest radius of ObsCore s_region (IRS slits are at most 11.1 arcsec wide):
#: the prefilter of a region test on s_region grows the region by this much
APERTURE_MARGIN_DEG = 0.01


def _err(message: str, at) -> AdqlError:
    return AdqlError(message, at.line, at.column, getattr(at, "text", None))


def _num(value: Value, what: str, at) -> Value:
    if value.type not in ("int", "float", "unknown", "null"):
        raise _err(f"{what} must be a number, not a {value.type}", at)
    return value


def make_geometry(name: str, args: list[Value], at) -> Value:
    """POINT, CIRCLE, BOX or POLYGON from translated arguments."""
    if args and args[0].type in ("str", "null") and args[0].is_const:
        args = args[1:]  # the coordinate system
    if name == "POINT":
        if len(args) != 2:
            raise _err("POINT takes a coordinate system (optional), ra and dec", at)
        return _build("point", [_num(a, "a POINT coordinate", at) for a in args])
    if name == "CIRCLE":
        if len(args) == 2 and args[0].type == "point":
            return _build("circle", [*_parts_of(args[0]), _num(args[1], "a radius", at)])
        if len(args) != 3:
            raise _err("CIRCLE takes a coordinate system (optional), a centre (a POINT or "
                       "ra, dec) and a radius", at)
        return _build("circle", [_num(a, "a CIRCLE parameter", at) for a in args])
    if name == "BOX":
        if len(args) == 3 and args[0].type == "point":
            args = [*_parts_of(args[0]), *args[1:]]
        if len(args) != 4:
            raise _err("BOX takes a coordinate system (optional), a centre, a width and a "
                       "height", at)
        values = [_num(a, "a BOX parameter", at) for a in args]
        if not all(v.is_const for v in values):
            raise _err("BOX needs constant parameters here", at)
        try:
            polygon = Box(*[float(v.const) for v in values])
        except (ValueError, TypeError) as exc:
            raise _err(f"invalid BOX: {exc}", at) from None
        return _const_polygon(polygon.vertices)
    if name == "POLYGON":
        if args and all(a.type == "point" for a in args):
            flat = [p for a in args for p in _parts_of(a)]
        else:
            flat = [_num(a, "a POLYGON coordinate", at) for a in args]
        if len(flat) < 6 or len(flat) % 2:
            raise _err("POLYGON takes a coordinate system (optional) and at least three "
                       "vertices (pairs of coordinates)", at)
        return _build("polygon", flat)
    raise _err(f"unknown geometry {name}", at)  # pragma: no cover - callers check


def _parts_of(point: Value) -> list[Value]:
    return [Value(sql, "float", const=c, is_const=point.is_const)
            for sql, c in zip(point.parts, point.const or (None,) * len(point.parts),
                              strict=True)]


def _build(kind: str, values: list[Value]) -> Value:
    const = tuple(float(v.const) for v in values) if all(
        v.is_const and v.type in ("int", "float") for v in values) else None
    return Value(sql="", type=kind, parts=tuple(v.sql for v in values), const=const,
                 is_const=const is not None,
                 source=_common_source(values))


def _common_source(values: list[Value]):
    sources = {id(v.source): v.source for v in values if v.source is not None}
    return next(iter(sources.values())) if len(sources) == 1 else None


def _const_polygon(vertices) -> Value:
    flat = tuple(float(c) for v in vertices for c in v)
    return Value("", "polygon", tuple(sql_literal(c) for c in flat), flat, True)


def geometry_from_dali(kind: str, text: str, at) -> Value:
    """CAST('1 2' AS POINT) and friends: the DALI serialisation of a geometry."""
    try:
        numbers = [float(w) for w in text.split()]
    except ValueError:
        raise _err(f"{text!r} is not a DALI {kind.lower()}", at) from None
    size = {"POINT": 2, "CIRCLE": 3}.get(kind)
    if (size and len(numbers) != size) or (not size and (len(numbers) < 6 or
                                                        len(numbers) % 2)) or \
            not all(math.isfinite(n) for n in numbers):  # DALI 1.1 sec. 3.3.5: degrees
        raise _err(f"{text!r} is not a DALI {kind.lower()}", at)
    return Value("", kind.lower(), tuple(sql_literal(n) for n in numbers), tuple(numbers),
                 True)


# ---------------------------------------------------------------------- scalar functions
def distance_sql(a: tuple[str, str], b: tuple[str, str], dialect: str) -> str:
    """Great-circle distance in degrees (haversine: exact at small separations)."""
    (ra1, dec1), (ra2, dec2) = a, b
    least = "min" if dialect == "sqlite" else "least"
    return (f"degrees(2 * asin(sqrt({least}(1.0, power(sin(radians(({dec2}) - ({dec1})) / 2)"
            f", 2) + cos(radians({dec1})) * cos(radians({dec2})) * power(sin(radians(("
            f"{ra2}) - ({ra1})) / 2), 2)))))")


def _center(value: Value) -> tuple[str, str]:
    return value.parts[0], value.parts[1]


def area(value: Value, at) -> Value:
    """AREA in square degrees."""
    if value.type == "point":
        return Value("0.0", "float", const=0.0, is_const=True)
    if value.type == "circle":
        r = value.parts[2]
        factor = 2 * math.pi * (180 / math.pi) ** 2
        return Value(f"({factor!r} * (1 - cos(radians({r}))))", "float")
    if value.type == "polygon" and value.is_const:
        return Value(repr(_polygon_area(value.const)), "float")
    raise _err("AREA needs a point, a circle or a constant polygon", at)


def _polygon_area(flat) -> float:
    poly = Polygon(tuple(zip(flat[0::2], flat[1::2], strict=True)))
    normals = poly._normals
    n = len(normals)
    angles = 0.0
    for i in range(n):  # interior angle at the vertex between edges i-1 and i
        u, v = normals[i - 1], normals[i]
        angles += math.pi - math.acos(float(np.clip(u @ v, -1, 1)))
    return (angles - (n - 2) * math.pi) * (180 / math.pi) ** 2


def centroid(value: Value, at) -> Value:
    if value.type == "point":
        return value
    if value.type == "circle":
        return Value("", "point", value.parts[:2], value.const[:2] if value.const else None,
                     value.is_const, source=value.source)
    if value.type == "polygon" and value.is_const:
        flat = value.const
        ra, dec = np.radians(flat[0::2]), np.radians(flat[1::2])
        vec = np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
        x, y, z = vec.sum(axis=1)
        c = (math.degrees(math.atan2(y, x)) % 360.0, math.degrees(math.atan2(z, math.hypot(x, y))))
        return Value("", "point", tuple(sql_literal(v) for v in c), c, True)
    raise _err("CENTROID needs a point, a circle or a constant polygon", at)


# ---------------------------------------------------------------------- predicates
def _inline(sql: str, params: list, dialect: str) -> str:
    pieces = sql.split(placeholder(dialect))
    if len(pieces) != len(params) + 1:  # pragma: no cover - the region code is ours
        raise AssertionError("placeholder count mismatch")
    out = [pieces[0]]
    for value, piece in zip(params, pieces[1:], strict=True):
        out.append(sql_literal(value) + piece)
    return "".join(out)


def _indexed_position(value: Value):
    """(table source, margin) when ``value`` is the HEALPix-indexed position of a table
    (its position columns, or the s_region circle), else None."""
    source = value.source
    table = getattr(source, "table", None)
    if table is None or table.healpix is None or value.is_const:
        return None
    alias = source.alias
    ra, dec = (f'{alias}."{table.position[0]}"', f'{alias}."{table.position[1]}"')
    if value.type == "point" and value.parts == (ra, dec):
        return source, 0.0
    if value.type == "circle" and value.parts[:2] == (ra, dec) and "s_region" in \
            table.geometries:
        return source, APERTURE_MARGIN_DEG
    return None


def _centre_is_position(value: Value) -> bool:
    """Is the centre of ``value`` a table's position columns (a join side)?"""
    table = getattr(value.source, "table", None)
    if table is None or table.position is None or value.is_const:
        return False
    alias = value.source.alias
    return value.parts[:2] == (f'{alias}."{table.position[0]}"',
                               f'{alias}."{table.position[1]}"')


def _prefilter(position: Value, region_const: Value, extra_radius_deg: float,
               dialect: str) -> str | None:
    hit = _indexed_position(position)
    if hit is None or not region_const.is_const:
        return None
    source, margin = hit
    grow = margin + extra_radius_deg
    c = region_const.const
    try:
        if region_const.type == "circle":
            region = Cone(c[0], c[1], min(c[2] + grow, 180.0))
        elif region_const.type == "point":
            region = Cone(c[0], c[1], max(grow, 1e-9))
        else:
            poly = Polygon(tuple(zip(c[0::2], c[1::2], strict=True)))
            if grow > 0:  # a covering cone around the grown polygon
                centre = centroid(region_const, None).const
                region = Cone(centre[0], centre[1], poly.size_deg() / 2 + grow)
            else:
                region = poly
    except ValueError:
        return None
    sql, params = ranges_sql(f'{source.alias}."{source.table.healpix}"', region.ranges(),
                             dialect)
    return _inline(sql, params, dialect)


def _point_in_polygon(point: tuple[str, str], polygon: Value, dialect: str, at) -> str:
    if not polygon.is_const:
        raise _err("a polygon in CONTAINS or INTERSECTS must be constant here", at)
    try:
        poly = Polygon(tuple(zip(polygon.const[0::2], polygon.const[1::2], strict=True)))
    except ValueError as exc:
        raise _err(f"invalid POLYGON: {exc}", at) from None
    sql, params = poly.sql_contains(point[0], point[1], dialect)
    return _inline(sql, params, dialect)


def _bands(a: Value, b: Value, radius_sql: str) -> str:
    """Declination bands both ways round (see the module docstring)."""
    (_, dec1), (_, dec2) = _center(a), _center(b)
    return (f"({dec1} BETWEEN {dec2} - ({radius_sql}) AND {dec2} + ({radius_sql}) AND "
            f"{dec2} BETWEEN {dec1} - ({radius_sql}) AND {dec1} + ({radius_sql}))")


def within_distance(a: Value, b: Value, radius_sql: str, dialect: str, *,
                    prefilter_radius: float | None = None, op: str = "<=") -> str:
    """``DISTANCE(centre of a, centre of b) op radius`` with its prefilter or bands.

    ``prefilter_radius`` bounds the radius when one side is constant (None: no prefilter);
    the indexed side's own extent (an s_region aperture) is added by the prefilter."""
    exact = f"({distance_sql(_center(a), _center(b), dialect)} {op} {radius_sql})"
    pre = None
    if prefilter_radius is not None and a.is_const != b.is_const:
        var, const = (b, a) if a.is_const else (a, b)
        centre = const.but(type="point", parts=const.parts[:2], const=const.const[:2])
        pre = _prefilter(var, centre, float(prefilter_radius), dialect)
    elif _centre_is_position(a) and _centre_is_position(b) and _is_number(radius_sql):
        pre = _bands(a, b, radius_sql)
    return f"({pre} AND {exact})" if pre else exact


def _is_number(sql: str) -> bool:
    try:
        float(sql.strip("()"))
    except ValueError:
        return False
    return True


def predicate(name: str, a: Value, b: Value, dialect: str, at) -> str:
    """CONTAINS(a, b) or INTERSECTS(a, b) as an SQL condition."""
    for v in (a, b):
        if not v.geometry:
            raise _err(f"{name} takes two geometries (POINT, CIRCLE, BOX, POLYGON or a "
                       f"geometry column), not a {v.type}", at)
    if name == "INTERSECTS" and (b.type == "point" or (a.type == "polygon" and
                                                        b.type == "circle")):
        a, b = b, a  # INTERSECTS is symmetric: put the smaller shape first
    if name == "CONTAINS" and b.type == "point" and a.type != "point":
        # a shape inside a point: only a point inside itself (ADQL 2.1 sec. 4.2.3)
        return "(1 = 0)" if a.type == "polygon" else \
            f"({a.parts[2]} = 0 AND {_equal_points(a, b)})"
    if a.type == "point" and b.type == "point":
        return _equal_points(a, b)
    if a.type in ("point", "circle") and b.type == "circle":
        radius = b.parts[2]
        if a.type == "circle":
            sign = "-" if name == "CONTAINS" else "+"
            radius = f"{b.parts[2]} {sign} ({a.parts[2]})"
        if a.is_const and b.is_const:
            bound = None
        elif b.is_const:
            bound = b.const[2]
        elif a.is_const:
            bound = a.const[2] if a.type == "circle" and name == "INTERSECTS" else 0.0
        else:
            bound = None
        return within_distance(a, b, f"({radius})", dialect, prefilter_radius=bound)
    if a.type in ("point", "circle") and b.type == "polygon":
        # the aperture circles of this atlas are a few arcsec: a circle meets (or lies in)
        # a polygon as its centre does (documented approximation)
        exact = _point_in_polygon(_center(a), b, dialect, at)
        pre = _prefilter(a, b, 0.0, dialect)
        return f"({pre} AND {exact})" if pre else exact
    raise _err(f"{name} of a {a.type} and a {b.type} is not supported by this service "
               "(supported: points and circles in circles and polygons)", at)


def _equal_points(a: Value, b: Value) -> str:
    return f"({a.parts[0]} = {b.parts[0]} AND {a.parts[1]} = {b.parts[1]})"
