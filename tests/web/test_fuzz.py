"""Fuzzing every endpoint's parameters and the ADQL grammar, on SQLite and PostgreSQL
(hypothesis, bounded and derandomised: the same examples on every run; see
``tests.fuzz_support`` for what each answer must satisfy).

ADQL queries come from a small grammar of our tables, columns and functions, then random
mutations (tokens inserted, text deleted, duplicated or cut). The reproducers of the
inputs that once answered HTTP 500 (``KNOWN_TAP_500``) are also tested by name.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz_support import FUZZ, check_answer, fingerprint
from vo_service.app import create_app
from vo_service.config import Settings
from vo_service.store import open_store

ADQL_EXAMPLES = 500
PARAM_EXAMPLES = 60
PER_PARAMETER = 20

# ---------------------------------------------------------------------- the atlas under test


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def atlas(request, demo):
    """(test client, store, DIDs) of the demo atlas on each backend; file cache off, so
    every request reaches the store."""
    if request.param == "sqlite":
        url = f"sqlite:///{demo / 'atlas.sqlite'}"
    else:
        url = request.getfixturevalue("pg_server")[1].url
    store = open_store(url)
    _, rows = store._rows(f"SELECT obs_publisher_did FROM {store.physical('obscore')} "
                          "ORDER BY obs_id", [])
    client = create_app(Settings(store_url=url, file_cache_bytes=0)).test_client()
    yield client, store, [r[0] for r in rows]
    store.close()


@pytest.fixture
def unchanged(atlas):
    """Fails the test if the store changed while it ran."""
    before = fingerprint(atlas[1])
    yield
    assert fingerprint(atlas[1]) == before, "a request changed the store"


# ---------------------------------------------------------------------- ADQL grammar
NUMERIC = "numeric"
TEXT = "text"
TABLES = {
    "cassisjuice.positions": {
        "cj_id": TEXT, "aorkey": NUMERIC, "ra": NUMERIC, "dec": NUMERIC,
        "object_name": TEXT, "redshift": NUMERIC, "snr_lr": NUMERIC, "snr_hr": NUMERIC,
        "extent_class": TEXT, "obs_mjd": NUMERIC, "healpix": NUMERIC},
    "cassisjuice.spectra": {
        "spectrum_id": TEXT, "cj_id": TEXT, "arm": TEXT, "variant": TEXT,
        "selected": NUMERIC, "ra": NUMERIC, "dec": NUMERIC, "wl_min": NUMERIC,
        "wl_max": NUMERIC, "n_points": NUMERIC, "snr": NUMERIC},
    "ivoa.obscore": {
        "obs_id": TEXT, "obs_publisher_did": TEXT, "access_url": TEXT, "target_name": TEXT,
        "s_ra": NUMERIC, "s_dec": NUMERIC, "s_fov": NUMERIC, "s_region": TEXT,
        "em_min": NUMERIC, "em_max": NUMERIC, "t_min": NUMERIC, "calib_level": NUMERIC},
}
POSITION = {"cassisjuice.positions": ("ra", "dec"), "cassisjuice.spectra": ("ra", "dec"),
            "ivoa.obscore": ("s_ra", "s_dec")}

number = st.one_of(st.integers(-100_000, 100_000).map(str),
                   st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.6g}"),
                   st.sampled_from(["0", "-0", "0.0", "1e308", "-1e308", "1e-320",
                                    "2147483648", "4294967296", ".5", "5.", "1E3"]))
sky_lon = st.floats(0, 360).map(lambda x: f"{x:.4f}")
sky_lat = st.floats(-90, 90).map(lambda x: f"{x:.4f}")
free_text = st.one_of(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)),
                              max_size=12),
                      st.text(st.sampled_from("ab %_'\x00\x01\x1b\x7f\té\u2028"),
                              max_size=6))
string = free_text.map(lambda s: "'" + s.replace("'", "''") + "'")


@st.composite
def column_expr(draw, columns):
    name = draw(st.sampled_from(sorted(columns)))
    kind = columns[name]
    if kind == NUMERIC:
        form = draw(st.sampled_from(["{c}", "ABS({c})", "ROUND({c}, 2)", "{c} * 2 + 1",
                                     "SQRT(ABS({c}))", "CAST({c} AS DOUBLE)",
                                     "COALESCE({c}, 0)", "-{c}"]))
    else:
        form = draw(st.sampled_from(["{c}", "LOWER({c})", "UPPER({c})", "{c} || 'x'",
                                     "COALESCE({c}, '')"]))
    return form.format(c=name), kind


@st.composite
def condition(draw, table, columns, depth=0):
    choice = draw(st.integers(0, 6 if depth < 2 else 4))
    if choice <= 1:
        expr, kind = draw(column_expr(columns))
        op = draw(st.sampled_from(["=", "<>", "<", ">", "<=", ">="]))
        return f"{expr} {op} {draw(number if kind == NUMERIC else string)}"
    if choice == 2:
        name = draw(st.sampled_from(sorted(columns)))
        if columns[name] == NUMERIC:
            return f"{name} BETWEEN {draw(number)} AND {draw(number)}"
        return f"{name} {draw(st.sampled_from(['LIKE', 'NOT LIKE', 'ILIKE']))} {draw(string)}"
    if choice == 3:
        name = draw(st.sampled_from(sorted(columns)))
        return f"{name} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    if choice == 4:
        ra, dec = POSITION[table]
        shape = draw(st.sampled_from([
            f"CIRCLE('ICRS', {draw(sky_lon)}, {draw(sky_lat)}, {draw(st.floats(0, 180)):.3f})",
            f"BOX('ICRS', {draw(sky_lon)}, {draw(sky_lat)}, 10, 10)",
            f"POLYGON('ICRS', 10, 10, 20, 10, 15, {draw(sky_lat)})"]))
        return f"CONTAINS(POINT('ICRS', {ra}, {dec}), {shape}) = 1"
    if choice == 5:
        left = draw(condition(table, columns, depth + 1))
        right = draw(condition(table, columns, depth + 1))
        return f"({left}) {draw(st.sampled_from(['AND', 'OR']))} ({right})"
    return f"NOT ({draw(condition(table, columns, depth + 1))})"


@st.composite
def adql_query(draw):
    table = draw(st.sampled_from(sorted(TABLES)))
    columns = TABLES[table]
    ra, dec = POSITION[table]
    if draw(st.booleans()):
        items = "*" if draw(st.booleans()) else ", ".join(
            e for e, _ in draw(st.lists(column_expr(columns), min_size=1, max_size=3)))
    else:
        items = draw(st.sampled_from([
            "COUNT(*)", f"MAX({ra}), MIN({dec})", f"AVG({dec}) AS mean_dec",
            f"DISTANCE(POINT('ICRS', {ra}, {dec}), POINT('ICRS', 10, 20)) AS d"]))
    query = "SELECT "
    if draw(st.booleans()):
        query += f"TOP {draw(st.integers(0, 1000))} "
    if draw(st.booleans()):
        query += "DISTINCT "
    query += f"{items} FROM {table}"
    if draw(st.booleans()):
        query += f" WHERE {draw(condition(table, columns))}"
    if "COUNT" not in items and "MAX" not in items and "AVG" not in items \
            and draw(st.booleans()):
        query += f" ORDER BY {draw(st.sampled_from(sorted(columns)))} " \
                 f"{draw(st.sampled_from(['ASC', 'DESC']))}"
    if draw(st.booleans()):  # a comment (ADQL 2.1 sec. 2.1.2), which may hold anything
        query += " -- " + draw(free_text).replace("\n", " ")
    return query


TOKENS = ["(", ")", ",", "'", '"', "--", "/*", "*/", ";", " SELECT ", " FROM ", " WHERE ",
          " AND ", " OR ", " TOP ", " JOIN ", " UNION ", " GROUP BY ", " HAVING ", "NULL",
          "1", "-", "+", "*", "/", "||", "=", "<", ".", "POINT(", "CIRCLE(", "DISTANCE(",
          "ivoa.", "TAP_SCHEMA.tables", "\\", "%", "é", "∞", "\u200b", "\x00", "\x01",
          "\x1b", "\t", "\n-- ", "\x7f", "\ufeff"]


@st.composite
def mutated(draw, query):
    for _ in range(draw(st.integers(0, 3))):
        if not query:
            break
        at = draw(st.integers(0, len(query)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate", "cut"]))
        if action == "insert":
            query = query[:at] + draw(st.sampled_from(TOKENS)) + query[at:]
        elif action == "delete":
            query = query[:at] + query[at + draw(st.integers(1, 8)):]
        elif action == "duplicate":
            query = query[:at] + query[at:at + draw(st.integers(1, 12))] + query[at:]
        else:
            query = query[:at]
    return query


@pytest.mark.slow
def test_fuzz_adql(atlas, unchanged):
    client = atlas[0]

    @settings(FUZZ, max_examples=ADQL_EXAMPLES)
    @given(query=adql_query().flatmap(mutated), post=st.booleans(),
           fmt=st.sampled_from(["votable", "votable/b2", "csv", "tsv", "fits", "json",
                                "text/xml", "application/x-votable+xml"]),
           maxrec=st.sampled_from(["0", "1", "50"]))
    def run(query, post, fmt, maxrec):
        form = {"LANG": "ADQL", "QUERY": query, "MAXREC": maxrec, "RESPONSEFORMAT": fmt}
        r = client.post("/tap/sync", data=form) if post else \
            client.get("/tap/sync", query_string=form)
        check_answer(r, "dali", f"ADQL {query!r} ({'POST' if post else 'GET'}, {fmt}, "
                     f"MAXREC={maxrec})")

    run()


# ---------------------------------------------------------------------- endpoint parameters
junk = st.one_of(
    st.text(max_size=24),  # any characters, NUL and other controls included
    st.text(st.sampled_from("\x00\x01\x1b\x7f\t\n '\"%_\\<&é\u2028"), min_size=1,
            max_size=6),
    st.sampled_from(["\x00", "NGC\x001068", "\x00'--", "\x1b[0m", "a\x00%"]),
    st.sampled_from(["", " ", "NaN", "nan nan", "inf", "-Infinity", "+Inf", "1e400",
                     "-1e400", "0x10", "1_000", "１２", "9" * 30, "1,2", "1/2", "1 2",
                     "1 2 3", "'", '"', "<x/>", "&amp;", "%00", "\x00", "../../etc/passwd",
                     "ICRS", "2009-01-01", "2009-01-01T00:00:00/2010-01-01", "/", ",",
                     ";", "votable", "fits", "csv", "png", "METADATA"]))
real = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.integers(-10**20, 10**20).map(str),
                 st.floats(-400, 400, allow_nan=False).map(lambda x: f"{x:.5g}"))
value = st.one_of(junk, real)
pair = st.tuples(real, real).map(lambda t: ",".join(t))
interval = st.one_of(st.tuples(real, real).map(lambda t: "/".join(t)),
                     real.map(lambda x: x + "/"), real.map(lambda x: "/" + x),
                     st.tuples(real, real).map(lambda t: " ".join(t)))


def _maybe(strategy):
    return st.one_of(st.none(), strategy)


def _query(**values):
    return {k: v for k, v in values.items() if v is not None}


def _run(atlas, draw_request, examples=PARAM_EXAMPLES):
    client = atlas[0]

    @settings(FUZZ, max_examples=examples)
    @given(st.data())
    def run(data):
        method, path, query, protocol = draw_request(data, atlas)
        response = client.open(path, method=method, query_string=query) if method == \
            "GET" else client.open(path, method=method, data=query)
        check_answer(response, protocol, f"{method} {path} {query!r}")

    run()


def _method(data):
    return data.draw(st.sampled_from(["GET", "POST"]))


def _mixed(data, parameters, focus):
    """A request with ``focus`` (and perhaps one more parameter) fuzzed and the others
    valid or absent, so that a fuzzed value gets past the other parameters' checks to the
    store."""
    names = list(parameters)
    fuzzed = {focus, data.draw(st.sampled_from([focus, *names]), label="also fuzzed")}
    query = {}
    for name in names:
        valid, bad = parameters[name]
        if name in fuzzed:
            query[name] = data.draw(bad, label=name)
        elif data.draw(st.sampled_from([True, True, True, False]), label=f"{name} given"):
            query[name] = data.draw(valid, label=name)
    return query


def _each_parameter(atlas, path, protocol, parameters, examples=PER_PARAMETER):
    """``examples`` fuzzed requests per parameter of ``parameters`` (name -> (valid,
    fuzzed) strategies)."""
    for focus in parameters:
        def request(data, _, focus=focus):
            return _method(data), path, _mixed(data, parameters, focus), protocol
        _run(atlas, request, examples)


@pytest.mark.slow
def test_fuzz_ssap(atlas, unchanged):
    _each_parameter(atlas, "/ssa", "dali", {
        "POS": (st.sampled_from(["0,0", "10.5,-20", "359.9,89;ICRS"]),
                st.one_of(pair, pair.map(lambda p: p + ";ICRS"), value)),
        "SIZE": (st.sampled_from(["360", "10", "0.5"]), value),
        "BAND": (st.sampled_from(["5e-6/4e-5", "1e-5/", "/2e-5"]),
                 st.one_of(interval, value)),
        "TIME": (st.sampled_from(["2004-01-01/2010-01-01", "2003-06-01/"]),
                 st.one_of(interval, value)),
        "FORMAT": (st.sampled_from(["votable", "fits", "csv", "all", "metadata",
                                    "application/x-votable+xml"]), value),
        "MAXREC": (st.sampled_from(["0", "1", "100"]), value),
        "TARGETNAME": (st.sampled_from(["NGC 1068", "x"]), junk),
        "COLLECTION": (st.sampled_from(["CASSISjuice-simulated", "CASSISjuice"]), junk),
        "REQUEST": (st.just("queryData"), st.one_of(st.sampled_from(
            ["querydata", "getCapabilities", ""]), junk))})


@pytest.mark.slow
def test_fuzz_scs(atlas, unchanged):
    _each_parameter(atlas, "/scs", "scs", {
        "RA": (st.floats(0, 360).map(str), value),
        "DEC": (st.floats(-90, 90).map(str), value),
        "SR": (st.floats(0, 10).map(str), value),
        "VERB": (st.sampled_from("123"), st.one_of(st.sampled_from(["0", "4"]), value))},
        2 * PER_PARAMETER)


def _did(data, atlas):
    dids = atlas[2]
    real_did = data.draw(st.sampled_from(dids))
    return data.draw(st.one_of(
        st.just(real_did), junk, junk.map(lambda j: real_did + j),
        st.sampled_from(["LR", "HR", "XR", "best", "bynod/common/optimal/point"]).map(
            lambda s: real_did.rsplit("/", 1)[0] + "/" + s),
        st.integers(0, len(real_did)).map(lambda n: real_did[:n])))


@pytest.mark.slow
def test_fuzz_datalink(atlas, unchanged):
    def request(data, atlas):
        ids = data.draw(st.lists(st.builds(lambda: None), min_size=0, max_size=3))
        query = {"ID": [_did(data, atlas) for _ in ids]} if ids else {}
        return _method(data), "/datalink/links", query, "datalink"

    _run(atlas, request)


@pytest.mark.slow
def test_fuzz_soda(atlas, unchanged):
    real_did = st.sampled_from(atlas[2])
    _each_parameter(atlas, "/soda", "datalink", {
        "ID": (real_did, st.one_of(junk, st.tuples(real_did, junk).map("".join),
                                   real_did.map(lambda d: d[:-3]),
                                   real_did.map(lambda d: d.replace("LR", "XR")))),
        "BAND": (st.tuples(st.floats(1e-6, 5e-5), st.floats(1e-6, 5e-5)).map(
            lambda t: f"{min(t):.3e} {max(t):.3e}"), st.one_of(interval, value)),
        "FLUXUNIT": (st.sampled_from(["Jy", "mJy", "W.m-2.um-1", "jy"]), junk),
        "RESPONSEFORMAT": (st.sampled_from(["votable", "fits", "csv"]), junk)})


@pytest.mark.slow
def test_fuzz_spectra_datasets_moc(atlas, unchanged):
    def request(data, atlas):
        real_did = data.draw(st.sampled_from(atlas[2]))
        path = real_did.split("?", 1)[1]
        segment = data.draw(st.one_of(
            st.just(path), st.just(path.split("/")[0]), junk,
            junk.map(lambda j: path + "/" + j), junk.map(lambda j: path + j)))
        kind = data.draw(st.sampled_from(["spectra", "datasets", "moc", "cards"]))
        fmt = data.draw(_maybe(st.one_of(st.sampled_from(
            ["votable", "fits", "csv", "json", "ascii", "VOTABLE"]), junk)))
        if kind == "moc":
            return "GET", "/moc", _query(format=fmt), "dali"
        if kind == "datasets":
            segment = segment.split("/")[0]
        quoted = quote(segment, safe="/")
        return "GET", f"/{kind}/{quoted}", _query(format=fmt), "dali"

    _run(atlas, request)


# ---------------------------------------------------------------------- known TAP reproducers
#: inputs that once answered HTTP 500: literals beyond a double or beyond 64 bits, CAST of
#: a non-point string to POINT; each is a 400 in the protocol's format now
KNOWN_TAP_500 = [
    ("SELECT TOP 1 1e400 FROM cassisjuice.positions", "GET", "double overflow literal"),
    ("SELECT TOP 1 123456789012345678901234567890 FROM cassisjuice.positions", "POST",
     "integer literal beyond 64 bits (POST: BINARY2)"),
    ("SELECT TOP 1 " + "9" * 5000 + " FROM cassisjuice.positions", "GET",
     "5000-digit literal"),
    ("SELECT TOP 1 CAST('nan nan' AS POINT) FROM cassisjuice.positions", "GET",
     "CAST of a non-point string to POINT"),
]


@pytest.mark.parametrize(("query", "method", "why"), KNOWN_TAP_500,
                         ids=[k[2] for k in KNOWN_TAP_500])
def test_known_tap_reproducers(atlas, query, method, why):
    form = {"LANG": "ADQL", "QUERY": query}
    client = atlas[0]
    r = client.post("/tap/sync", data=form) if method == "POST" else \
        client.get("/tap/sync", query_string=form)
    check_answer(r, "dali", f"{why}: {query[:80]}")



@pytest.mark.slow
def test_fuzz_science_tools(atlas, unchanged):
    """/similar, /template, /linecoverage, /names and /slap: a few examples per parameter
    (the endpoints share their parsers' checks; test_science_tools has the named cases)."""
    real_id = st.sampled_from(sorted({d.split("?")[1].split("/")[0] for d in atlas[2]}))
    few = PER_PARAMETER // 4
    _each_parameter(atlas, "/similar", "dali", {
        "ID": (real_id, st.one_of(junk, real_id.map(lambda i: i + "0"))),
        "MODE": (st.sampled_from(["normalised", "absolute"]), junk),
        "WINDOW": (st.sampled_from(["5.5 7.5", "10 12", "20/30"]), st.one_of(interval,
                                                                             value)),
        "REDSHIFT": (st.sampled_from(["0", "0.1"]), value),
        "MAXREC": (st.sampled_from(["1", "20"]), value),
        "ARM": (st.sampled_from(["LR", "HR"]), junk)}, few)
    _each_parameter(atlas, "/similar", "dali", {
        "MODEL": (st.sampled_from(["blackbody:300", "powerlaw:-2"]), st.one_of(
            junk, number.map(lambda n: "blackbody:" + n), number.map(
                lambda n: "powerlaw:" + n)))}, few)
    _each_parameter(atlas, "/template", "dali", {
        "ID": (real_id, st.one_of(junk, st.tuples(real_id, junk).map(",".join))),
        "STAT": (st.sampled_from(["mean", "median", "wmean"]), junk),
        "NORM": (st.sampled_from(["14.5 15", "none", "6 7"]), st.one_of(interval, value)),
        "RESPONSEFORMAT": (st.sampled_from(["votable", "csv"]), junk)}, few)
    _each_parameter(atlas, "/linecoverage", "dali", {
        "LINE": (st.sampled_from(["[NeII] 12.81", "[OIV]", "17.03"]), value),
        "ARM": (st.sampled_from(["LR", "HR", ""]), junk),
        "MINSNR": (st.sampled_from(["3", "0"]), value),
        "MAXREC": (st.sampled_from(["10", "0"]), value)}, few)
    _each_parameter(atlas, "/names", "dali", {
        "NAME": (st.sampled_from(["HD 163466", "ksi"]), junk),
        "MATCH": (st.sampled_from(["exact", "prefix"]), junk)}, few)
    _each_parameter(atlas, "/slap", "dali", {
        "REQUEST": (st.just("queryData"), junk),
        "WAVELENGTH": (st.sampled_from(["1.2e-5/1.3e-5", "1e-5/", "/6e-6"]),
                       st.one_of(interval, value)),
        "CHEMICAL_ELEMENT": (st.sampled_from(["Ne", "Ne,S", "H2"]), junk),
        "MAXREC": (st.sampled_from(["0", "5"]), value)}, few)
