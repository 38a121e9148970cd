"""The Flask application factory.

``create_app(settings)`` builds the service: settings in ``app.config``, the reverse-proxy
fix when configured, the app-level error handler and CORS (``web.errors``), the upload size
limit, the protocol blueprints of ``vo_service.web`` and, in front of them, the spectrum
files' and links documents' own path (``web.direct_routes``) and the cache of served files
(``web.file_cache``) and, outermost, the request metrics and ``/metrics``
(``web.metrics``). The store is opened once per
process, lazily, from ``settings.store_url``, unless one is given (tests).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Settings
from .web import errors, metrics
from .web.direct_routes import DirectRoutes
from .web.file_cache import FileCache
from .web.stores import store_of

__all__ = ["create_app"]

#: room for the other form fields of a multipart upload beyond the table itself
_FORM_OVERHEAD_BYTES = 1_000_000


def create_app(settings: Settings | None = None, *, store: Any = None) -> Flask:
    """The WSGI application serving every endpoint of the atlas."""
    settings = settings or Settings.load()
    app = Flask("vo_service")
    app.config["CASSISJUICE_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.upload_limit_bytes + _FORM_OVERHEAD_BYTES
    app.extensions["cassisjuice.store"] = store
    # spectrum files and links documents answered before Flask; the rest (errors too) in
    # it; behind ProxyFix, so their URLs see the forwarded host as Flask's do
    app.wsgi_app = DirectRoutes(app.wsgi_app, app, lambda: store_of(app), settings.authority)
    if settings.trust_proxy:
        n = settings.trust_proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n,
                                x_prefix=n)
    errors.install(app)
    for blueprint in _blueprints():
        app.register_blueprint(blueprint)
    if settings.file_cache_bytes:
        inner = app.wsgi_app
        app.wsgi_app = FileCache(inner, lambda: store_of(app).data_version(),
                                 settings.file_cache_bytes)
    metrics.install(app)  # outermost: cached answers are measured too
    return app


def _blueprints():
    from .web import (
        cards,
        html_pages,
        portal,
        registry,
        science,
        scs_moc,
        spectra_access,
        tap,
        tap_async,
    )

    return (html_pages.blueprint, scs_moc.blueprint, spectra_access.blueprint, tap.blueprint,
            tap_async.blueprint, registry.blueprint, cards.blueprint, portal.blueprint,
            science.blueprint)
