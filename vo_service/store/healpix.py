"""HEALPix indexing and regions (DESIGN.md decision 2): the one module importing healpy.

Every positional row carries its NESTED HEALPix index at order 29 (``healpix_index``). A
region (:class:`Cone`, :class:`Polygon`, :class:`Box`) becomes a short list of index ranges
(``ranges``: the HEALPix cells of a coarser order that touch the region, each an interval
of order-29 indices, merged when adjacent), which the store turns into a ``BETWEEN``
prefilter on the B-tree index; the exact spherical test (``contains``, and the same test
as SQL in ``sql_contains``) finishes the job. The ranges always cover the region (healpy's
``inclusive`` queries), so the prefilter never loses a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import healpy as hp
import numpy as np

__all__ = ["ORDER", "Box", "Cone", "MocRegion", "Polygon", "Region", "healpix_index",
           "placeholder",
           "ranges_sql"]

ORDER = 29
_MIN_ORDER = 2
#: the deepest order healpy's inclusive queries accept: they oversample by 4 (2 orders),
#: and beyond nside 2^29 healpy's C++ throws a PlanckError that aborts the process
_MAX_QUERY_ORDER = ORDER - 2
_NSIDE = 1 << ORDER


def healpix_index(ra_deg, dec_deg) -> np.ndarray:
    """NESTED order-29 HEALPix indices of ICRS positions (degrees)."""
    return np.asarray(hp.ang2pix(_NSIDE, np.asarray(ra_deg, float) % 360.0,
                                 np.asarray(dec_deg, float), nest=True, lonlat=True),
                      dtype=np.int64)


def _unit(ra_deg, dec_deg) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)],
                    axis=-1)


def _merge(cells: np.ndarray, order: int) -> np.ndarray:
    """Order-``order`` cells -> merged [lo, hi) order-29 ranges."""
    if not len(cells):
        return np.zeros((0, 2), np.int64)
    cells = np.unique(cells.astype(np.int64))
    shift = 2 * (ORDER - order)
    breaks = np.nonzero(np.diff(cells) > 1)[0]
    starts = np.concatenate([[cells[0]], cells[breaks + 1]])
    ends = np.concatenate([cells[breaks], [cells[-1]]]) + 1
    return np.stack([starts << shift, ends << shift], axis=1)


def _around(order: int, ra_deg, dec_deg) -> np.ndarray:
    """The cells of these positions and their neighbours: healpy's inclusive queries return
    nothing for a region much smaller than a cell, so every region's cover includes
    these."""
    nside = 1 << order
    cells = hp.ang2pix(nside, np.atleast_1d(np.asarray(ra_deg, float)) % 360.0,
                       np.atleast_1d(np.asarray(dec_deg, float)), nest=True, lonlat=True)
    neighbours = hp.get_all_neighbours(nside, cells, nest=True).ravel()
    return np.union1d(cells, neighbours[neighbours >= 0])


def _order_for(size_deg: float) -> int:
    """An order whose cells are about half the region's size."""
    cell = 58.6 / 2.0  # order-0 cells are about 58.6 deg across
    order = math.floor(math.log2(max(cell, 1e-9) / max(size_deg / 2.0, 1e-9)))
    return int(np.clip(order, 0, ORDER))


