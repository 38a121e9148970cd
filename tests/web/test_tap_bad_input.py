"""Inputs that once made TAP answer HTTP 500 are the user's errors: HTTP 400 with a DALI
error document (DALI 1.1 sec. 4.2), on SQLite and PostgreSQL, in every output format."""

from __future__ import annotations

import pytest

from tests.web.tap_client import call, error_message, multipart

BAD_QUERIES = [
    ("SELECT TOP 1 1e400 FROM cassisjuice.positions", "DOUBLE PRECISION"),
    ("SELECT TOP 1 123456789012345678901234567890 FROM cassisjuice.positions", "64-bit"),
    ("SELECT TOP 1 9223372036854775808 AS x FROM cassisjuice.positions", "64-bit"),
    ("SELECT TOP 1 0x1FFFFFFFFFFFFFFFF AS x FROM cassisjuice.positions", "64-bit"),
    ("SELECT TOP 1 " + "9" * 5000 + " FROM cassisjuice.positions", "64-bit"),
    ("SELECT TOP 1 " + "9" * 5000 + ".5 FROM cassisjuice.positions", "too long"),
    ("SELECT TOP " + "9" * 5000 + " cj_id FROM cassisjuice.positions", "64-bit"),
    ("SELECT TOP 1 COALESCE(snr_lr, 'x') FROM cassisjuice.positions", "COALESCE"),
    ("SELECT TOP 1 CAST('nan nan' AS POINT) FROM cassisjuice.positions", "DALI point"),
]
#: values the column's type cannot hold: SQLite computes them, PostgreSQL refuses them
OUT_OF_RANGE = [
    "SELECT TOP 1 CAST(100000 AS SMALLINT) AS x FROM cassisjuice.positions",
    "SELECT TOP 1 CAST(3000000000 AS INTEGER) AS x FROM cassisjuice.positions",
    "SELECT TOP 1 9223372036854775807 + 1 AS x FROM cassisjuice.positions",
]


@pytest.mark.parametrize("fmt", ["votable", "votable/b2", "csv", "fits", "json"])
@pytest.mark.parametrize("query,message", BAD_QUERIES)
def test_bad_adql_is_a_400(any_server, query, message, fmt):
    base, _ = any_server
    status, headers, body = call("POST", f"{base}/tap/sync", {
        "LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt})
    assert status == 400 and headers["Content-Type"].startswith("application/x-votable+xml")
    state, text = error_message(body)
    assert state == "ERROR" and message in text


@pytest.mark.parametrize("query", OUT_OF_RANGE)
def test_values_beyond_their_type_are_a_400(any_server, query):
    base, _ = any_server
    for fmt in ("votable", "votable/b2", "fits"):
        status, _, body = call("POST", f"{base}/tap/sync", {
            "LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt})
        assert status == 400, (fmt, body[-300:])
        assert error_message(body)[0] == "ERROR"


def test_an_uploaded_table_without_fields_is_a_400(any_server):
    base, _ = any_server
    table = (b'<?xml version="1.0"?><VOTABLE version="1.4" '
             b'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE><DATA>'
             b"<TABLEDATA></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
    status, _, body = multipart(f"{base}/tap/sync", {
        "LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:t"},
        {"t": table})
    assert status == 400
    assert error_message(body)[1] == "UPLOAD t: the VOTable's TABLE has no FIELD"


@pytest.mark.parametrize("fmt", ["votable", "votable/b2", "csv", "json", "fits"])
def test_an_error_after_the_first_rows(any_server, fmt):
    """Rows come in chunks (one row each here): a value that fails in the second chunk
    ends a streamed VOTable with QUERY_STATUS=ERROR after the TABLE (DALI 1.1 sec.
    4.4.2) and JSON with an error key, stops CSV, is still a TapError (400) for FITS
    (written whole at the end), and fails an async job (errors_in_band=False)."""
    import json

    from vo_service.adql.schema import atlas_schema
    from vo_service.config import Settings
    from vo_service.protocols.tap import TapError, parse_query, run_query

    _, store = any_server
    table = (b'<?xml version="1.0"?><VOTABLE version="1.4" '
             b'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>'
             b'<FIELD name="a" datatype="long"/><DATA><TABLEDATA><TR><TD>1</TD></TR>'
             b"<TR><TD>100000</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
    values = {"LANG": "ADQL", "RESPONSEFORMAT": fmt, "UPLOAD": "t,param:t",
              "QUERY": "SELECT CAST(a AS SMALLINT) AS s FROM TAP_UPLOAD.t"}
    tap = parse_query(values.get, {"t": table}.get, Settings())
    schema = atlas_schema(store)

    def run(**options):
        return b"".join(run_query(store, schema, tap, 30, "http://x", chunk_rows=1,
                                  **options))

    if fmt == "fits":
        with pytest.raises(TapError, match=r"(?i)smallint|short"):
            run()
        return
    body = run()
    if fmt.startswith("votable"):
        state, _ = error_message(body)
        assert state == "ERROR" and body.index(b'value="ERROR"') > body.index(b"</TABLE>")
    elif fmt == "json":
        document = json.loads(body)
        assert len(document["data"]) == 1 and document["error"]
    else:
        assert body == b"s\r\n1\r\n"
    with pytest.raises(TapError):
        run(errors_in_band=False)


def test_parsing_and_translation_count_in_the_time_limit(store_url):
    """A 30,000-member IN list takes the parser and translator far longer than a 0.05 s
    limit: the limit applies to them too, not only to the database."""
    from tests.web.conftest import _serve

    srv = _serve(store_url, sync_timeout_s=0.05)
    try:
        members = ", ".join(f"'{i}'" for i in range(30_000))
        status, _, body = call("POST", f"http://127.0.0.1:{srv.effective_port}/tap/sync", {
            "LANG": "ADQL", "QUERY": f"SELECT cj_id FROM cassisjuice.positions WHERE "
                                     f"cj_id IN ({members})"})
        assert status == 400 and "longer than 0.05 s" in error_message(body)[1]
    finally:
        srv.close()
