"""Spectrum files (``GET /spectra/<ID>/<ARM>/<variant>``), Datalink documents
(``GET /datalink/links``) and TAP sync queries (``web.direct_tap``) answered in front of
Flask: WSGI middleware.

These are what a client fetches most, one after the other for every row of an SSAP,
ObsCore or Datalink result, each different, so the file cache (``web.file_cache``) rarely
holds them. Flask's request and response objects, its URL matching, context and hooks
were half of such a request. This path does what the blueprint's routes
(``web.spectra_access``) do, with the same status, headers and body: a spectrum parsed
and resolved by ``protocols.datasets``, serialised by ``vo_service.spectra`` (VOTable,
FITS, CSV); a links document by ``protocols.datalink``, its URLs from ``web.urls`` (in
a bare request context: the allowed hosts apply as in Flask).

Whatever it does not answer goes on to the Flask app unchanged: other methods and paths,
the PNG preview, an unknown format, a links request without an ID or with too many, and
every failure (a malformed or unknown spectrum, the store unavailable), so errors keep
their one form (DALI error VOTables, ``web.errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from vo_service.protocols.datalink import LINKS_MIME, MAX_IDS, links_document
from vo_service.protocols.datasets import DatasetError, parse_spectrum_path, resolve
from vo_service.spectra import FORMATS

from . import direct_tap
from .errors import cors_headers
from .urls import base_url

__all__ = ["LINKS", "PREFIX", "DirectRoutes"]

PREFIX = "/spectra/"
LINKS = "/datalink/links"
_SUFFIX = {"votable": ".vot", "fits": ".fits", "csv": ".csv"}
#: the Content-Type Flask gives each format's MIME type (werkzeug adds the charset to
#: text/* and *+xml types)
_CONTENT_TYPE = {kind: mime + ("; charset=utf-8" if mime.startswith("text/") or
                               mime.endswith("+xml") else "")
                 for kind, (mime, _) in FORMATS.items()}
#: the CORS headers of every answer outside UWS
_CORS = cors_headers()


def _values(query: str, name: str) -> list[str]:
    """The values of parameter ``name`` (DALI 1.1 sec. 3.1: the name in any case) in the
    order ``web.params`` gives them: those of each spelling of the name together, the
    spellings in the order they first appear."""
    spellings: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.upper() == name:
            spellings.setdefault(key, []).append(value)
    return [value for values in spellings.values() for value in values]


class DirectRoutes:
    """``DirectRoutes(app, flask_app, store, authority)``: a WSGI app that answers
    spectrum files and links documents itself and passes every other request to ``app``.

    Parameters
    ----------
    app : WSGI application
        The Flask app's ``wsgi_app``, which answers the rest.
    flask_app : Flask
        The app itself (its settings and URL rules, for the links' base URL).
    store : callable
        Gives the app's store (opened on first use).
    authority : str
        The authority of the publisher DIDs.
    """

    def __init__(self, app: Callable, flask_app, store: Callable, authority: str) -> None:
        self.app, self.flask_app = app, flask_app
        self.store, self.authority = store, authority

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == direct_tap.PATH:
            answered = direct_tap.answer(self.flask_app, self.store, self._schema, environ)
            if answered is not None:
                start_response("200 OK", answered[0])
                return answered[1]
        elif environ.get("REQUEST_METHOD") == "GET":
            path = environ.get("PATH_INFO", "")
            if path.startswith(PREFIX):
                answer = self._spectrum(path[len(PREFIX):], environ.get("QUERY_STRING", ""))
            elif path == LINKS:
                answer = self._links(environ)
            else:
                answer = None
            if answer is not None:
                headers, body = answer
                start_response("200 OK", [*headers, ("Content-Length", str(len(body))),
                                          *_CORS])
                return [body]
        return self.app(environ, start_response)

    def _schema(self):
        from .tap import schema_of

        return schema_of(self.flask_app)

    def _spectrum(self, spectrum: str, query: str):
        kind = ((_values(query, "FORMAT") or ["votable"])[-1] or "votable").lower()
        if kind not in FORMATS:  # the PNG preview, or an error for the app to write
            return None
        try:
            served = resolve(self.store(), parse_spectrum_path(spectrum), self.authority)
            body = FORMATS[kind][1](served)
        except DatasetError:
            return None  # the app writes the error document
        except Exception:  # the store unavailable, a fault: the app answers and logs it
            return None
        name = spectrum.replace("/", "_") + _SUFFIX[kind]
        return [("Content-Type", _CONTENT_TYPE[kind]),
                ("Content-Disposition", f"inline; filename={name}")], body

    def _links(self, environ: dict):
        ids = _values(environ.get("QUERY_STRING", ""), "ID")
        if not ids or len(ids) > MAX_IDS:  # the app writes the UsageFault
            return None
        try:
            with self.flask_app.request_context(environ):
                base = base_url()
            body = links_document(self.store(), ids, self.authority, base)
        except Exception:  # the store unavailable, a fault: the app answers and logs it
            return None
        return [("Content-Type", LINKS_MIME)], body
