"""The writer's fast paths give what a reader expects: text-written heads read back by
astropy with every attribute as given, column-wise encoders (one-call conversions, C
loops, the few-rows BINARY2 path) read back cell for cell as the values written, on
columns with and without nulls."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from urllib.parse import quote

import numpy as np
import pytest
from astropy.io.votable import parse

from vo_service.protocols.ssap import _iso_times, _quoted
from vo_service.votable import FieldSpec, ParamSpec, ServiceDescriptor, results_votable
from vo_service.votable.formats import write_table

QUERY = 'SELECT "a" FROM t\n\tWHERE x < 3 & y > \'é\'  -- two  spaces'
FIELDS = [FieldSpec("id", "char", ucd="meta.id;meta.main", ID="dl_id",
                    description="An ID & <its> \"text\"\nover two lines"),
          FieldSpec("n", "long"), FieldSpec("f", "float"), FieldSpec("d", "double", unit="deg"),
          FieldSpec("ok", "boolean"), FieldSpec("p", "double", arraysize="2", xtype="point"),
          FieldSpec("s", "short"), FieldSpec("name", "unicodeChar")]


def _columns(n: int, nulls: bool, seed: int = 3) -> list[list]:
    rng = np.random.default_rng(seed)
    columns = [[f"r{i}" for i in range(n)],
               [int(v) for v in rng.integers(-2**62, 2**62, n)],
               [float(np.float32(v)) for v in rng.normal(0, 1e3, n)],
               [float(v) for v in rng.uniform(-90, 90, n)],
               [bool(v) for v in rng.integers(0, 2, n)],
               [(float(a), float(b)) for a, b in rng.uniform(0, 360, (n, 2))],
               [int(v) for v in rng.integers(-2**15, 2**15, n)],
               [f"n{i}" + ("é" if i % 3 == 0 else "") for i in range(n)]]
    if nulls:
        for column in columns:
            for i in range(0, n, 4):
                column[i] = None
    return columns


def _read(document: bytes):
    votable = parse(io.BytesIO(document), verify="exception")
    return votable, votable.get_first_table().to_table(use_names_over_ids=True)


@pytest.mark.parametrize("serialization", ["tabledata", "binary2"])
@pytest.mark.parametrize("n", [1, 5, 16, 17, 300])
@pytest.mark.parametrize("nulls", [False, True])
def test_cells_read_back_as_written(serialization, n, nulls):
    columns = _columns(n, nulls)
    _, table = _read(results_votable(FIELDS, columns, serialization=serialization))
    for spec, values in zip(FIELDS, columns, strict=True):
        read = table[spec.name]
        for i, value in enumerate(values):
            if value is None:
                assert np.ma.is_masked(read[i]) or read[i] == "", (spec.name, i)
            elif spec.datatype in ("char", "unicodeChar"):
                assert read[i] == value
            elif spec.arraysize:
                assert tuple(read[i]) == value
            else:
                assert read[i] == value, (spec.name, i, read[i], value)


def test_head_attributes_and_descriptor_read_back_exactly():
    descriptor = ServiceDescriptor(
        "soda", "http://127.0.0.1/soda?a=1&b=<2>", "ivo://ivoa.net/std/SODA#sync-1.0",
        inputs=(ParamSpec("ID", "char", ref="dl_id"),
                ParamSpec("BAND", "double", arraysize="2", unit="m", minimum="5e-6",
                          maximum="4e-5")),
        description="cut-outs & more")
    document = results_votable(FIELDS, _columns(2, False), infos=[("QUERY", QUERY)],
                               descriptors=[descriptor], description="results <here>")
    votable, table = _read(document)
    resource = votable.resources[0]
    assert [(i.name, i.value) for i in resource.infos] == [("QUERY_STATUS", "OK"),
                                                          ("QUERY", QUERY)]
    assert table["id"].description == FIELDS[0].description
    assert table["d"].unit == "deg" and votable.get_first_table().fields[0].ID == "dl_id"
    meta = votable.resources[1]
    params = {p.name: p for p in meta.params}
    assert params["accessURL"].value == "http://127.0.0.1/soda?a=1&b=<2>"
    band = next(p for p in meta.groups[0].entries if p.name == "BAND")
    assert (band.values.min, band.values.max) == (5e-6, 4e-5)
    assert b'name="BAND" datatype="double" arraysize="2" unit="m" value=""' in document


def _text_table(data: bytes, delimiter: str) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter=delimiter))
    return {name: [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])}


@pytest.mark.parametrize("kind", ["csv", "tsv", "fits", "votable", "votable/b2"])
def test_formats_hold_the_same_cells(kind, tmp_path):
    from astropy.table import Table

    fields = [f for f in FIELDS if f.datatype != "boolean" and (
        f.datatype in ("char", "unicodeChar") or not f.arraysize)]
    all_columns = _columns(40, True)
    columns = [c for f, c in zip(FIELDS, all_columns, strict=True) if f in fields]
    data = write_table(kind, fields, columns)
    if kind in ("csv", "tsv"):  # read by the standard library: an empty field is a null
        table = _text_table(data, "," if kind == "csv" else "\t")
        for spec, values in zip(fields, columns, strict=True):
            texts = table[spec.name]
            assert [t == "" for t in texts] == [v is None for v in values], spec.name
            kind_of = str if spec.datatype.endswith("har") else (
                int if spec.datatype in ("long", "short") else float)
            assert [kind_of(t) for t in texts if t] == [v for v in values if v is not None]
        return
    path = tmp_path / ("t.fits" if kind == "fits" else "t.vot")
    path.write_bytes(data)
    table = Table.read(path, format="fits" if kind == "fits" else "votable")
    for spec, values in zip(fields, columns, strict=True):
        for i, value in enumerate(values):
            cell = table[spec.name][i]
            if value is None:
                assert np.ma.is_masked(cell) or cell in ("", -(2**63)) or (
                    isinstance(cell, float) and math.isnan(cell)), (kind, spec.name, i)
            else:
                assert cell == value, (kind, spec.name, i, cell, value)


def test_ssap_times_and_quoted_ids_match_the_standard_library():
    rng = np.random.default_rng(5)
    mjds = [None, 40587.0, 54966.99999999999, *rng.uniform(52000, 55000, 2000).tolist()]
    expected = [None if m is None else datetime.fromtimestamp(
        (m - 40587.0) * 86400.0, UTC).strftime("%Y-%m-%dT%H:%M:%S") for m in mjds]
    assert _iso_times(mjds) == expected
    ids = ["ivo://cassisjuice.invalid/cassisjuice?1_0/LR", "a b&c/é?", "line\nbreak"]
    assert _quoted(ids) == [quote(i, safe="") for i in ids]
    assert _quoted(ids[:2]) == [quote(i, safe="") for i in ids[:2]]


def test_float_texts_are_pythons_repr_at_every_magnitude():
    """Float cells are the shortest round-trip texts Python's repr gives, whichever way
    a column is formatted (compiled formatter inside [1e-4, 1e16), repr outside it):
    values from 1e-9 to 1e20, the edges of that range, random bit patterns, -0.0."""
    from vo_service.votable.data import cell_texts

    rng = np.random.default_rng(7)
    magnitudes = 10.0 ** rng.uniform(-9, 20, 20_000) * rng.choice([-1.0, 1.0], 20_000)
    bits = np.frombuffer(rng.integers(0, 2**63, 20_000, dtype=np.int64).tobytes(), float)
    edges = [1e-4, float(np.nextafter(1e-4, 0)), float(np.nextafter(1e16, 0)), 1e16,
             9999999999999998.0, 0.0, -0.0, 123.0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308]
    inside = [float(v) for v in magnitudes if 1e-4 <= abs(v) < 1e16]
    spec = FieldSpec("d", "double")
    for values in (magnitudes.tolist(), [float(v) for v in bits if math.isfinite(v)],
                   edges, inside, [*inside, None, math.inf, -math.inf, math.nan]):
        expected = ["" if v is None or v != v else ("+Inf" if v == math.inf else "-Inf")
                    if math.isinf(v) else repr(v) for v in values]
        assert cell_texts(spec, values) == expected


@pytest.mark.parametrize("long_text", [0, 3_000_000])
def test_binary2_rows_with_one_very_long_cell_read_back(long_text):
    """BINARY2 rows are laid out padded to each column's widest cell unless that wastes
    too much (one cell of megabytes among short ones): both layouts read back exactly,
    with nulls, NUL characters and empty strings among them."""
    n = 40
    texts = [f"t{i}" * (i % 5) for i in range(n)]
    texts[7] = "x" * long_text
    texts[3], texts[11], texts[12] = None, "a\0b", ""
    ok = [f"s{i}" for i in range(n)]
    fields = [FieldSpec("text", "char"), FieldSpec("ok", "char"), FieldSpec("d", "double"),
              FieldSpec("v", "double", arraysize="*")]
    columns = [texts, ok, [float(i) / 3 for i in range(n)],
               [[float(k) for k in range(i % 4)] or None for i in range(n)]]
    _, table = _read(results_votable(fields, columns, serialization="binary2"))
    for i in range(n):
        assert (table["text"][i] if texts[i] is not None else None) in (texts[i], "")
        assert table["ok"][i] == ok[i] and table["d"][i] == columns[2][i]
        if columns[3][i] is None:
            assert np.ma.is_masked(table["v"][i]) or len(table["v"][i]) == 0
        else:
            assert list(table["v"][i]) == columns[3][i]


def _oracle_csv(fields, columns: list[list]) -> bytes:
    """CSV by the standard library (RFC 4180 quoting), a float (any number of a double
    column) as repr, a null or NaN as an empty field, an infinity as +Inf/-Inf, an int (a
    bool too) by its number."""
    def text(v, spec):
        if spec.datatype == "double" and v is not None:
            v = float(v)
        if v is None or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, float):
            return ("+Inf" if v > 0 else "-Inf") if math.isinf(v) else repr(v)
        return str(int(v)) if isinstance(v, int) else v
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f.name for f in fields])
    writer.writerows([[text(v, f) for v, f in zip(row, fields, strict=True)]
                      for row in zip(*columns, strict=True)])
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("case", ["plain", "nulls", "nan", "tiny", "huge", "inf", "comma",
                                  "quote", "newline", "backslash", "control", "unicode",
                                  "bool", "int-in-double", "bigint"])
def test_csv_is_rfc4180_with_repr_floats_whatever_the_route(case):
    """CSV rows are the standard library's CSV of the cells, floats as repr, whichever
    way their texts are made (compiled for plain float columns, one by one otherwise)."""
    rng = np.random.default_rng(len(case))
    n = 300
    ids = [f"{rng.integers(10**7, 10**8)}_{i % 3}" for i in range(n)]
    ra, dec = rng.uniform(0, 360, n).tolist(), rng.uniform(-90, 90, n).tolist()
    count = [int(v) for v in rng.integers(-2**40, 2**40, n)]
    edit = {"nulls": (ids, None), "nan": (ra, math.nan), "tiny": (dec, 3e-7),
            "huge": (ra, 2.5e17), "inf": (dec, -math.inf), "comma": (ids, "a,b"),
            "quote": (ids, 'say "x"'), "newline": (ids, "a\nb"), "backslash": (ids, "a\\b"),
            "control": (ids, "a\x07b"), "unicode": (ids, "Orion é ☃"), "bool": (count, True),
            "int-in-double": (ra, 7), "bigint": (count, 2**70)}.get(case)
    if edit is not None:
        column, value = edit
        for i in range(0, n, 7):
            column[i] = value
    if case == "nulls":
        for column in (ra, count):
            column[5] = None
    fields = [FieldSpec("c0", "char"), FieldSpec("c1", "double"), FieldSpec("c2", "double"),
              FieldSpec("c3", "long")]
    columns = [ids, ra, dec, count]
    assert write_table("csv", fields, columns) == _oracle_csv(fields, columns)