@dataclass(frozen=True)
class Region:
    """Base of the regions: subclasses define ``_cells(order)``, ``contains`` and
    ``sql_contains``, and a characteristic size."""

    def _cells(self, order: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def size_deg(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def ranges(self, max_ranges: int = 64) -> np.ndarray:
        """[lo, hi) order-29 index ranges covering the region, at most ``max_ranges``."""
        # healpy's inclusive queries are not reliable on the 12 or 48 cells of orders 0
        # and 1, so regions that would need them get the whole sky as one range
        order = min(max(_order_for(self.size_deg()), _MIN_ORDER), _MAX_QUERY_ORDER)
        while True:
            out = _merge(self._cells(order), order)
            if len(out) <= max_ranges:
                return out
            if order == _MIN_ORDER:
                return np.array([[0, 12 << (2 * ORDER)]], np.int64)
            order -= 1


def _radec_sql(ra_col: str, dec_col: str) -> tuple[str, str, str]:
    """SQL for the unit vector components of a position (x, y, z)."""
    ra, dec = f"radians({ra_col})", f"radians({dec_col})"
    return (f"cos({dec})*cos({ra})", f"cos({dec})*sin({ra})", f"sin({dec})")


def placeholder(dialect: str) -> str:
    """The DB-API parameter mark of a dialect: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    return "?" if dialect == "sqlite" else "%s"


@dataclass(frozen=True)
class Cone(Region):
    """A circle: centre (ICRS deg) and radius (deg), 0 < radius <= 180."""

    ra: float
    dec: float
    radius: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.dec <= 90.0) or not (0.0 < self.radius <= 180.0) or \
                not math.isfinite(self.ra):
            raise ValueError(f"invalid cone ({self.ra}, {self.dec}, {self.radius})")

    def size_deg(self) -> float:
        return 2.0 * self.radius

    def _cells(self, order: int) -> np.ndarray:
        if self.radius > 90.0:  # healpy's inclusive disc misses cells beyond a hemisphere
            return np.arange(12 << (2 * order))
        cells = hp.query_disc(1 << order, _unit(self.ra, self.dec), math.radians(self.radius),
                              inclusive=True, nest=True)
        return np.union1d(cells, _around(order, self.ra, self.dec))

    def contains(self, ra, dec) -> np.ndarray:
        dot = _unit(ra, dec) @ _unit(self.ra, self.dec)
        return dot >= math.cos(math.radians(self.radius))

    def sql_contains(self, ra_col: str, dec_col: str, dialect: str):
        mark = placeholder(dialect)
        x, y, z = _radec_sql(ra_col, dec_col)
        cx, cy, cz = _unit(self.ra, self.dec).tolist()
        sql = f"({x}*{mark} + {y}*{mark} + {z}*{mark} >= {mark})"
        return sql, [cx, cy, cz, math.cos(math.radians(self.radius))]


@dataclass(frozen=True)
class Polygon(Region):
    """A convex spherical polygon with great-circle edges; vertices (ra, dec) in degrees,
    in either orientation (the smaller region is meant, as ADQL 2.1 sec. 2.4.11 says)."""

    vertices: tuple[tuple[float, float], ...]
    _normals: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        points = np.array(self.vertices, float)
        if points.ndim != 2 or points.shape[0] < 3 or points.shape[1] != 2 or \
                not np.all(np.isfinite(points)) or np.any(np.abs(points[:, 1]) > 90):
            raise ValueError("a polygon needs at least 3 finite (ra, dec) vertices")
        v = _unit(points[:, 0], points[:, 1])
        normals = np.cross(v, np.roll(v, -1, axis=0))
        lengths = np.linalg.norm(normals, axis=1)
        if np.any(lengths < 1e-12):
            raise ValueError("degenerate polygon: repeated or antipodal vertices")
        normals /= lengths[:, None]
        centre = v.sum(axis=0)
        if np.linalg.norm(centre) < 1e-12:
            raise ValueError("degenerate polygon: its vertices are balanced around a "
                             "great circle")
        if np.all(normals @ centre < 0):
            normals = -normals
        if not np.all(normals @ centre > 0) or not np.all(normals @ v.T >= -1e-9):
            raise ValueError("only convex polygons are supported")
        object.__setattr__(self, "_normals", normals)

    def size_deg(self) -> float:
        v = _unit(*np.array(self.vertices, float).T)
        centre = v.sum(axis=0) / np.linalg.norm(v.sum(axis=0))
        return 2.0 * float(np.degrees(np.arccos(np.clip(v @ centre, -1, 1)).max()))

    def _cells(self, order: int) -> np.ndarray:
        v = _unit(*np.array(self.vertices, float).T)
        if self._normals[0] @ np.cross(v[0], v[1]) < 0:  # one orientation for healpy
            v = v[::-1]
        corners = np.array(self.vertices, float)
        try:
            return np.union1d(hp.query_polygon(1 << order, v, inclusive=True, nest=True),
                              _around(order, corners[:, 0], corners[:, 1]))
        except (RuntimeError, ValueError):  # healpy refuses: fall back to a covering disc
            centre = v.sum(axis=0) / np.linalg.norm(v.sum(axis=0))
            return hp.query_disc(1 << order, centre, math.radians(self.size_deg() / 2) * 1.01,
                                 inclusive=True, nest=True)

    def contains(self, ra, dec) -> np.ndarray:
        return np.all(_unit(ra, dec) @ self._normals.T >= 0.0, axis=-1)

    def sql_contains(self, ra_col: str, dec_col: str, dialect: str):
        mark = placeholder(dialect)
        x, y, z = _radec_sql(ra_col, dec_col)
        terms, params = [], []
        for n in self._normals.tolist():
            terms.append(f"{x}*{mark} + {y}*{mark} + {z}*{mark} >= 0")
            params += n
        return "(" + " AND ".join(terms) + ")", params


@dataclass(frozen=True)
class MocRegion(Region):
    """A MOC (mocpy): order-29 ranges are exact for a MOC, so the prefilter (at most
    ``max_ranges`` ranges, from the MOC degraded as needed; a degraded MOC covers the
    original) is followed by the exact test written as the MOC's full list of ranges."""

    moc: object

    def size_deg(self) -> float:  # not used: the ranges come from the MOC itself
        return 360.0

    def _exact(self) -> np.ndarray:
        return np.asarray(self.moc.to_depth29_ranges, np.int64)

    def ranges(self, max_ranges: int = 64) -> np.ndarray:
        moc, out = self.moc, self._exact()
        order = int(moc.max_order)
        while len(out) > max_ranges and order > 0:
            order -= 1
            moc = moc.degrade_to_order(order)
            out = np.asarray(moc.to_depth29_ranges, np.int64)
        return out

    def contains(self, ra, dec) -> np.ndarray:
        index = healpix_index(ra, dec)
        exact = self._exact()
        at = np.searchsorted(exact[:, 0], index, side="right") - 1
        return (at >= 0) & (index < exact[np.clip(at, 0, None), 1])

    def sql_contains(self, ra_col: str, dec_col: str, dialect: str,
                     healpix_col: str = '"healpix"'):
        """The exact test; a MOC needs the index column, not the coordinates."""
        return ranges_sql(healpix_col, self._exact(), dialect)


def Box(ra: float, dec: float, width: float, height: float) -> Polygon:
    """ADQL 2.0 BOX (sec. 2.4.3) as the polygon of its four corners: centre (ra, dec),
    ``width`` along right ascension measured at the centre's declination and ``height``
    along declination; edges are great circles through the corners."""
    if not (0 < width < 180 and 0 < height < 180) or abs(dec) + height / 2 >= 90:
        raise ValueError(f"invalid box ({ra}, {dec}, {width}, {height})")
    half_ra = width / 2 / max(math.cos(math.radians(dec)), 1e-9)
    lo, hi = dec - height / 2, dec + height / 2
    return Polygon(((ra - half_ra, lo), (ra + half_ra, lo), (ra + half_ra, hi),
                    (ra - half_ra, hi)))


def ranges_sql(column: str, ranges: np.ndarray, dialect: str):
    """``(column BETWEEN lo AND hi-1 OR ...)`` and its parameters; the ORs are nested as a
    balanced tree, since SQLite limits expression depth to 1000 and a MOC can have
    thousands of ranges."""
    mark = placeholder(dialect)
    if not len(ranges):
        return "(1 = 0)", []
    terms = [f"{column} BETWEEN {mark} AND {mark}"] * len(ranges)
    while len(terms) > 1:
        terms = [f"({' OR '.join(terms[i:i + 8])})" for i in range(0, len(terms), 8)]
    params = [int(v) for lo, hi in ranges for v in (lo, hi - 1)]
    return terms[0] if terms[0].startswith("(") else f"({terms[0]})", params
