"""UWS jobs (TAP 1.1 async, UWS 1.1) on SQLite and PostgreSQL: owned by their creator,
reached by unguessable URLs, values checked before they are stored, the running SQL
cancelled by ABORT, DELETE and the execution duration, WAIT bounded, and jobs a dead
server left EXECUTING recovered at start-up."""

from __future__ import annotations

import gc
import io
import re
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from tests.web.conftest import _serve
from tests.web.tap_client import call, cookie_of, error_message
from vo_service.protocols.uws_jobs import JobStore

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
#: a COUNT over 9**12 rows: hours of work for either database
LONG = "SELECT COUNT(*) AS n FROM " + ", ".join(
    f"cassisjuice.positions AS t{i}" for i in range(12))


def _create(base: str, query: str = "SELECT TOP 1 cj_id FROM cassisjuice.positions",
            cookie: str | None = None, **extra) -> tuple[str, str | None]:
    status, headers, body = call("POST", f"{base}/tap/async", {
        "LANG": "ADQL", "QUERY": query, **extra}, {"Cookie": cookie} if cookie else None)
    assert status == 303, body
    return headers["Location"], cookie_of(headers) or cookie


def _job_ids(base: str, cookie: str | None) -> list[str]:
    status, _, body = call("GET", f"{base}/tap/async", headers={"Cookie": cookie} if cookie
                           else None)
    assert status == 200
    return [ref.get("id") for ref in ET.fromstring(body).iter(f"{UWS}jobref")]


def _phase(job_url: str) -> str:
    return call("GET", f"{job_url}/phase")[2].decode()


def _until(predicate, limit_s: float = 30.0, step_s: float = 0.1):
    """Poll ``predicate`` until it is true (at most ``limit_s``); its last value."""
    deadline = time.monotonic() + limit_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step_s)


def _job_store(store) -> JobStore:
    if store.dialect == "sqlite":
        path = store.path.with_name(store.path.name + ".uws.sqlite")
        return JobStore(lambda: sqlite3.connect(path, timeout=30), "sqlite")
    return JobStore(lambda: store.connect(readonly=False), "postgresql")


def test_jobs_are_private_to_their_owner(any_server):
    base, _ = any_server
    job_a, alice = _create(base, RUNID="alice")
    job_b, bob = _create(base)
    assert alice and bob and alice != bob
    id_a = job_a.rsplit("/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", id_a)  # 128 random bits
    assert id_a in _job_ids(base, alice) and id_a not in _job_ids(base, bob)
    assert _job_ids(base, None) == []  # no owner token: nothing listed
    for method, path, fields in (
            ("POST", "/phase", {"PHASE": "RUN"}), ("POST", "/phase", {"PHASE": "ABORT"}),
            ("POST", "/destruction", {"DESTRUCTION": "2040-01-01T00:00:00Z"}),
            ("POST", "/executionduration", {"EXECUTIONDURATION": "5"}),
            ("POST", "/parameters", {"MAXREC": "3"}), ("POST", "", {"ACTION": "DELETE"}),
            ("DELETE", "", None)):
        status, _, body = call(method, job_a + path, fields, {"Cookie": bob})
        assert status == 403, (method, path)
        assert error_message(body)[0] == "ERROR"
    assert _phase(job_a) == "PENDING"
    # the URL is a capability: a client without cookies reads the job and runs it
    status, _, body = call("GET", job_a)
    assert status == 200 and b"alice" in body
    assert call("POST", f"{job_a}/phase", {"PHASE": "RUN"})[0] == 303
    assert _until(lambda: _phase(job_a) == "COMPLETED")
    assert call("GET", f"{job_a}/results/result")[0] == 200
    assert call("DELETE", job_a, headers={"Cookie": alice})[0] == 303
    assert call("DELETE", job_b, headers={"Cookie": bob})[0] == 303
    # CORS: DELETE offered to browsers only where the owner check applies
    _, headers, _ = call("OPTIONS", f"{base}/tap/sync")
    assert "DELETE" not in headers["Access-Control-Allow-Methods"]
    _, headers, _ = call("OPTIONS", job_b)
    assert "DELETE" in headers["Access-Control-Allow-Methods"]


