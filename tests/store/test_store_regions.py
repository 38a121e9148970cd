"""Region queries on both backends equal a brute-force scan (issue 4): random cones,
boxes and polygons of all sizes, at the poles and across RA 0/360."""

from __future__ import annotations

import math
import time
from contextlib import closing

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vo_service.store import open_store
from vo_service.store.healpix import Box, Cone, Polygon, healpix_index
from vo_service.store.ingest import _insert

RNG = np.random.default_rng(5)


def _points():
    n = 3000
    z = RNG.uniform(-1, 1, n)
    ra = RNG.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(z))
    # crowd the hard places: the poles and the RA 0/360 seam
    polar = RNG.uniform(85, 90, 300) * RNG.choice([-1, 1], 300)
    seam = RNG.uniform(-0.5, 0.5, 300) % 360
    return (np.concatenate([ra, RNG.uniform(0, 360, 300), seam]),
            np.concatenate([dec, polar, RNG.uniform(-60, 60, 300)]))


RA, DEC = _points()


def _fill(url):
    store = open_store(url)
    with closing(store.connect(readonly=False)) as conn:
        cur = conn.cursor()
        for statement in store.ddl():
            cur.execute(statement)
        hpx = healpix_index(RA, DEC)
        rows = [{"cj_id": f"{i}_0", "aorkey": i, "pointing": 0, "ra": float(a),
                 "dec": float(d), "object_name": "p", "has_lr": True, "has_hr": False,
                 "provenance": "simulated", "healpix": int(h)}
                for i, (a, d, h) in enumerate(zip(RA, DEC, hpx, strict=True))]
        _insert(store, cur, "positions", rows)
        conn.commit()
    return store


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, tmp_path_factory):
    if request.param == "sqlite":
        return _fill(f"sqlite:///{tmp_path_factory.mktemp('regions')}/atlas.sqlite")
    return _fill(request.getfixturevalue("postgres_url"))


def _found(store, region) -> set[int]:
    _, rows = store.region(region, columns=["aorkey"])
    return {r[0] for r in rows}


def _haversine_deg(ra1, dec1, ra2, dec2):
    ra1, dec1, ra2, dec2 = map(np.radians, (ra1, dec1, ra2, dec2))
    h = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin(
        (ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1))))


CENTRES = st.tuples(st.floats(0, 360, exclude_max=True),
                    st.one_of(st.floats(-90, 90), st.floats(84, 90), st.floats(-90, -84)))
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(centre=CENTRES, radius=st.one_of(st.floats(1e-3, 1), st.floats(1, 180)))
def test_cones_equal_brute_force(store, centre, radius):
    ra, dec = centre
    distance = _haversine_deg(ra, dec, RA, DEC)
    margin = np.abs(distance - radius) < 1e-7  # boundary ties: either answer is right
    expected = set(np.nonzero((distance <= radius) & ~margin)[0])
    found = _found(store, Cone(ra, dec, radius))
    assert expected <= found and found - expected <= set(np.nonzero(margin)[0])


@FAST
@given(centre=st.tuples(st.floats(0, 360, exclude_max=True), st.floats(-80, 80)),
       width=st.floats(0.01, 40), height=st.floats(0.01, 15))
def test_boxes_equal_brute_force(store, centre, width, height):
    box = Box(centre[0], centre[1], width, height)
    assert _found(store, box) == set(np.nonzero(box.contains(RA, DEC))[0])


@FAST
@given(centre=CENTRES, size=st.floats(0.05, 60), n=st.integers(3, 8),
       turn=st.floats(0, 2 * math.pi))
def test_convex_polygons_equal_brute_force(store, centre, size, n, turn):
    # a regular polygon around the centre, built in its tangent plane
    ra0, dec0 = np.radians(centre)
    angles = turn + np.linspace(0, 2 * np.pi, n, endpoint=False)
    east = np.array([-math.sin(ra0), math.cos(ra0), 0.0])
    north = np.array([-math.sin(dec0) * math.cos(ra0), -math.sin(dec0) * math.sin(ra0),
                      math.cos(dec0)])
    c = np.array([math.cos(dec0) * math.cos(ra0), math.cos(dec0) * math.sin(ra0),
                  math.sin(dec0)])
    r = math.tan(math.radians(size / 2))
    v = c[None, :] + r * (np.cos(angles)[:, None] * east + np.sin(angles)[:, None] * north)
    v /= np.linalg.norm(v, axis=1)[:, None]
    vertices = tuple((float(np.degrees(np.arctan2(p[1], p[0])) % 360),
                      float(np.degrees(np.arcsin(np.clip(p[2], -1, 1))))) for p in v)
    polygon = Polygon(vertices)
    assert _found(store, polygon) == set(np.nonzero(polygon.contains(RA, DEC))[0])
    if n > 3:
        reversed_polygon = Polygon(vertices[::-1])   # either orientation, same region
        assert _found(store, reversed_polygon) == _found(store, polygon)


def test_bad_regions_are_refused():
    with pytest.raises(ValueError):
        Cone(0, 95, 1)
    with pytest.raises(ValueError):
        Polygon(((0, 0), (1, 0)))
    with pytest.raises(ValueError, match="convex"):
        Polygon(((0, 0), (10, 0), (1, 1), (0, 10)))
    with pytest.raises(ValueError):
        Box(0, 89, 1, 5)


def test_a_one_arcmin_cone_needs_few_tight_ranges():
    ranges = Cone(123.4, -45.6, 1 / 60).ranges()
    assert 1 <= len(ranges) <= 8
    covered = (ranges[:, 1] - ranges[:, 0]).sum() * 4 * math.pi / (12 * 4.0**29)
    assert covered < 40 * math.pi * math.radians(1 / 60) ** 2


def test_readonly_execution_has_row_and_time_limits(store):
    from vo_service.store import QueryTimeoutError

    table = store.physical("positions")
    names, rows, overflow = store.execute_readonly(f"SELECT cj_id FROM {table}", [], 5, 10)
    assert names == ["cj_id"] and len(rows) == 5 and overflow
    with pytest.raises(Exception, match=r"(?i)read.?only"):
        store.execute_readonly(f"DELETE FROM {table}", [], 5, 10)
    slow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < 100000000) SELECT count(*) FROM n")
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError):
        store.execute_readonly(slow, [], 5, 0.3)
    assert time.monotonic() - start < 10
    assert store.execute_readonly(f"SELECT count(*) FROM {table}", [], 5, 10)[1][0][0] == \
        len(RA)


@FAST
@given(centre=CENTRES, radius=st.floats(0.5, 30), depth=st.integers(4, 10))
def test_moc_regions_equal_brute_force(store, centre, radius, depth):
    mocpy = pytest.importorskip("mocpy")
    from astropy import units as u

    from vo_service.store.healpix import MocRegion

    moc = mocpy.MOC.from_cone(lon=centre[0] * u.deg, lat=centre[1] * u.deg,
                              radius=radius * u.deg, max_depth=depth)
    region = MocRegion(moc)
    expected = set(np.nonzero(moc.contains_lonlat(RA * u.deg, DEC * u.deg))[0])
    assert set(np.nonzero(region.contains(RA, DEC))[0]) == expected
    assert len(region.ranges(8)) <= 8
    assert _found(store, region) == expected
