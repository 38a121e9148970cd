"""``/tap``: TAP 1.1 sync and async (UWS 1.1), VOSI and DALI examples (issue 5).

* ``/tap/sync`` (GET, POST): the result, or the DALI error VOTable with HTTP 400.
* ``/tap/async``: the UWS job list and job creation (303 to the job); the job resources
  ``phase``, ``quote``, ``executionduration``, ``destruction``, ``error``, ``parameters``,
  ``owner``, ``results`` and ``results/result`` (UWS 1.1 sec. 2.2). Jobs live in the
  store's database (SQLite: a ``.uws.sqlite`` file beside the atlas, since ingest
  replaces the atlas file), so a restarted service still has them and re-runs the ones
  that were executing (``protocols.uws``).
* ``/tap/capabilities``, ``/tap/availability``, ``/tap/tables`` (and ``/tap/tables/<t>``),
  ``/tap/examples``.

The ADQL schema (resdir tables + TAP_SCHEMA) is built once per store.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading

from flask import Blueprint, Response, current_app, redirect, request

from vo_service.adql.schema import Schema, atlas_schema
from vo_service.protocols import uws
from vo_service.protocols.tap import TapError, parse_query, run_query
from vo_service.protocols.tap_metadata import (
    examples_document,
    table_document,
    tables_document,
    tap_capabilities,
)
from vo_service.protocols.uws_jobs import FINAL_PHASES, JobStore, utc_now
from vo_service.protocols.vosi import availability_document, capabilities_document

from .errors import VOError
from .params import params
from .stores import current_store, store_available
from .urls import base_url

__all__ = ["blueprint"]

blueprint = Blueprint("tap", __name__)

_INTERNAL = "cj:"  # job parameters the service keeps for itself (not shown to clients)
_XML = "text/xml"
_STARTED = dt.datetime.now(dt.UTC)
_lock = threading.Lock()


def _settings():
    return current_app.config["CASSISJUICE_SETTINGS"]


def _schema() -> Schema:
    store = current_store()
    cached = current_app.extensions.get("cassisjuice.adql_schema")
    if cached is None or cached[0] is not store:
        cached = (store, atlas_schema(store))
        current_app.extensions["cassisjuice.adql_schema"] = cached
    return cached[1]


def _jobs() -> tuple[JobStore, uws.JobRunner]:
    """The job store and runner of this process, created on first use."""
    with _lock:
        state = current_app.extensions.get("cassisjuice.uws")
        if state is None:
            store = current_store()
            if store.dialect == "sqlite":
                import sqlite3

                path = store.path.with_name(store.path.name + ".uws.sqlite")
                jobs = JobStore(lambda: sqlite3.connect(path, timeout=30), "sqlite")
            else:
                jobs = JobStore(lambda: store.connect(readonly=False), "postgresql")
            app = current_app._get_current_object()
            runner = uws.JobRunner(jobs, {"tap": _executor(app)})
            state = current_app.extensions["cassisjuice.uws"] = (jobs, runner)
        return state


def _executor(app):
    def execute(job, cancelled):
        with app.app_context():
            settings = app.config["CASSISJUICE_SETTINGS"]

            def part(name: str) -> bytes | None:
                encoded = job.parameter(f"{_INTERNAL}upload:{name}")
                return None if encoded is None else base64.b64decode(encoded)

            try:
                tap = parse_query(job.parameter, part, settings, binary_default=True)
                content = run_query(current_store(), _schema(), tap, job.execution_duration
                                    or settings.async_execution_duration_s,
                                    job.parameter(f"{_INTERNAL}base_url") or "")
            except TapError as exc:
                raise uws.JobError(str(exc)) from exc
            return tap.mime, content
    return execute


def _query_or_error(get, part):
    try:
        return parse_query(get, part, _settings(), binary_default=request.method == "POST")
    except TapError as exc:
        raise VOError(str(exc), 400) from exc


def _part(name: str) -> bytes | None:
    storage = params().file(name)
    return None if storage is None else storage.read()


# ---------------------------------------------------------------------- sync
@blueprint.route("/tap", methods=["GET"])
def root():
    tap = f"{base_url()}/tap"
    page = (f"<!DOCTYPE html><html><head><title>CASSISjuice TAP</title></head><body>"
            f"<h1>CASSISjuice TAP service</h1><p>Table Access Protocol 1.1 endpoint for "
            f"ADQL queries on the CASSISjuice atlas of Spitzer/IRS spectra. Point TOPCAT, "
            f"pyvo or any TAP client at <code>{tap}</code>.</p><ul>"
            f'<li><a href="{tap}/tables">tables</a></li>'
            f'<li><a href="{tap}/examples">example queries</a></li>'
            f'<li><a href="{tap}/capabilities">capabilities</a></li></ul></body></html>')
    return Response(page, mimetype="text/html")


@blueprint.route("/tap/sync", methods=["GET", "POST"])
def sync():
    p = params()
    tap = _query_or_error(p.get, _part)
    try:
        content = run_query(current_store(), _schema(), tap, _settings().sync_timeout_s,
                            base_url())
    except TapError as exc:
        raise VOError(str(exc), 400) from exc
    return Response(content, mimetype=tap.mime)


# ---------------------------------------------------------------------- VOSI, examples
@blueprint.route("/tap/capabilities", methods=["GET"])
def capabilities():
    return Response(capabilities_document(tap_capabilities(base_url(), _settings())),
                    mimetype=_XML)


@blueprint.route("/tap/availability", methods=["GET"])
def availability():
    ok, note = store_available()
    return Response(availability_document(ok, note, _STARTED), mimetype=_XML)


@blueprint.route("/tap/tables", methods=["GET"])
def tables():
    detail = (params().get("DETAIL") or "max").lower()
    if detail not in ("min", "max"):
        raise VOError("DETAIL must be min or max", 400)
    return Response(tables_document(_schema(), detail == "max"), mimetype=_XML)


@blueprint.route("/tap/tables/<name>", methods=["GET"])
def one_table(name: str):
    for table in _schema().tables:
        if table.qualified.lower() == name.lower():
            return Response(table_document(table), mimetype=_XML)
    raise VOError(f"no table {name}", 404)


@blueprint.route("/tap/examples", methods=["GET"])
def examples():
    return Response(examples_document(f"{base_url()}/tap"),
                    mimetype="application/xhtml+xml")


# ---------------------------------------------------------------------- async (UWS)
def _job_url(job_id: str) -> str:
    return f"{base_url()}/tap/async/{job_id}"


def _visible(job):
    """The job as clients see it: without the service's internal parameters."""
    from dataclasses import replace

    return replace(job, parameters=tuple(p for p in job.parameters
                                         if not p[0].startswith(_INTERNAL)))