def test_bad_values_are_refused_and_stored_ones_never_break_the_list(any_server):
    base, store = any_server
    job, owner = _create(base)
    status, _, body = call("POST", f"{job}/destruction",
                           {"DESTRUCTION": "0999-06-01T00:00:00Z"}, {"Cookie": owner})
    assert status == 400 and "1970" in error_message(body)[1]
    for fields in ({"QUERY": "SELECT 1 \x01 FROM cassisjuice.positions"},
                   {"QUERY": "SELECT 1 FROM cassisjuice.positions", "RUNID": "a\x00b"},
                   {"QUERY": "SELECT 1 FROM cassisjuice.positions", "RUNID": "a\x1bb"}):
        status, _, body = call("POST", f"{base}/tap/async", {"LANG": "ADQL", **fields},
                               {"Cookie": owner})
        assert status == 400 and "control character" in error_message(body)[1]
    status, _, body = call("POST", f"{job}/parameters", {"RUNID": "x\x07"},
                           {"Cookie": owner})
    assert status == 400
    for bad_id in ("abc%00def", "a%01b", "%FF"):  # NUL bytes never reach PostgreSQL
        assert call("GET", f"{base}/tap/async/{bad_id}")[0] == 404
        assert call("DELETE", f"{base}/tap/async/{bad_id}")[0] == 404
    # a row stored before these checks: an unreadable time, control characters
    jobs = _job_store(store)
    bad = jobs.create("tap", [("QUERY", "SELECT \x01")], execution_duration=60,
                      retention_s=60, run_id="r\x02", owner_id=_owner_of(jobs, job))
    jobs._execute("UPDATE uws_jobs SET destruction = ?, creation_time = ? WHERE job_id = ?",
                  ("999-06-01T00:00:00Z", "0999-06-01T00:00:00Z", bad.job_id))
    status, _, body = call("GET", f"{base}/tap/async", headers={"Cookie": owner})
    assert status == 200 and bad.job_id.encode() in body
    ET.fromstring(body)  # well-formed
    status, _, body = call("GET", f"{base}/tap/async/{bad.job_id}")
    assert status == 200
    ET.fromstring(body)
    # expired: destroyed here, or already by the server's job runner, which sweeps the
    # same table; either way the unreadable time did not stop the sweep
    jobs.destroy_expired()
    assert jobs.get(bad.job_id) is None
    call("DELETE", job, headers={"Cookie": owner})


def _owner_of(jobs: JobStore, job_url: str) -> str:
    return jobs.get(job_url.rsplit("/", 1)[1]).owner_id


def test_control_characters_never_reach_result_xml(any_server):
    base, _ = any_server
    status, _, body = call("POST", f"{base}/tap/sync", {
        "LANG": "ADQL", "QUERY": "SELECT TOP 1 cj_id FROM cassisjuice.positions -- \x01\x1f\n"})
    assert status == 200
    root = ET.parse(io.BytesIO(body)).getroot()  # well-formed
    query = next(i for i in root.iter("{http://www.ivoa.net/xml/VOTable/v1.3}INFO")
                 if i.get("name") == "QUERY")
    assert "\ufffd\ufffd" in query.get("value") and "\x01" not in query.get("value")


def _backend_running(store) -> bool:
    """Whether PostgreSQL still runs the long query (another session's view). The store
    declares a cursor for it and fetches from that (``store.result_chunks.PostgresChunks``), so the
    statement PostgreSQL shows while the query works is the DECLARE (its SQL, with the
    translator's alias t12) for an instant, then the cursor's FETCH."""
    conn = store.connect(readonly=False)
    try:
        rows = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                            "AND datname = current_database() AND pid <> pg_backend_pid() "
                            "AND (query LIKE '%t12%' OR query LIKE 'FETCH % FROM cj_result')"
                            ).fetchall()
        return rows[0][0] > 0
    finally:
        conn.close()


def test_abort_delete_and_duration_cancel_the_running_query(any_server):
    """Both runner threads busy with endless queries; ABORT, DELETE and a 2 s execution
    duration stop them, so a short job completes soon after, and PostgreSQL no longer
    runs them."""
    base, store = any_server
    first, owner = _create(base, LONG, PHASE="RUN")
    second, _ = _create(base, LONG, owner, PHASE="RUN")
    assert _until(lambda: _phase(first) == _phase(second) == "EXECUTING")
    if store.dialect == "postgresql":
        assert _until(lambda: _backend_running(store))
    assert call("POST", f"{first}/phase", {"PHASE": "ABORT"}, {"Cookie": owner})[0] == 303
    assert call("DELETE", second, headers={"Cookie": owner})[0] == 303
    if store.dialect == "postgresql":
        assert _until(lambda: not _backend_running(store), 5.0)
    short, _ = _create(base, cookie=owner, PHASE="RUN")
    assert _until(lambda: _phase(short) == "COMPLETED", 10.0)
    assert _phase(first) == "ABORTED"
    timed, _ = _create(base, LONG, owner)
    call("POST", f"{timed}/executionduration", {"EXECUTIONDURATION": "2"}, {"Cookie": owner})
    call("POST", f"{timed}/phase", {"PHASE": "RUN"}, {"Cookie": owner})
    assert _until(lambda: _phase(timed) == "ABORTED", 15.0)
    assert b"execution duration" in call("GET", timed)[2]
    if store.dialect == "postgresql":
        assert _until(lambda: not _backend_running(store), 5.0)
    for job in (first, short, timed):
        call("DELETE", job, headers={"Cookie": owner})


