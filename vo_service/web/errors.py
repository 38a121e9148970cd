"""The one app-level error handler, and CORS on every response.

Every failure reaches a VO client as a DALI error document (DALI 1.1 sec. 4.2: a VOTable
with ``INFO name="QUERY_STATUS" value="ERROR"`` whose content is the message), with HTTP
400 for the client's mistakes and 500 for ours (clients.md sec. 9 C.19); never a traceback
or an HTML page. Unexpected exceptions are logged with their traceback under a short
reference that the error document quotes.

A store outage (:class:`~vo_service.store.StoreUnavailableError`: the database server is
down or restarting, the atlas file is missing) is transient: HTTP 503 with ``Retry-After``
(RFC 9110 sec. 15.6.4, 10.2.3) in the document each protocol's clients read: the DALI
error VOTable (TAP, SSAP, Datalink, SODA, spectrum files), Cone Search's with
``INFO name="Error"`` (SCS 1.03 sec. 3.3), plain text for ``/moc``, ``/oai`` (OAI-PMH 2.0
sec. 3.1.2.1 names 503 with Retry-After) and the ID cards, an HTML page for a browser. No
error document names a path, URL or credential of the server: those stay in the log.

Browsers get HTML: a person who follows a link to an unknown ID or mistypes a parameter
reads an HTML 404/400 page (``web.html_pages``) instead of downloading a VOTable. A request
is a browser's when its Accept header ranks ``text/html`` at least as high as every XML
type and names ``application/xhtml+xml``, as every browser's navigation does (RFC 9110
sec. 12.5.1); VO clients send ``*/*`` (pyvo, astropy), nothing, or Java's default
``text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2`` (TOPCAT, STILTS), which names no
XHTML, so they keep the protocol's VOTable error.

CORS (clients.md sec. 9 A.2): Aladin Lite and other browser clients fetch VOTables, MOCs
and links documents from other origins, so ``Access-Control-Allow-Origin: *`` goes on every
response, errors included, and preflight requests get the allowed methods and headers;
DELETE is allowed only on UWS job URLs, where the job owner is checked (web.tap_async).
"""

from __future__ import annotations

import logging
import re
import secrets

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from vo_service.store import StoreUnavailableError
from vo_service.votable import VOTABLE_MIME, error_votable

from .html_pages import html_error_page

__all__ = ["OUTAGE_MESSAGE", "VOError", "install", "is_outage", "votable_error_response",
           "wants_html"]

log = logging.getLogger(__name__)

OUTAGE_MESSAGE = "the atlas database is temporarily unavailable; please retry later"
#: endpoints whose clients read plain text rather than a VOTable
_PLAIN_PREFIXES = ("/moc", "/oai", "/cards")
_JOB_PATH = re.compile(r"/tap/async/[^/]+$")


class VOError(Exception):
    """A failure reported to the client as a DALI error document.

    ``status`` is the HTTP status (400: the request is wrong; 404: an unknown resource;
    500: the service failed).
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def wants_html() -> bool:
    """Whether the current request comes from a browser (see the module's docstring)."""
    accept = request.accept_mimetypes
    if "application/xhtml+xml" not in accept.values():
        return False
    html = accept["text/html"]
    return html > 0 and all(html >= accept[kind] for kind in
                            (VOTABLE_MIME, "text/xml", "application/xml"))


def votable_error_response(message: str, status: int) -> Response:
    """The error document of the requested endpoint: Cone Search's has ``INFO
    name="Error"`` besides DALI's QUERY_STATUS (SCS 1.03 sec. 3.3), whatever failed."""
    infos = {"Error": message} if request.path.startswith("/scs") else None
    return Response(error_votable(message, infos=infos), status=status,
                    mimetype=VOTABLE_MIME)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the store cannot be reached now (rather than a bug)."""
    if isinstance(exc, StoreUnavailableError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    # a connection that failed outside the store's own retry (e.g. the UWS job tables)
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and \
        not isinstance(exc, psycopg.errors.QueryCanceled)


def outage_response(retry_after_s: int) -> Response:
    """503 with Retry-After, in the format of the requested endpoint's protocol."""
    path = request.path
    headers = {"Retry-After": str(retry_after_s)}
    if wants_html():
        response = html_error_page(OUTAGE_MESSAGE, 503)
        response.headers.update(headers)
        return response
    if path.startswith(_PLAIN_PREFIXES):
        return Response(OUTAGE_MESSAGE + "\n", status=503, mimetype="text/plain",
                        headers=headers)
    # DALI 1.1 sec. 4.2; DataLink 1.1 sec. 3.4 names the fault (SCS: plain message)
    message = OUTAGE_MESSAGE if path.startswith("/scs") else f"TransientFault: {OUTAGE_MESSAGE}"
    response = votable_error_response(message, 503)
    response.headers.update(headers)
    return response


def cors_headers(job: bool = False) -> list[tuple[str, str]]:
    """The CORS headers of every answer (the routes answered in front of Flask,
    ``web.direct_routes`` and ``direct_tap``, give the same); DELETE only on UWS job URLs
    (``job``), where the owner check applies (web.tap_async)."""
    return [("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods",
             "GET, POST, DELETE, OPTIONS" if job else "GET, POST, OPTIONS"),
            ("Access-Control-Allow-Headers", "Content-Type"),
            ("Access-Control-Expose-Headers", "Location, Content-Disposition")]


def _add_cors(response: Response) -> Response:
    for name, value in cors_headers(bool(_JOB_PATH.search(request.path))):
        response.headers[name] = value
    return response


def install(app: Flask) -> None:
    """Register the error handlers and the CORS hook on ``app``."""

    @app.errorhandler(VOError)
    def _vo_error(exc: VOError):
        if wants_html():
            return html_error_page(exc.message, exc.status)
        return votable_error_response(exc.message, exc.status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 413:
            message = ("request too large: the upload limit is "
                       f"{app.config['CASSISJUICE_SETTINGS'].upload_limit_bytes} bytes")
        else:
            message = f"{exc.name}: {exc.description}"
        if wants_html():
            response = html_error_page(message, exc.code or 500)
        else:
            response = votable_error_response(message, exc.code or 500)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if is_outage(exc):
            log.warning("store unavailable for %s: %s", request.path, exc)
            return outage_response(app.config["CASSISJUICE_SETTINGS"].retry_after_s)
        reference = secrets.token_hex(4)
        log.error("internal error %s", reference, exc_info=exc)
        message = f"internal error of the service (reference {reference}); it has been logged"
        if wants_html():
            return html_error_page(message, 500)
        return votable_error_response(message, 500)

    app.after_request(_add_cors)