def _get_job(job_id: str):
    jobs, _ = _jobs()
    job = jobs.get(job_id)
    if job is None:
        raise VOError(f"no job {job_id} (it may have been deleted or destroyed)", 404)
    return job


def _client_parameters() -> list[tuple[str, str]]:
    p = params()
    out = []
    for name in p.names():
        for value in p.getlist(name):
            if name in ("PHASE", "ACTION") or name.lower().startswith(_INTERNAL):
                continue
            out.append((name, value))
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


@blueprint.route("/tap/async", methods=["GET"])
def job_list():
    jobs, _ = _jobs()
    p = params()
    phases = [v.upper() for v in p.getlist("PHASE")]
    after = None
    if p.get("AFTER"):
        try:
            after = dt.datetime.fromisoformat(p.get("AFTER").replace("Z", "+00:00"))
        except ValueError as exc:
            raise VOError("AFTER must be an ISO 8601 time", 400) from exc
    last = None
    if p.get("LAST"):
        try:
            last = int(p.get("LAST"))
            if last <= 0:
                raise ValueError
        except ValueError as exc:
            raise VOError("LAST must be a positive integer", 400) from exc
    listed = jobs.list(phases, after, last, job_type="tap")
    return Response(uws.jobs_document(listed, _job_url), mimetype=_XML)


@blueprint.route("/tap/async", methods=["POST"])
def create_job():
    jobs, runner = _jobs()
    settings = _settings()
    parameters = _client_parameters() + _upload_parameters() + [
        (f"{_INTERNAL}base_url", base_url())]
    run_id = params().get("RUNID")
    job = jobs.create("tap", parameters, execution_duration=settings.async_execution_duration_s,
                      retention_s=settings.job_retention_s, run_id=run_id)
    if (params().get("PHASE") or "").upper() == "RUN":
        runner.run(job.job_id)
    return redirect(_job_url(job.job_id), 303)


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
        job = uws.wait_for_change(jobs, job_id, wait, phase, _settings().wait_cap_s) or job
    return Response(uws.job_document(_visible(job), _job_url(job_id)), mimetype=_XML)


@blueprint.route("/tap/async/<job_id>", methods=["POST", "DELETE"])
def job_action(job_id: str):
    _get_job(job_id)
    if request.method == "POST" and (params().get("ACTION") or "").upper() != "DELETE":
        raise VOError("POST to a job takes ACTION=DELETE", 400)
    jobs, runner = _jobs()
    runner.abort(job_id)
    jobs.delete(job_id)
    return redirect(f"{base_url()}/tap/async", 303)


@blueprint.route("/tap/async/<job_id>/phase", methods=["GET", "POST"])
def job_phase(job_id: str):
    job = _get_job(job_id)
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
    job = _get_job(job_id)
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
        jobs.set_times(job_id, execution_duration=min(value or 10**9, _settings()
                                                      .async_execution_duration_s))
        return redirect(_job_url(job_id), 303)
    return Response(str(job.execution_duration), mimetype="text/plain")


@blueprint.route("/tap/async/<job_id>/destruction", methods=["GET", "POST"])
def job_destruction(job_id: str):
    job = _get_job(job_id)
    if request.method == "POST":
        jobs, _ = _jobs()
        text = params().get("DESTRUCTION") or ""
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise VOError("DESTRUCTION must be an ISO 8601 time", 400) from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        latest = utc_now() + dt.timedelta(seconds=_settings().job_retention_s)
        jobs.set_times(job_id, destruction=min(when, latest))
        return redirect(_job_url(job_id), 303)
    stamp = job.destruction.strftime("%Y-%m-%dT%H:%M:%SZ") if job.destruction else ""
    return Response(stamp, mimetype="text/plain")


@blueprint.route("/tap/async/<job_id>/quote", methods=["GET"])
def job_quote(job_id: str):
    _get_job(job_id)
    return Response("", mimetype="text/plain")  # no estimate (UWS 1.1 sec. 2.2.3.4)


@blueprint.route("/tap/async/<job_id>/owner", methods=["GET"])
def job_owner(job_id: str):
    job = _get_job(job_id)
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
    job = _get_job(job_id)
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
    found = jobs.result(job_id, result_id)
    if found is None:
        state = "has not finished" if job.phase not in FINAL_PHASES else \
            f"is {job.phase}"
        raise VOError(f"no result {result_id} of job {job_id}: the job {state}", 404)
    mime, content = found
    return Response(content, mimetype=mime)


def close_jobs(app) -> None:
    """Stop this process's job runner (the serve command calls it at shutdown)."""
    state = app.extensions.pop("cassisjuice.uws", None)
    if state is not None:
        state[1].close()

