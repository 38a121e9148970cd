"""``/tap/async``: TAP 1.1 asynchronous queries as UWS 1.1 jobs.

The job list and job creation (303 to the job); the job resources ``phase``, ``quote``,
``executionduration``, ``destruction``, ``error``, ``parameters``, ``owner``, ``results``
and ``results/result`` (UWS 1.1 sec. 2.2). Jobs live in the store's database (SQLite: a
``.uws.sqlite`` file beside the atlas, since ingest replaces the atlas file), so a
restarted service still has them; the runner starts with the server, and jobs a dead
server left EXECUTING go back to the queue and run again (``protocols.uws``).

Who may do what (UWS 1.1 sec. 2.2.3 leaves authorisation to the service; DALI 1.1
sec. 2.1):

* A job's URL is a capability: its ID is 128 random bits (``secrets``), and whoever holds
  the URL may read the job and its results. Clients that keep no cookies (``stilts
  tapquery``, taplint, pyvo without a session) use jobs by their URL alone.
* The owner of a job is the authenticated user when an authenticating front end sets
  ``REMOTE_USER``, otherwise the holder of the owner cookie (``cj_uws_owner``, a random
  token set on the response that creates a client's first job; only its SHA-256 is kept).
* The job list (UWS 1.1 sec. 2.2.2.1) shows a client only the jobs of its owner; it is
  empty for a client without one.
* A change (PHASE, DESTRUCTION, EXECUTIONDURATION, parameters, DELETE) from a client
  whose owner differs from the job's is refused with HTTP 403.
* CORS (``web.errors``): ``DELETE`` is offered to browsers only on job URLs, where this
  check applies; browsers send no cookie with ``Access-Control-Allow-Origin: *``.

Values are checked before they are stored: times within years 1970-9999, no control
characters XML 1.0 cannot carry (UWS documents are XML), job IDs of the form the
service makes (anything else is 404 without reaching the database).

Blocking WAIT (UWS 1.1 sec. 2.2.1.1) holds a request thread, so at most
``max_blocking_waits`` requests of a process block at once (0: half its request threads),
each for at most ``wait_cap_s``; any other WAIT returns after at most half a second, as
the standard allows (the server may return before the WAIT period), so the other threads
stay free for other requests.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
import threading
from dataclasses import replace
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, request

from vo_service.protocols import uws
from vo_service.protocols.tap import TapError, parse_query, run_query
from vo_service.protocols.uws_jobs import FINAL_PHASES, JobStore, utc_now
from vo_service.store import Store
from vo_service.store.pool import PooledConnections

from .errors import VOError
from .params import params
from .stores import current_store
from .tap import _part, _schema, _settings
from .urls import base_url

__all__ = ["blueprint", "close_jobs", "start_jobs"]

blueprint = Blueprint("tap_async", __name__)

_INTERNAL = "cj:"  # job parameters the service keeps for itself (not shown to clients)
_XML = "text/xml"
_COOKIE = "cj_uws_owner"
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: characters XML 1.0 cannot carry (sec. 2.2 Char), refused in stored values
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MIN_YEAR, _MAX_YEAR = 1970, 9999
#: how long a WAIT blocks when every blocking slot is taken: TOPCAT re-sends WAIT=-1 as
#: soon as it is answered (starjava UwsJob.rereadInfo), so an answer at once would make
#: it poll in a tight loop
_BUSY_WAIT_S = 0.5
_lock = threading.Lock()


def _jobs() -> tuple[JobStore, uws.JobRunner]:
    """The job store and runner of this process, created on first use."""
    return start_jobs(current_app._get_current_object())


def start_jobs(app) -> tuple[JobStore, uws.JobRunner]:
    """Open the job store and start this process's runner (the server does it at start,
    so jobs a dead server left EXECUTING are recovered without waiting for a request)."""
    with _lock:
        state = app.extensions.get("cassisjuice.uws")
        if state is None:
            with app.app_context():
                store = current_store()
            if store.dialect == "sqlite":
                import sqlite3

                path = store.path.with_name(store.path.name + ".uws.sqlite")
                jobs = JobStore(lambda: sqlite3.connect(path, timeout=30), "sqlite")
            else:  # the uws role's URL when the roles are set up (store/roles.py)
                settings = app.config["CASSISJUICE_SETTINGS"]
                job_store = store if not settings.jobs_store_url else Store(
                    settings.jobs_store_url, store.resource)
                connections = PooledConnections(
                    lambda: job_store.connect(readonly=False), job_store.url,
                    max_size=app.config.get("CASSISJUICE_THREADS", 4) + 4)
                try:
                    jobs = JobStore(connections, "postgresql")
                except Exception:  # e.g. the database is down: the next use retries
                    connections.close()
                    raise
                app.extensions["cassisjuice.uws_pool"] = connections
            settings = app.config["CASSISJUICE_SETTINGS"]
            runner = uws.JobRunner(jobs, {"tap": _executor(app)},
                                   threads=settings.uws_runner_threads)
            waits = settings.max_blocking_waits or max(
                1, app.config.get("CASSISJUICE_THREADS", 4) // 2)
            app.extensions["cassisjuice.uws_waits"] = threading.BoundedSemaphore(waits)
            state = app.extensions["cassisjuice.uws"] = (jobs, runner)
        return state


def close_jobs(app) -> None:
    """Stop this process's job runner (the serve command calls it at shutdown)."""
    state = app.extensions.pop("cassisjuice.uws", None)
    if state is not None:
        state[1].close()
    pool = app.extensions.pop("cassisjuice.uws_pool", None)
    if pool is not None:
        pool.close()


