"""TAP sync queries (``GET``/``POST /tap/sync``) answered in front of Flask.

A small TAP query costs the service about half a millisecond of its own, and Flask's
request and response objects, URL matching, form parsing, context and hooks were a third
of it. This path reads the parameters as ``web.params`` does (DALI 1.1 sec. 3.1: names in
any case, the last value wins), checks them and runs the query with the very functions the
route uses (``protocols.tap.parse_query`` and ``run_query``), and answers with the route's
status, headers and bytes.

It answers only well-formed requests of the usual kind: a query string, or a small
``application/x-www-form-urlencoded`` body of valid UTF-8. Everything else goes to the
route unchanged: multipart bodies (uploads), chunked or large bodies, UPLOAD, other
methods. A request it has read but cannot answer (the query refused, the store
unavailable, a fault) also goes on to the route, with its body put back and the exception
in the environ, so the route raises it without running the query a second time and the
error keeps its one form (DALI error VOTable, HTTP 400, or 503, or 500 logged:
``web.errors``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from werkzeug.http import parse_options_header
from werkzeug.utils import get_content_type

from vo_service.protocols.tap import parse_query, run_query

from .errors import cors_headers
from .urls import base_url

__all__ = ["FAILURE", "PATH", "answer"]

PATH = "/tap/sync"
#: the environ key under which a failure of this path reaches the route
FAILURE = "cassisjuice.tap_sync_failure"
#: bodies up to this size are read here (an ADQL query is a few hundred bytes); larger
#: ones go to Flask, which applies its form size limits
MAX_BODY = 64 * 1024
_FORM = "application/x-www-form-urlencoded"
#: the CORS headers of every answer outside UWS
_CORS = cors_headers()
#: an app's base URLs are kept per (scheme, Host, server name and port, script name, the
#: settings and listening host): ``web.urls.base_url`` depends on nothing else; at most
#: this many, since the Host header is the client's to choose
_MAX_BASES = 64


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Values per upper-case name as ``web.params.Params`` has them: the values of each
    spelling together, the spellings in the order they first appear."""
    spellings: dict[str, list[str]] = {}
    for key, value in pairs:
        spellings.setdefault(key, []).append(value)
    values: dict[str, list[str]] = {}
    for key, found in spellings.items():
        values.setdefault(key.upper(), []).extend(found)
    return values


def _parameters(environ: dict) -> tuple[dict[str, list[str]], bytes | None] | None:
    """(values by upper-case name, the body read) of a request this path answers, or None
    (nothing read: Flask answers it as it came)."""
    method = environ.get("REQUEST_METHOD")
    body = None
    if method == "POST":
        kind = parse_options_header(environ.get("CONTENT_TYPE", ""))[0]
        length = environ.get("CONTENT_LENGTH", "")
        if kind != _FORM or not length.isdigit() or int(length) > MAX_BODY:
            return None
        body = environ["wsgi.input"].read(int(length))
    elif method != "GET" or environ.get("CONTENT_LENGTH", "0") not in ("", "0") or \
            environ.get("HTTP_TRANSFER_ENCODING"):
        return None  # a GET with a body: Flask reads its form too
    try:
        # werkzeug decodes both as UTF-8 and keeps invalid escapes; those go to Flask
        args = parse_qsl(environ.get("QUERY_STRING", "").encode("latin-1").decode(),
                         keep_blank_values=True, errors="strict")
        form = parse_qsl(body.decode(), keep_blank_values=True, errors="strict") \
            if body else []
    except UnicodeError:
        return _restored(environ, body)
    values = _grouped(args)
    for name, found in _grouped(form).items():  # request.args first, then request.form
        values.setdefault(name, []).extend(found)
    if "UPLOAD" in values:  # uploads are read by the route (their parts, their limits)
        return _restored(environ, body)
    return values, body


def _restored(environ: dict, body: bytes | None) -> None:
    if body is not None:  # Flask reads the body again
        environ["wsgi.input"] = io.BytesIO(body)
    return None


def _base(flask_app, environ: dict) -> str:
    config = flask_app.config
    key = (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"),
           environ.get("SERVER_NAME"), environ.get("SERVER_PORT"),
           environ.get("SCRIPT_NAME", ""), id(config["CASSISJUICE_SETTINGS"]),
           config.get("CASSISJUICE_LISTEN_HOST"))
    bases = flask_app.extensions.setdefault("cassisjuice.tap_bases", {})
    base = bases.get(key)
    if base is None:
        with flask_app.request_context(environ):
            base = base_url()
        if len(bases) >= _MAX_BASES:
            bases.clear()
        bases[key] = base
    return base


def answer(flask_app, store: Callable, schema: Callable, environ: dict
           ) -> tuple[list[tuple[str, str]], Iterable[bytes]] | None:
    """(headers, body) of a TAP sync request, or None: the route answers it (a failure is
    then in ``environ[FAILURE]``, the body put back)."""
    parsed = _parameters(environ)
    if parsed is None:
        return None
    values, body = parsed

    def get(name: str) -> str | None:
        found = values.get(name)
        return found[-1] if found else None

    settings = flask_app.config["CASSISJUICE_SETTINGS"]
    try:
        tap = parse_query(get, lambda _: None, settings,
                          binary_default=environ["REQUEST_METHOD"] == "POST")
        pieces = run_query(store(), schema(), tap, settings.sync_timeout_s,
                           _base(flask_app, environ))
    except Exception as exc:  # the route reports it in the protocol's form
        environ[FAILURE] = exc
        return _restored(environ, body)
    headers = [("Content-Type", get_content_type(tap.mime, "utf-8")), *_CORS]
    if isinstance(pieces, list):  # the whole document: its length known, as Flask says
        headers.append(("Content-Length", str(sum(map(len, pieces)))))
    return headers, pieces
