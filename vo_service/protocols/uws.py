"""UWS 1.1 documents, blocking waits and the job runner (UWS 1.1; standards.md sec. 3).

* :func:`job_document`, :func:`jobs_document`: the ``uws:job`` and ``uws:jobs`` XML, with
  ``version="1.1"`` (TOPCAT blocks on WAIT only for 1.1), the JobSummary element order of
  UWS.xsd, nil elements written as ``xsi:nil``, absolute result hrefs and an
  ``errorSummary`` with its ``message`` child (pyvo reads it).
* :func:`wait_for_change`: ``WAIT=n&PHASE=p`` (sec. 2.2.1.2), capped server-side so a
  client's socket timeout is never reached.
* :class:`JobRunner`: executes queued jobs in threads of this process; phases change by
  compare-and-set in the :class:`~vo_service.protocols.uws_jobs.JobStore`, heartbeats mark
  the jobs it runs, and jobs of a runner that fell silent are re-queued and run again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from .uws_jobs import ACTIVE_PHASES, Job, JobStore, utc_now

__all__ = ["JobError", "JobRunner", "iso_time", "job_document", "jobs_document",
           "parameters_document", "results_document", "wait_for_change"]

log = logging.getLogger(__name__)

UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("uws", UWS_NS)
ET.register_namespace("xlink", XLINK_NS)
ET.register_namespace("xsi", XSI_NS)


class JobError(Exception):
    """A job failed for a reason the user should read (the errorSummary message)."""


#: characters XML 1.0 cannot carry (sec. 2.2 Char); a stored value written before they
#: were refused at input is written with U+FFFD in their place, so documents stay XML
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def iso_time(value: dt.datetime | None) -> str | None:
    """A UWS time (UWS 1.1 sec. 2.2.1: ISO 8601, UTC with Z), four-digit year always."""
    if value is None:
        return None
    value = value.astimezone(dt.UTC)
    return f"{value.year:04d}-{value:%m-%dT%H:%M:%S}Z"


_iso = iso_time


def _el(parent: ET.Element, name: str, text: str | None = None, nil: bool = False,
        **attrs: str) -> ET.Element:
    attrs = {k: _NOT_XML.sub("\ufffd", v) for k, v in attrs.items()}
    element = ET.SubElement(parent, f"{{{UWS_NS}}}{name}", attrs)
    if text is not None:
        element.text = _NOT_XML.sub("\ufffd", text)
    elif nil:
        element.set(f"{{{XSI_NS}}}nil", "true")
    return element


def job_document(job: Job, job_url: str) -> bytes:
    """The ``uws:job`` document; ``job_url`` is the absolute public URL of the job."""
    root = ET.Element(f"{{{UWS_NS}}}job", {"version": "1.1"})
    _el(root, "jobId", job.job_id)
    if job.run_id is not None:
        _el(root, "runId", job.run_id)
    _el(root, "ownerId", job.owner_id, nil=True)
    _el(root, "phase", job.phase)
    _el(root, "quote", None, nil=True)
    _el(root, "creationTime", _iso(job.creation_time))
    _el(root, "startTime", _iso(job.start_time), nil=True)
    _el(root, "endTime", _iso(job.end_time), nil=True)
    _el(root, "executionDuration", str(job.execution_duration))
    _el(root, "destruction", _iso(job.destruction), nil=True)
    parameters = _el(root, "parameters")
    for name, value in job.parameters:
        _el(parameters, "parameter", value, id=name)
    _result_elements(_el(root, "results"), job, job_url)
    if job.phase in ("ERROR", "ABORTED") and job.error_message:
        summary = _el(root, "errorSummary", type=job.error_type or "fatal",
                      hasDetail="true" if job.phase == "ERROR" else "false")
        _el(summary, "message", job.error_message)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def parameters_document(job: Job) -> bytes:
    """``uws:parameters`` of a job (UWS 1.1 sec. 2.2.3.1)."""
    root = ET.Element(f"{{{UWS_NS}}}parameters")
    for name, value in job.parameters:
        _el(root, "parameter", value, id=name)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def results_document(job: Job, job_url: str) -> bytes:
    """``uws:results`` of a job (UWS 1.1 sec. 2.2.3.7)."""
    root = ET.Element(f"{{{UWS_NS}}}results")
    _result_elements(root, job, job_url)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _result_elements(parent: ET.Element, job: Job, job_url: str) -> None:
    for result in job.results:
        _el(parent, "result", None, id=result.result_id, **{
            f"{{{XLINK_NS}}}href": f"{job_url}/results/{result.result_id}",
            f"{{{XLINK_NS}}}type": "simple", "mime-type": result.mime,
            "size": str(result.size)})


def jobs_document(jobs: Sequence[Job], job_url: Callable[[str], str]) -> bytes:
    """The ``uws:jobs`` list (UWS 1.1 sec. 2.2.2.1)."""
    root = ET.Element(f"{{{UWS_NS}}}jobs", {"version": "1.1"})
    for job in jobs:
        ref = _el(root, "jobref", id=job.job_id,
                  **{f"{{{XLINK_NS}}}href": job_url(job.job_id),
                     f"{{{XLINK_NS}}}type": "simple"})
        _el(ref, "phase", job.phase)
        if job.run_id is not None:
            _el(ref, "runId", job.run_id)
        _el(ref, "ownerId", job.owner_id, nil=True)
        _el(ref, "creationTime", _iso(job.creation_time))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def wait_for_change(store: JobStore, job_id: str, wait_s: float, phase: str | None,
                    cap_s: float, poll_s: float = 0.25) -> Job | None:
    """Block while the job is active, in ``phase`` if given, for at most
    ``min(wait_s, cap_s)`` seconds (``wait_s < 0``: the cap); return the job then."""
    job = store.get(job_id)
    if job is None or job.phase not in ACTIVE_PHASES or (phase and job.phase != phase):
        return job
    limit = cap_s if wait_s < 0 or wait_s != wait_s else min(wait_s, cap_s)
    start_phase = job.phase
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
        job = store.get(job_id)
        if job is None or job.phase != start_phase:
            return job
    return job


#: what a job type runs: (job, cancelled) -> (result mime type, result bytes or pieces)
Executor = Callable[[Job, Callable[[], bool]], tuple[str, bytes | Iterable[bytes]]]


class JobRunner:
    """Runs the jobs queued in a :class:`JobStore` with this process's threads.

    Parameters
    ----------
    store : JobStore
    executors : dict of job type to callable
        ``(job, cancelled) -> (mime, content)``; raise :class:`JobError` with a message
        for the user, and call ``cancelled()`` often (true once the job is aborted or past
        its execution duration).
    threads : int
        0: this process queues jobs and keeps the store tidy but runs none (the jobs are
        run by other processes' runners, e.g. ``cassisjuice jobs``).
    heartbeat_s : float
        How often running jobs are marked alive; a job silent for 4 heartbeats is
        re-queued by any runner.
    """

    def __init__(self, store: JobStore, executors: dict[str, Executor], threads: int = 2,
                 heartbeat_s: float = 2.0) -> None:
        self.store = store
        self.executors = executors
        self.runner_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.heartbeat_s = heartbeat_s
        self._pool = (ThreadPoolExecutor(max_workers=threads, thread_name_prefix="uws")
                      if threads else None)
        self._running: set[str] = set()
        self._submitted: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._housekeeping, name="uws-housekeeping",
                                        daemon=True)
        self._thread.start()

    def run(self, job_id: str) -> bool:
        """PENDING (or HELD) -> QUEUED and schedule it; False if the job was not
        runnable (UWS 1.1 sec. 2.2.3.5: RUN on a started job changes nothing)."""
        if not self.store.transition(job_id, ["PENDING", "HELD"], "QUEUED"):
            return False
        self._submit(job_id)
        return True

    def _submit(self, job_id: str) -> None:
        if self._pool is None:  # another process's runner takes it from the queue
            return
        with self._lock:
            if job_id in self._submitted:
                return
            self._submitted.add(job_id)
        self._pool.submit(self._execute, job_id)

    def abort(self, job_id: str) -> bool:
        """Abort a job that has not finished (it keeps partial results)."""
        return self.store.transition(job_id, ["PENDING", "QUEUED", "EXECUTING", "HELD",
                                              "SUSPENDED"], "ABORTED", end_time=utc_now(),
                                     error_type="fatal", error_message="aborted by the user")

    def close(self) -> None:
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------
    def _execute(self, job_id: str) -> None:
        start = utc_now()
        claimed = self.store.transition(job_id, ["QUEUED"], "EXECUTING", start_time=start,
                                        runner=self.runner_id, heartbeat=time.time())
        with self._lock:
            self._submitted.discard(job_id)
            if not claimed:
                return  # another runner took it, or it was aborted meanwhile
            self._running.add(job_id)
        try:
            job = self.store.get(job_id)
            if job is None:
                return
            self._run_job(job, start)
        finally:
            with self._lock:
                self._running.discard(job_id)

    def _run_job(self, job: Job, start: dt.datetime) -> None:
        deadline = time.monotonic() + (job.execution_duration or 10**9)
        checked = {"at": 0.0, "aborted": False}

        def cancelled() -> bool:
            if time.monotonic() > deadline:
                return True
            if time.monotonic() - checked["at"] > 0.5:
                current = self.store.get(job.job_id)
                checked.update(at=time.monotonic(),
                               aborted=current is None or current.phase != "EXECUTING")
            return checked["aborted"]

        executor = self.executors.get(job.job_type)
        try:
            if executor is None:
                raise JobError(f"no executor for jobs of type {job.job_type!r}")
            mime, content = executor(job, cancelled)
            # a streamed result runs its query while it is stored: errors still count
            self.store.put_result(job.job_id, "result", mime, content)
        except JobError as exc:
            self.store.delete_results(job.job_id)
            self._finish_error(job, str(exc), deadline)
            return
        except Exception as exc:  # the service failed: logged, the user gets a reference
            log.exception("job %s failed", job.job_id)
            self.store.delete_results(job.job_id)
            self._finish_error(job, f"internal error of the service: {type(exc).__name__}",
                               deadline)
            return
        if time.monotonic() > deadline:
            self.store.delete_results(job.job_id)
            self._finish_error(job, "", deadline)
            return
        if not self.store.transition(job.job_id, ["EXECUTING"], "COMPLETED",
                                     end_time=utc_now()):
            self.store.delete_results(job.job_id)  # aborted meanwhile: no result

    def _finish_error(self, job: Job, message: str, deadline: float) -> None:
        if time.monotonic() > deadline:  # UWS 1.1 sec. 2.1.4: past the duration = ABORT
            self.store.transition(job.job_id, ["EXECUTING"], "ABORTED", end_time=utc_now(),
                                  error_type="fatal", error_message=(
                                      f"execution duration of {job.execution_duration} s "
                                      "exceeded"))
        else:
            self.store.transition(job.job_id, ["EXECUTING"], "ERROR", end_time=utc_now(),
                                  error_type="fatal", error_message=message)

    def _housekeeping(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                now = time.time()
                with self._lock:
                    running = list(self._running)
                for job_id in running:
                    self.store.heartbeat(job_id, self.runner_id, now)
                self.store.requeue_orphans(now, 4 * self.heartbeat_s)
                for job_id in self.store.queued():
                    self._submit(job_id)
                self.store.destroy_expired()
            except Exception:  # keep the thread alive through a database hiccup
                log.exception("UWS housekeeping failed")