def _executor(app):
    def execute(job, cancelled):
        with app.app_context():
            settings = app.config["CASSISJUICE_SETTINGS"]

            def part(name: str) -> bytes | None:
                encoded = job.parameter(f"{_INTERNAL}upload:{name}")
                return None if encoded is None else base64.b64decode(encoded)

            try:
                tap = parse_query(job.parameter, part, settings, binary_default=True)
                pieces = run_query(current_store(), _schema(), tap, job.execution_duration
                                   or settings.async_execution_duration_s,
                                   job.parameter(f"{_INTERNAL}base_url") or "",
                                   cancelled=cancelled, errors_in_band=False)
            except TapError as exc:
                raise uws.JobError(str(exc)) from exc
            return tap.mime, _job_errors(pieces)
    return execute


def _job_errors(pieces):
    """The result's pieces, a failure while they are produced being the job's error."""
    try:
        yield from pieces
    except TapError as exc:
        raise uws.JobError(str(exc)) from exc
    finally:
        pieces.close()


# ---------------------------------------------------------------------- owners
def _owner() -> str | None:
    """The owner the request speaks for (see the module docstring), or None."""
    user = request.environ.get("REMOTE_USER")
    if user:
        return f"user:{user}"
    token = request.cookies.get(_COOKIE)
    if token and len(token) <= 200:
        return "cookie:" + hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    return None


def _check_owner(job) -> None:
    """Refuse a change from a client that speaks for another owner than the job's."""
    mine = _owner()
    if job.owner_id is not None and mine is not None and mine != job.owner_id:
        raise VOError(f"job {job.job_id} belongs to another owner: it cannot be changed "
                      "by this client", 403)


def _job_url(job_id: str) -> str:
    return f"{base_url()}/tap/async/{job_id}"


def _visible(job):
    """The job as clients see it: without the service's internal parameters, and with
    an owner name only for authenticated users (a cookie owner is nobody's name)."""
    owner = job.owner_id[5:] if job.owner_id and job.owner_id.startswith("user:") else None
    return replace(job, owner_id=owner, parameters=tuple(
        p for p in job.parameters if not p[0].startswith(_INTERNAL)))


def _get_job(job_id: str, change: bool = False):
    if not _JOB_ID.fullmatch(job_id):
        raise VOError("no such job: job IDs are letters, digits, '-' and '_'", 404)
    jobs, _ = _jobs()
    job = jobs.get(job_id)
    if job is None:
        raise VOError(f"no job {job_id} (it may have been deleted or destroyed)", 404)
    if change:
        _check_owner(job)
    return job


# ---------------------------------------------------------------------- values
def _checked(name: str, value: str) -> str:
    if _CONTROL.search(value):
        raise VOError(f"{name} contains a control character (XML 1.0 cannot carry it): "
                      "remove it", 400)
    return value