def test_blocked_waits_leave_threads_for_other_requests(store_url):
    """16 WAIT=60 requests on a pending job: at most half the request threads block
    (the others are answered within half a second, UWS 1.1 sec. 2.2.1.1), so a cone
    search is answered while the blocked ones still wait."""
    srv = _serve(store_url, threads=4)
    base = f"http://127.0.0.1:{srv.effective_port}"
    try:
        job, owner = _create(base)
        returned: list[int] = []

        def wait() -> None:
            returned.append(call("GET", f"{job}?WAIT=60", timeout=120)[0])

        waiters = [threading.Thread(target=wait) for _ in range(16)]
        for thread in waiters:
            thread.start()
        assert _until(lambda: len(returned) >= 14)  # the ones answered early
        status, _, body = call("GET", f"{base}/scs", {"RA": "83.8", "DEC": "-5.4",
                                                      "SR": "1"}, timeout=30)
        assert status == 200, body
        assert len(returned) == 14  # two still blocked
        call("POST", f"{job}/phase", {"PHASE": "ABORT"}, {"Cookie": owner})
        for thread in waiters:
            thread.join(timeout=30)
        assert returned == [200] * 16
    finally:
        srv.close()


def test_jobs_left_executing_by_a_dead_server_are_recovered_at_start(store_url, request):
    from vo_service.store import open_store

    store = open_store(store_url)
    request.addfinalizer(store.close)
    jobs = _job_store(store)
    job = jobs.create("tap", [("LANG", "ADQL"), ("QUERY", "SELECT TOP 1 cj_id FROM "
                                                "cassisjuice.positions")],
                      execution_duration=60, retention_s=600, owner_id="user:test")
    jobs.transition(job.job_id, ["PENDING"], "EXECUTING", runner="dead:1",
                    heartbeat=time.time() - 3600)
    srv = _serve(store_url)  # no request reaches it: recovery starts with the server
    try:
        assert _until(lambda: jobs.get(job.job_id).phase == "COMPLETED")
        assert jobs.result(job.job_id, "result") is not None
    finally:
        srv.close()
        jobs.delete(job.job_id)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_pyvo_sessions_see_their_own_jobs_and_cookieless_clients_use_urls(any_server):
    """pyvo's session keeps the owner cookie: its job list has its job, another
    session's has not and its DELETE is refused; a client without cookies (a session
    made for each call) still follows the job by its URL to the result."""
    pyvo = pytest.importorskip("pyvo")
    import requests

    base, _ = any_server
    mine = pyvo.dal.TAPService(f"{base}/tap")
    other = pyvo.dal.TAPService(f"{base}/tap", session=requests.Session())
    try:
        job = mine.submit_job("SELECT TOP 2 cj_id FROM cassisjuice.positions")
        theirs = other.submit_job("SELECT TOP 1 cj_id FROM cassisjuice.positions")
        assert job.job_id in [j.jobid for j in mine.get_job_list()]
        assert [j.jobid for j in other.get_job_list()] == [theirs.job_id]
        stranger = pyvo.dal.AsyncTAPJob(job.url, session=other._session)
        with pytest.raises(pyvo.dal.DALServiceError):
            stranger.delete()
        with requests.Session() as fresh:  # no cookie: the URL is the capability
            anonymous = pyvo.dal.AsyncTAPJob(job.url, session=fresh)
            anonymous.run()
            anonymous.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
            assert anonymous.phase == "COMPLETED"
            assert len(anonymous.fetch_result()) == 2
        job.delete()
        theirs.delete()
        assert mine.get_job_list() == [] and other.get_job_list() == []
    finally:
        mine._session.close()
        other._session.close()
        gc.collect()  # see test_tap.py: pyvo's job objects hold sockets in cycles
