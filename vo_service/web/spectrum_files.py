"""Spectrum files (``GET /spectra/<ID>/<ARM>/<variant>``) answered in front of Flask:
WSGI middleware.

A spectrum file is what a client fetches most, one after the other for every row of an
SSAP, ObsCore or Datalink result, and each is a different file, so the file cache
(``web.file_cache``) rarely holds it. Flask's request and response objects, its URL
matching, context and hooks were a third of such a request. This path does what the
blueprint's route (``web.spectra_access.spectrum_file``) does for the VOTable, FITS and
CSV formats, with the same status, headers and body: the identifier parsed and resolved
by ``protocols.datasets``, serialised by ``vo_service.spectra``.

Whatever it does not answer goes on to the Flask app unchanged: other methods, the PNG
preview, an unknown format, and every failure (a malformed or unknown identifier, the
store unavailable), so errors keep their one form (DALI error VOTables, ``web.errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from vo_service.protocols.datasets import DatasetError, parse_spectrum_path, resolve
from vo_service.spectra import FORMATS

__all__ = ["PREFIX", "SpectrumFiles"]

PREFIX = "/spectra/"
_SUFFIX = {"votable": ".vot", "fits": ".fits", "csv": ".csv"}
#: the Content-Type Flask gives each format's MIME type (werkzeug adds the charset to
#: text/* and *+xml types)
_CONTENT_TYPE = {kind: mime + ("; charset=utf-8" if mime.startswith("text/") or
                               mime.endswith("+xml") else "")
                 for kind, (mime, _) in FORMATS.items()}
#: the CORS headers of every answer (``web.errors._add_cors``, for a path outside UWS)
_CORS = [("Access-Control-Allow-Origin", "*"),
         ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
         ("Access-Control-Allow-Headers", "Content-Type"),
         ("Access-Control-Expose-Headers", "Location, Content-Disposition")]


def _format(query: str) -> str | None:
    """The FORMAT parameter (DALI 1.1 sec. 3.1: the name in any case, the last value
    wins), lower-cased as the route takes it; "votable" when absent."""
    kind = "votable"
    if query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name.upper() == "FORMAT":
                kind = value
    return (kind or "votable").lower()


class SpectrumFiles:
    """``SpectrumFiles(app, store, authority)``: a WSGI app that answers spectrum files
    itself and passes every other request to ``app``.

    Parameters
    ----------
    app : WSGI application
        The Flask app (its ``wsgi_app``), which answers the rest.
    store : callable
        Gives the app's store (opened on first use).
    authority : str
        The authority of the publisher DIDs written into the files.
    """

    def __init__(self, app: Callable, store: Callable, authority: str) -> None:
        self.app, self.store, self.authority = app, store, authority

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or not path.startswith(PREFIX):
            return self.app(environ, start_response)
        kind = _format(environ.get("QUERY_STRING", ""))
        if kind not in FORMATS:  # the PNG preview, or an error for the app to write
            return self.app(environ, start_response)
        spectrum = path[len(PREFIX):]
        try:
            served = resolve(self.store(), parse_spectrum_path(spectrum), self.authority)
            body = FORMATS[kind][1](served)
        except DatasetError:
            return self.app(environ, start_response)  # the app writes the error document
        except Exception:  # the store unavailable, a fault: the app answers and logs it
            return self.app(environ, start_response)
        name = spectrum.replace("/", "_") + _SUFFIX[kind]
        start_response("200 OK", [
            ("Content-Type", _CONTENT_TYPE[kind]), ("Content-Length", str(len(body))),
            ("Content-Disposition", f"inline; filename={name}"), *_CORS])
        return [body]
