"""A PostgreSQL outage and restart, on a private cluster the test starts and stops itself,
served by gunicorn (two workers) as in production.

While the database is down every endpoint that needs it answers 503 with Retry-After in
its protocol's document (DALI VOTable, Cone Search's INFO Error, plain text), the VOSI
availability documents say ``available=false``, and nothing names the database; after a
restart (with every request thread still holding its dead connection) nothing fails."""

from __future__ import annotations

import io
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlencode, urlsplit

import pytest
from astropy.io.votable import parse

from tests.gunicorn_server import Gunicorn
from tests.http_get import http_get
from tests.private_postgres import private_cluster
from vo_service.config import Settings
from vo_service.store import open_store

RETRY_AFTER_S = 7
THREADS = 4
JOB: list[str] = []  # the path of a pending UWS job, made before any outage
OWNER: dict[str, str] = {}  # its owner's cookie: the job list asks the store only for it


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def outage(demo, tmp_path_factory):
    from vo_service.store.ingest import ingest

    with private_cluster() as cluster:
        ingest(demo / "products", cluster.url)
        store = open_store(cluster.url)
        _, rows = store._rows(f"SELECT obs_publisher_did FROM {store.physical('obscore')} "
                              "ORDER BY obs_id", [])
        store.close()
        # as production serves it: gunicorn, two workers (deploy/gunicorn.conf.py)
        srv = Gunicorn(cluster.url, workers=2, threads=THREADS,
                       log=tmp_path_factory.mktemp("outage") / "gunicorn.log",
                       retry_after_s=RETRY_AFTER_S)
        base = srv.base
        form = urlencode({"LANG": "ADQL", "QUERY": "SELECT TOP 1 cj_id FROM "
                          "cassisjuice.positions"}).encode()
        request = urllib.request.Request(f"{base}/tap/async", data=form)
        with pytest.raises(urllib.error.HTTPError) as created:  # the 303, not followed
            urllib.request.build_opener(_NoRedirect).open(request)
        created.value.close()
        assert created.value.code == 303
        JOB.append(urlsplit(created.value.headers["Location"]).path)
        OWNER["Cookie"] = created.value.headers["Set-Cookie"].split(";")[0]
        try:
            yield cluster, base, rows[0][0]
        finally:
            srv.stop()


def _endpoints(did: str) -> dict[str, tuple[str, str]]:
    """name -> (path, the format of its errors)."""
    cj_id = did.split("?")[1].split("/")[0]
    did_q = quote(did, safe="")
    adql = "SELECT TOP 5 cj_id, ra, dec FROM cassisjuice.positions"
    return {
        "TAP sync": ("/tap/sync?" + urlencode({"LANG": "ADQL", "QUERY": adql}), "dali"),
        "TAP job list": ("/tap/async", "dali"),
        "TAP job": (JOB[0], "dali"),
        "TAP job phase": (JOB[0] + "/phase", "dali"),
        "SSAP": ("/ssa?POS=0,0&SIZE=360", "dali"),
        "Datalink": (f"/datalink/links?ID={did_q}", "dali"),
        "SODA": (f"/soda?ID={did_q}&BAND=6e-06%208e-06", "dali"),
        "spectrum": (f"/spectra/{cj_id}/LR/best?format=votable", "dali"),
        "preview": (f"/spectra/{cj_id}/LR/best?format=png", "dali"),
        "dataset": (f"/datasets/{cj_id}", "dali"),
        "SCS": ("/scs?RA=0&DEC=0&SR=10", "scs"),
        "MOC": ("/moc", "plain"),
        "ID card": (f"/cards/{cj_id}", "plain"),
    }


AVAILABILITY = ("/tap/availability", "/ssa/availability", "/scs/availability")


def _available(body: bytes) -> str:
    return re.search(rb"<avail:available>(\w+)</avail:available>", body).group(1).decode()


def _all_ok(base: str, did: str, rounds: int = 3) -> None:
    """Every endpoint, several times over all request threads, answers 200."""
    urls = [base + path for path, _ in _endpoints(did).values()] * rounds
    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(lambda url: http_get(url, OWNER), urls))
    failed = [(u, s, b[-300:]) for u, (s, _, b) in zip(urls, answers, strict=True)
              if s != 200]
    assert not failed, failed[:3]
    for path in AVAILABILITY:
        status, _, body = http_get(base + path)
        assert status == 200 and _available(body) == "true"


