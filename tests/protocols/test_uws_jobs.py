"""UWS 1.1 jobs on both backends: persistence, compare-and-set phases, the runner,
blocking waits, orphan recovery, destruction and the XML documents (standards.md sec. 3)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import xml.etree.ElementTree as ET

import pytest

from tests.postgres import fresh_database
from vo_service.protocols.uws import (
    JobError,
    JobRunner,
    job_document,
    jobs_document,
    wait_for_change,
)
from vo_service.protocols.uws_jobs import JobStore, utc_now

NS = {"uws": "http://www.ivoa.net/xml/UWS/v1.0", "xlink": "http://www.w3.org/1999/xlink",
      "xsi": "http://www.w3.org/2001/XMLSchema-instance"}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "jobs.sqlite"
        yield JobStore(lambda: sqlite3.connect(path, timeout=10), "sqlite")
        return
    psycopg = pytest.importorskip("psycopg")
    with fresh_database("cj_uws_") as url:
        yield JobStore(lambda: psycopg.connect(url), "postgresql")


def _new(store, **kw):
    return store.create("tap", [("LANG", "ADQL"), ("QUERY", "SELECT 1")],
                        execution_duration=kw.pop("duration", 60), retention_s=3600, **kw)


def test_jobs_persist_and_change_phase_only_from_the_expected_one(store):
    job = _new(store, run_id="TAPLINT-001")
    again = store.get(job.job_id)
    assert again == job and again.parameter("query") == "SELECT 1"
    assert store.set_parameters(job.job_id, [("runId", "x"), ("query", "SELECT 2")])
    assert store.get(job.job_id).parameter("QUERY") == "SELECT 2"
    assert store.transition(job.job_id, ["PENDING"], "QUEUED")
    assert not store.transition(job.job_id, ["PENDING"], "EXECUTING")  # compare-and-set
    assert not store.set_parameters(job.job_id, [("QUERY", "SELECT 3")])  # not PENDING
    assert [j.job_id for j in store.list(phases=["QUEUED"])] == [job.job_id]
    assert store.list(phases=["ERROR"]) == []
    assert store.delete(job.job_id) and store.get(job.job_id) is None


def test_list_filters_last_and_after(store):
    ids = [_new(store).job_id for _ in range(3)]
    assert {j.job_id for j in store.list()} == set(ids)
    assert len(store.list(last=2)) == 2
    future = utc_now() + dt.timedelta(hours=1)
    assert store.list(after=future) == []


def _runner(store, **executors):
    return JobRunner(store, executors, threads=2, heartbeat_s=0.2)


def test_runner_completes_fails_and_aborts(store):
    def execute(job, cancelled):
        if job.parameter("QUERY") == "fail":
            raise JobError("Could not parse: fail")
        if job.parameter("QUERY") == "slow":
            while not cancelled():
                time.sleep(0.05)
            return "text/plain", b"partial"
        return "application/x-votable+xml", b"<VOTABLE/>"

    runner = _runner(store, tap=execute)
    try:
        ok = _new(store)
        assert runner.run(ok.job_id) and not runner.run(ok.job_id)
        done = wait_for_change(store, ok.job_id, -1, None, cap_s=10)
        done = wait_for_change(store, ok.job_id, -1, None, cap_s=10)
        assert done.phase == "COMPLETED" and done.results[0].result_id == "result"
        assert store.result(ok.job_id, "result") == ("application/x-votable+xml",
                                                      b"<VOTABLE/>")
        bad = store.create("tap", [("QUERY", "fail")], execution_duration=60,
                           retention_s=60)
        runner.run(bad.job_id)
        deadline = time.monotonic() + 10
        while store.get(bad.job_id).phase != "ERROR" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.get(bad.job_id).error_message == "Could not parse: fail"
        slow = store.create("tap", [("QUERY", "slow")], execution_duration=1,
                            retention_s=60)
        runner.run(slow.job_id)
        deadline = time.monotonic() + 10
        while store.get(slow.job_id).phase not in ("ABORTED",) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        aborted = store.get(slow.job_id)
        assert aborted.phase == "ABORTED" and "execution duration" in aborted.error_message
        assert store.result(slow.job_id, "result") is None
    finally:
        runner.close()


def test_streamed_results_are_stored_in_parts_and_a_late_failure_fails_the_job(store):
    """A result given as pieces is stored in parts of PART_BYTES and read back part by
    part; a failure after some pieces makes the job ERROR without a result; a result
    stored whole (before parts existed) is still served."""
    from vo_service.protocols import uws_jobs

    piece = b"x" * (uws_jobs.PART_BYTES // 3 + 1)

    def execute(job, cancelled):
        def pieces():
            yield from [piece] * 7
            if job.parameter("QUERY") == "late":
                raise JobError("failed after the first rows")
        return "text/csv", pieces()

    runner = _runner(store, tap=execute)
    try:
        ok, late = _new(store), store.create("tap", [("QUERY", "late")],
                                              execution_duration=60, retention_s=60)
        for job in (ok, late):
            runner.run(job.job_id)
        done = wait_for_change(store, ok.job_id, -1, None, cap_s=10)
        done = wait_for_change(store, ok.job_id, -1, None, cap_s=10)
        assert done.phase == "COMPLETED" and done.results[0].size == 7 * len(piece)
        mime, parts = store.result_pieces(ok.job_id, "result")
        parts = list(parts)
        assert mime == "text/csv" and len(parts) == 3 and b"".join(parts) == piece * 7
        deadline = time.monotonic() + 10
        while store.get(late.job_id).phase != "ERROR" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.get(late.job_id).error_message == "failed after the first rows"
        assert store.result(late.job_id, "result") is None
        assert store._query("SELECT count(*) FROM uws_result_parts WHERE job_id = ?",
                            (late.job_id,)) == [(0,)]
    finally:
        runner.close()
    legacy = _new(store)
    store._execute("INSERT INTO uws_results (job_id, result_id, mime, content) VALUES "
                   "(?, ?, ?, ?)", (legacy.job_id, "result", "text/plain", b"whole"))
    assert store.result(legacy.job_id, "result") == ("text/plain", b"whole")
    assert store.get(legacy.job_id).results[0].size == 5


def test_orphaned_job_is_requeued_and_finished_by_another_runner(store):
    job = _new(store)
    store.transition(job.job_id, ["PENDING"], "EXECUTING", runner="dead:1",
                     heartbeat=time.time() - 3600, start_time=utc_now())
    runner = _runner(store, tap=lambda job, cancelled: ("text/plain", b"again"))
    try:
        deadline = time.monotonic() + 10
        while store.get(job.job_id).phase != "COMPLETED" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.result(job.job_id, "result") == ("text/plain", b"again")
    finally:
        runner.close()


def test_wait_returns_at_once_when_the_phase_differs_and_is_capped(store):
    job = _new(store)
    start = time.monotonic()
    assert wait_for_change(store, job.job_id, 30, "EXECUTING", cap_s=5).phase == "PENDING"
    assert time.monotonic() - start < 1
    start = time.monotonic()
    assert wait_for_change(store, job.job_id, -1, None, cap_s=0.5).phase == "PENDING"
    assert 0.4 < time.monotonic() - start < 3


def test_expired_jobs_are_destroyed(store):
    job = store.create("tap", [], execution_duration=10, retention_s=1)
    assert store.destroy_expired(utc_now() + dt.timedelta(seconds=5)) == 1
    assert store.get(job.job_id) is None


def test_job_document_follows_the_schema_order_and_nils(store):
    job = _new(store, run_id="r1")
    url = f"https://vo.example.org/tap/async/{job.job_id}"
    root = ET.fromstring(job_document(job, url))
    assert root.get("version") == "1.1"
    names = [child.tag.split("}")[1] for child in root]
    assert names == ["jobId", "runId", "ownerId", "phase", "quote", "creationTime",
                     "startTime", "endTime", "executionDuration", "destruction",
                     "parameters", "results"]
    assert root.find("uws:ownerId", NS).get(f"{{{NS['xsi']}}}nil") == "true"
    assert root.find("uws:destruction", NS).text.endswith("Z")
    store.transition(job.job_id, ["PENDING"], "ERROR", error_type="fatal",
                     error_message="bad <query>")
    failed = ET.fromstring(job_document(store.get(job.job_id), url))
    assert failed.find("uws:errorSummary/uws:message", NS).text == "bad <query>"
    listing = ET.fromstring(jobs_document([store.get(job.job_id)], lambda i: f"{url}"))
    assert listing.find("uws:jobref", NS).get(f"{{{NS['xlink']}}}href") == url