def _time(name: str, text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise VOError(f"{name} must be an ISO 8601 time, e.g. 2030-01-01T00:00:00Z",
                      400) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if not _MIN_YEAR <= when.astimezone(dt.UTC).year <= _MAX_YEAR:
        raise VOError(f"{name} must be a time between the years {_MIN_YEAR} and "
                      f"{_MAX_YEAR}", 400)
    return when


def _client_parameters() -> list[tuple[str, str]]:
    p = params()
    out = []
    for name in p.names():
        for value in p.getlist(name):
            if name in ("PHASE", "ACTION") or name.lower().startswith(_INTERNAL):
                continue
            out.append((_checked("a parameter name", name), _checked(name, value)))
    return out


def _upload_parameters() -> list[tuple[str, str]]:
    """Inline upload parts of this request, kept with the job (base64)."""
    spec = params().get("UPLOAD") or ""
    out = []
    for item in spec.split(";"):
        _, _, uri = item.partition(",")
        uri = uri.strip()
        if uri.startswith("param:"):
            content = _part(uri[len("param:"):])
            if content is None:
                raise VOError(f"UPLOAD: the request has no part {uri[6:]!r}", 400)
            if len(content) > _settings().upload_limit_bytes:
                raise VOError("UPLOAD larger than the upload limit", 400)
            out.append((f"{_INTERNAL}upload:{uri[6:]}",
                        base64.b64encode(content).decode("ascii")))
    return out


# ---------------------------------------------------------------------- job list
@blueprint.route("/tap/async", methods=["GET"])
def job_list():
    jobs, _ = _jobs()
    p = params()
    phases = [v.upper() for v in p.getlist("PHASE")]
    after = _time("AFTER", p.get("AFTER")) if p.get("AFTER") else None
    last = None
    if p.get("LAST"):
        try:
            last = int(p.get("LAST"))
            if last <= 0:
                raise ValueError
        except ValueError as exc:
            raise VOError("LAST must be a positive integer", 400) from exc
        last = min(last, 100_000)
    owner = _owner()
    listed = [] if owner is None else jobs.list(phases, after, last, job_type="tap",
                                                owner_id=owner)
    return Response(uws.jobs_document([_visible(j) for j in listed], _job_url),
                    mimetype=_XML)


@blueprint.route("/tap/async", methods=["POST"])
def create_job():
    jobs, runner = _jobs()
    settings = _settings()
    parameters = _client_parameters() + _upload_parameters() + [
        (f"{_INTERNAL}base_url", base_url())]
    token = None
    owner = _owner()
    if owner is None:
        token = secrets.token_urlsafe(32)
        owner = "cookie:" + hashlib.sha256(token.encode()).hexdigest()
    job = jobs.create("tap", parameters, execution_duration=settings.async_execution_duration_s,
                      retention_s=settings.job_retention_s, run_id=params().get("RUNID"),
                      owner_id=owner)
    if (params().get("PHASE") or "").upper() == "RUN":
        runner.run(job.job_id)
    response = redirect(_job_url(job.job_id), 303)
    if token is not None:
        public = urlsplit(base_url())
        response.set_cookie(_COOKIE, token, max_age=settings.job_retention_s,
                            path=f"{public.path}/tap/async", httponly=True, samesite="Lax",
                            secure=public.scheme == "https")
    return response


# ---------------------------------------------------------------------- one job
@blueprint.route("/tap/async/<job_id>", methods=["GET"])
def job_document(job_id: str):
    job = _get_job(job_id)
    p = params()
    if p.get("WAIT") is not None:
        try:
            wait = float(p.get("WAIT"))
        except ValueError as exc:
            raise VOError("WAIT must be a number of seconds", 400) from exc
        jobs, _ = _jobs()
        phase = (p.get("PHASE") or "").upper() or None
        waits = current_app.extensions["cassisjuice.uws_waits"]
        if waits.acquire(blocking=False):
            try:
                job = uws.wait_for_change(jobs, job_id, wait, phase,
                                          _settings().wait_cap_s) or job
            finally:
                waits.release()
        else:  # UWS 1.1 sec. 2.2.1.1 lets the server return early: after a short pause
            job = uws.wait_for_change(jobs, job_id, wait, phase, _BUSY_WAIT_S) or job
    return Response(uws.job_document(_visible(job), _job_url(job_id)), mimetype=_XML)


@blueprint.route("/tap/async/<job_id>", methods=["POST", "DELETE"])
def job_action(job_id: str):
    _get_job(job_id, change=True)
    if request.method == "POST" and (params().get("ACTION") or "").upper() != "DELETE":
        raise VOError("POST to a job takes ACTION=DELETE", 400)
    jobs, runner = _jobs()
    runner.abort(job_id)
    jobs.delete(job_id)
    return redirect(f"{base_url()}/tap/async", 303)


@blueprint.route("/tap/async/<job_id>/phase", methods=["GET", "POST"])
def job_phase(job_id: str):
    job = _get_job(job_id, change=request.method == "POST")
    if request.method == "GET":
        return Response(job.phase, mimetype="text/plain")
    _, runner = _jobs()
    phase = (params().get("PHASE") or "").upper()
    if phase == "RUN":
        runner.run(job_id)
    elif phase == "ABORT":
        runner.abort(job_id)
    else:
        raise VOError("PHASE must be RUN or ABORT", 400)
    return redirect(_job_url(job_id), 303)


@blueprint.route("/tap/async/<job_id>/executionduration", methods=["GET", "POST"])
def job_duration(job_id: str):
    job = _get_job(job_id, change=request.method == "POST")
    if request.method == "POST":
        jobs, _ = _jobs()
        try:
            value = int(params().get("EXECUTIONDURATION") or "")
            if value < 0:
                raise ValueError
        except ValueError as exc:
            raise VOError("EXECUTIONDURATION must be a non-negative integer", 400) from exc
        if job.phase not in ("PENDING",):
            raise VOError(f"the job is {job.phase}: only a PENDING job can change", 400)
        limit = _settings().async_execution_duration_s  # 0 = unlimited: the service's limit
        jobs.set_times(job_id, execution_duration=min(value or limit, limit))
        return redirect(_job_url(job_id), 303)
    return Response(str(job.execution_duration), mimetype="text/plain")


@blueprint.route("/tap/async/<job_id>/destruction", methods=["GET", "POST"])
def job_destruction(job_id: str):
    job = _get_job(job_id, change=request.method == "POST")
    if request.method == "POST":
        jobs, _ = _jobs()
        when = _time("DESTRUCTION", params().get("DESTRUCTION") or "")
        now = utc_now()
        latest = now + dt.timedelta(seconds=_settings().job_retention_s)
        jobs.set_times(job_id, destruction=max(now, min(when, latest)))
        return redirect(_job_url(job_id), 303)
    stamp = uws.iso_time(job.destruction) or ""
    return Response(stamp, mimetype="text/plain")


@blueprint.route("/tap/async/<job_id>/quote", methods=["GET"])
def job_quote(job_id: str):
    _get_job(job_id)
    return Response("", mimetype="text/plain")  # no estimate (UWS 1.1 sec. 2.2.3.4)


@blueprint.route("/tap/async/<job_id>/owner", methods=["GET"])
def job_owner(job_id: str):
    job = _visible(_get_job(job_id))
    return Response(job.owner_id or "", mimetype="text/plain")


@blueprint.route("/tap/async/<job_id>/error", methods=["GET"])
def job_error(job_id: str):
    from vo_service.votable import VOTABLE_MIME, error_votable

    job = _get_job(job_id)
    if job.phase not in ("ERROR", "ABORTED"):
        raise VOError(f"the job is {job.phase}: it has no error", 404)
    return Response(error_votable(job.error_message or "the job failed"),
                    mimetype=VOTABLE_MIME)


@blueprint.route("/tap/async/<job_id>/parameters", methods=["GET", "POST"])
def job_parameters(job_id: str):
    job = _get_job(job_id, change=request.method == "POST")
    if request.method == "POST":
        jobs, _ = _jobs()
        if not jobs.set_parameters(job_id, _client_parameters() + _upload_parameters()):
            raise VOError(f"the job is {job.phase}: only a PENDING job takes parameters",
                          400)
        return redirect(_job_url(job_id), 303)
    return Response(uws.parameters_document(_visible(job)), mimetype=_XML)


@blueprint.route("/tap/async/<job_id>/results", methods=["GET"])
def job_results(job_id: str):
    job = _get_job(job_id)
    return Response(uws.results_document(job, _job_url(job_id)), mimetype=_XML)


@blueprint.route("/tap/async/<job_id>/results/<result_id>", methods=["GET"])
def job_result(job_id: str, result_id: str):
    job = _get_job(job_id)
    jobs, _ = _jobs()
    # a result is written while the job executes: served once it is COMPLETED
    found = jobs.result_pieces(job_id, result_id) if job.phase == "COMPLETED" else None
    if found is None:
        state = "has not finished" if job.phase not in FINAL_PHASES else \
            f"is {job.phase}"
        raise VOError(f"no result {result_id} of job {job_id}: the job {state}", 404)
    mime, pieces = found
    return Response(pieces, mimetype=mime)