def _assert_outage_answer(name, kind, status, headers, body, cluster):
    assert status == 503, (name, status, body[-300:])
    assert headers["Retry-After"] == str(RETRY_AFTER_S), name
    text = body.decode("utf-8", "replace")
    for secret in (str(cluster.port), str(cluster.root), "postgres", "127.0.0.1:"):
        assert secret not in text, (name, secret, text)
    if kind == "plain":
        assert headers["Content-Type"].startswith("text/plain"), name
        assert "temporarily unavailable" in text
        return
    assert headers["Content-Type"].startswith("application/x-votable+xml"), name
    votable = parse(io.BytesIO(body), verify="exception")
    infos = {i.name: i for i in votable.resources[0].infos}
    assert infos["QUERY_STATUS"].value == "ERROR"
    assert "temporarily unavailable" in infos["QUERY_STATUS"].content
    if kind == "scs":  # SCS 1.03 sec. 3.3
        assert "temporarily unavailable" in infos["Error"].value
    else:
        assert infos["QUERY_STATUS"].content.startswith("TransientFault: ")


def test_restart_with_idle_dead_connections_gives_no_error(outage):
    cluster, base, did = outage
    _all_ok(base, did)  # every request thread now holds a connection
    cluster.stop()
    cluster.start()
    _all_ok(base, did)


def test_outage_answers_503_in_each_protocol_then_recovers(outage):
    cluster, base, did = outage
    _all_ok(base, did)
    cluster.stop()
    try:
        for name, (path, kind) in _endpoints(did).items():
            # a URL not requested before: the file cache may still answer those (served
            # bytes of the current ingest, kept in memory)
            path += ("&" if "?" in path else "?") + "during=outage"
            for _ in range(2):  # a thread's dead connection, then no connection at all
                status, headers, body = http_get(base + path, OWNER)
                _assert_outage_answer(name, kind, status, headers, body, cluster)
        for path in AVAILABILITY:  # VOSI 1.1 sec. 3.2: 200, available=false with a note
            status, _, body = http_get(base + path)
            assert status == 200 and _available(body) == "false", path
            assert b"<avail:note>" in body and str(cluster.port).encode() not in body
        status, _, body = http_get(base + "/tap/capabilities")  # needs no database
        assert status == 200 and b"capabilities" in body
    finally:
        cluster.start()
    _all_ok(base, did)


@pytest.mark.parametrize("name", ["COLLECTION", "TARGETNAME"])
def test_control_characters_in_ssap_strings_are_usage_errors(any_server, name):
    """PostgreSQL text cannot hold NUL: refused as the client's error, not a 500."""
    base, _ = any_server
    for value in ("\x00", "NGC\x001068", "a\x1bb"):
        status, _, body = http_get(f"{base}/ssa?POS=0,0&SIZE=360&{name}={quote(value)}")
        assert status == 400, (value, body[-300:])
        info = next(i for i in parse(io.BytesIO(body)).resources[0].infos
                    if i.name == "QUERY_STATUS")
        assert info.value == "ERROR" and name in info.content


def test_a_missing_sqlite_atlas_is_an_outage_that_names_no_path(tmp_path):
    from vo_service.app import create_app

    missing = tmp_path / "nowhere" / "atlas.sqlite"
    client = create_app(Settings(store_url=f"sqlite:///{missing}")).test_client()
    for path, kind in (("/ssa?POS=0,0&SIZE=1", "dali"), ("/scs?RA=0&DEC=0&SR=1", "scs"),
                       ("/moc", "plain"), ("/cards/1234_0", "plain")):
        r = client.get(path)
        assert r.status_code == 503 and r.headers["Retry-After"] == "30", path
        assert str(tmp_path) not in r.get_data(as_text=True)
        assert r.mimetype == ("text/plain" if kind == "plain" else "application/x-votable+xml")
    r = client.get("/ssa/availability")
    assert r.status_code == 200 and _available(r.data) == "false"
    assert str(tmp_path).encode() not in r.data


def test_every_cone_search_error_has_the_scs_error_info(tmp_path):
    """SCS 1.03 sec. 3.3, whatever the failure: a usage error, an unknown method, a bug."""
    from vo_service.app import create_app

    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'atlas.sqlite'}"))

    @app.route("/scs/probe-crash")
    def crash():
        raise RuntimeError("a bug")

    client = app.test_client()
    for method, path, status in (("GET", "/scs?RA=x&DEC=0&SR=1", 400),
                                 ("DELETE", "/scs", 405), ("GET", "/scs/probe-crash", 500)):
        r = client.open(path, method=method)
        assert r.status_code == status, path
        infos = {i.name: i for i in parse(io.BytesIO(r.data)).resources[0].infos}
        assert infos["QUERY_STATUS"].value == "ERROR" and infos["Error"].value, path
