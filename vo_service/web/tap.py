"""``/tap``: TAP 1.1 sync queries, VOSI and DALI examples (async jobs: ``tap_async``).

* ``/tap/sync`` (GET, POST): the result, or the DALI error VOTable with HTTP 400.
* ``/tap/async``: UWS 1.1 jobs, in ``web.tap_async``.
* ``/tap/capabilities``, ``/tap/availability``, ``/tap/tables`` (and ``/tap/tables/<t>``),
  ``/tap/examples``.

The ADQL schema (resdir tables + TAP_SCHEMA) is built once per store.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, request

from vo_service.adql.schema import Schema, atlas_schema
from vo_service.protocols.tap import TapError, parse_query, run_query
from vo_service.protocols.tap_metadata import (
    examples_document,
    table_document,
    tables_document,
    tap_capabilities,
)
from vo_service.protocols.vosi import availability_document, capabilities_document

from .direct_tap import FAILURE
from .errors import VOError
from .html_pages import tap_help
from .params import params
from .stores import current_store, store_available, store_of
from .urls import base_url

__all__ = ["blueprint", "schema_of"]

blueprint = Blueprint("tap", __name__)

_XML = "text/xml"
_STARTED = dt.datetime.now(dt.UTC)


def _settings():
    return current_app.config["CASSISJUICE_SETTINGS"]


def schema_of(app) -> Schema:
    """The ADQL schema of ``app``'s store, built once per store."""
    store = store_of(app)
    cached = app.extensions.get("cassisjuice.adql_schema")
    if cached is None or cached[0] is not store:
        cached = (store, atlas_schema(store))
        app.extensions["cassisjuice.adql_schema"] = cached
    return cached[1]


def _schema() -> Schema:
    return schema_of(current_app)


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
    return tap_help()


@blueprint.route("/tap/sync", methods=["GET", "POST"])
def sync():
    """The result, streamed as the rows come (protocols.tap.run_query): the user's errors
    found before the first rows are a 400 with the DALI error document. A request that
    ``web.direct_tap`` read but did not answer comes with its failure, raised here as it
    would have been raised below."""
    failure = request.environ.pop(FAILURE, None)
    if isinstance(failure, TapError):
        raise VOError(str(failure), 400) from failure
    if failure is not None:
        raise failure
    p = params()
    tap = _query_or_error(p.get, _part)
    try:
        pieces = run_query(current_store(), _schema(), tap, _settings().sync_timeout_s,
                           base_url())
    except TapError as exc:
        raise VOError(str(exc), 400) from exc
    return Response(pieces, mimetype=tap.mime)


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
