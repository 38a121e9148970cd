"""TAP sync queries answered in front of Flask (``vo_service.web.direct_tap``): the same
status, headers and bytes as the route gives, without entering Flask; what it does not
answer (errors, uploads, multipart bodies, other methods) reaches the route, and a query
it ran and found wrong is not run a second time there."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from astropy.io.votable import parse_single_table
from werkzeug.test import Client

from vo_service.protocols import tap as tap_protocol

CONE = ("SELECT * FROM cassisjuice.positions WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
        "CIRCLE('ICRS', {ra}, {dec}, 5))")


def _answer(client: Client, method: str, query: str = "", data=None,
            content_type: str | None = None, **headers):
    response = client.open(f"/tap/sync{query}", method=method, data=data, headers=headers,
                           content_type=content_type)
    return response.status, list(response.headers.items()), response.get_data()


def _cone(store) -> str:
    _, rows = store.select(f"SELECT ra, dec FROM {store.physical('positions')} "
                           "ORDER BY cj_id LIMIT 1", [])
    return CONE.format(ra=rows[0][0], dec=rows[0][1])


def _queries(store) -> list[str]:
    return [_cone(store), "SELECT TOP 1 * FROM TAP_SCHEMA.tables",
            "SELECT object_type, COUNT(*) AS n FROM cassisjuice.positions GROUP BY object_type",
            "SELECT TOP 3 obs_publisher_did, access_url FROM ivoa.obscore",  # URLs, Datalink
            "SELECT * FROM TAP_SCHEMA.columns"]


@pytest.mark.parametrize("fmt", [None, "votable", "votable/td", "votable/b2", "csv", "tsv",
                                 "fits", "json", "text/csv"])
def test_sync_results_are_the_routes_without_flask(apps, fmt):
    whole, flask_only, dispatched, store = apps
    for query in _queries(store):
        params = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query}
        if fmt:
            params["RESPONSEFORMAT"] = fmt
        for method, args in (("POST", {"data": params}),
                             ("GET", {"query": "?" + urlencode(params)})):
            dispatched.clear()
            answer = _answer(whole, method, **args)
            assert dispatched == [], (method, query)  # answered before Flask
            assert answer[0] == "200 OK", answer[2][:500]
            assert answer == _answer(flask_only, method, **args)
            assert dispatched == ["flask"]


def test_a_result_reads_back_with_its_rows(apps):
    whole, _, _, store = apps
    query = _cone(store)
    _, headers, body = _answer(whole, "POST", data={"LANG": "ADQL", "QUERY": query})
    assert dict(headers)["Content-Type"] == "application/x-votable+xml;serialization=binary2"
    assert int(dict(headers)["Content-Length"]) == len(body)
    table = parse_single_table(io.BytesIO(body))
    expected = store.select(f"SELECT count(*) FROM {store.physical('positions')}", [])[1][0][0]
    assert 0 < len(table.array) <= expected


def test_streamed_results_are_the_routes(apps, monkeypatch):
    """A result of several chunks is streamed (no Content-Length), the same pieces."""
    whole, flask_only, dispatched, _ = apps
    defaults = list(tap_protocol.run_query.__defaults__)
    defaults[1] = 7  # chunk_rows
    monkeypatch.setattr(tap_protocol.run_query, "__defaults__", tuple(defaults))
    params = {"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_SCHEMA.columns",
              "RESPONSEFORMAT": "votable/td"}
    dispatched.clear()
    answer = _answer(whole, "POST", data=params)
    assert dispatched == []
    assert "Content-Length" not in dict(answer[1])
    assert answer[2].count(b"<TR>") > 7
    assert answer == _answer(flask_only, "POST", data=params)


def test_parameters_as_dali_reads_them(apps):
    """Names in any case, the last value wins; query string and body together."""
    whole, flask_only, dispatched, _ = apps
    body = "lang=ADQL&query=SELECT+TOP+1+*+FROM+TAP_SCHEMA.schemas&QUERY=SELECT+TOP+2+*+" \
           "FROM+TAP_SCHEMA.tables&Responseformat=csv"
    for query in ("", "?MAXREC=1", "?responseFormat=tsv&maxrec=5"):
        dispatched.clear()
        answer = _answer(whole, "POST", query, data=body,
                         content_type="application/x-www-form-urlencoded; charset=utf-8")
        assert dispatched == [] and answer[0] == "200 OK", answer
        assert b"TAP_SCHEMA.tables" in answer[2] or b"<TR>" not in answer[2]
        assert answer == _answer(flask_only, "POST", query, data=body,
                                 content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("params", [
    {"LANG": "ADQL", "QUERY": "SELECT FROM WHERE"},  # ADQL syntax
    {"LANG": "ADQL", "QUERY": "SELECT * FROM nowhere"},  # an unknown table
    {"LANG": "ADQL", "QUERY": "SELECT TOP 1 * FROM TAP_SCHEMA.tables", "MAXREC": "-3"},
    {"LANG": "ADQL", "QUERY": "SELECT TOP 1 * FROM TAP_SCHEMA.tables",
     "RESPONSEFORMAT": "text/nonsense"},
    {"QUERY": "SELECT TOP 1 * FROM TAP_SCHEMA.tables"},  # no LANG
    {"REQUEST": "getCapabilities", "LANG": "ADQL", "QUERY": "SELECT 1"},
    {"LANG": "ADQL", "QUERY": "SELECT CAST(100000 AS SMALLINT) AS x FROM TAP_SCHEMA.tables"},
])
def test_errors_are_the_routes(apps, params):
    whole, flask_only, dispatched, _ = apps
    for method, args in (("POST", {"data": params}),
                         ("GET", {"query": "?" + urlencode(params)})):
        dispatched.clear()
        answer = _answer(whole, method, **args)
        assert dispatched == ["flask"]
        assert answer[0] == "400 BAD REQUEST"
        assert b'value="ERROR"' in answer[2]
        assert answer == _answer(flask_only, method, **args)
        # a browser gets the HTML page the route gives
        html = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
        browser = _answer(whole, method, **args, **html)
        assert browser[0] == "400 BAD REQUEST" and b"<html" in browser[2].lower()
        assert browser == _answer(flask_only, method, **args, **html)


def test_a_failed_query_runs_once(apps, monkeypatch):
    whole, _, dispatched, _ = apps
    calls = []
    run = tap_protocol.run_query

    def counted(*args, **kwargs):
        calls.append(1)
        return run(*args, **kwargs)

    monkeypatch.setattr("vo_service.web.direct_tap.run_query", counted)
    monkeypatch.setattr("vo_service.web.tap.run_query", counted)
    dispatched.clear()
    answer = _answer(whole, "POST", data={"LANG": "ADQL", "QUERY": "SELECT * FROM nowhere"})
    assert answer[0] == "400 BAD REQUEST" and dispatched == ["flask"]
    assert calls == [1]


def test_what_it_does_not_read_reaches_the_route(apps):
    """A multipart body (TOPCAT's uploads), UPLOAD, a body too large to read here, a GET
    with a body, other methods: Flask reads them, with the same answer."""
    whole, flask_only, dispatched, _ = apps
    query = {"LANG": "ADQL", "QUERY": "SELECT TOP 1 * FROM TAP_SCHEMA.tables"}
    cases = [  # (method, a function giving the request's arguments: a file is read once)
        ("POST", lambda: {"data": {**query, "extra": (io.BytesIO(b"x"), "x.txt")}}),
        ("POST", lambda: {"data": {**query, "UPLOAD": "t,param:t"}}),
        ("POST", lambda: {"data": {**query, "PAD": "x" * 70_000}}),
        ("GET", lambda: {"query": "?" + urlencode(query), "data": "LANG=ADQL",
                         "content_type": "application/x-www-form-urlencoded"}),
        ("PUT", lambda: {"data": query}),
        ("HEAD", lambda: {"query": "?" + urlencode(query)}),
    ]
    for method, args in cases:
        dispatched.clear()
        answer = _answer(whole, method, **args())
        assert dispatched == ["flask"], method
        assert answer == _answer(flask_only, method, **args())


def test_invalid_utf8_reaches_the_route(apps):
    whole, flask_only, dispatched, _ = apps
    body = b"LANG=ADQL&QUERY=SELECT+TOP+1+*+FROM+TAP_SCHEMA.tables+--+%FF%FE"
    dispatched.clear()
    answer = _answer(whole, "POST", data=body,
                     content_type="application/x-www-form-urlencoded")
    assert dispatched == ["flask"]
    assert answer == _answer(flask_only, "POST", data=body,
                             content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("host", ["localhost", "evil.example:8080"])
def test_urls_name_an_allowed_host(apps, host):
    """The result's URLs (ObsCore access_url, the Datalink descriptor) from an allowed Host
    header, or the first allowed host for any other, as the route makes them."""
    whole, flask_only, dispatched, _ = apps
    params = {"LANG": "ADQL", "QUERY": "SELECT TOP 2 obs_publisher_did, access_url "
              "FROM ivoa.obscore", "RESPONSEFORMAT": "votable/td"}
    dispatched.clear()
    answer = _answer(whole, "POST", data=params, Host=host)
    assert dispatched == [] and answer[0] == "200 OK"
    assert answer == _answer(flask_only, "POST", data=params, Host=host)
    assert b"http://localhost/datalink/links" in answer[2]
    assert b"evil.example" not in answer[2]
