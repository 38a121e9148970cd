"""Absolute public URLs for everything the service advertises.

TOPCAT and Aladin build ``new URL(Location)`` from a 303 and fail on relative ones; pyvo
takes the post-redirect URL as the job URL; Aladin Lite refuses http content in https pages
(clients.md sec. 9 A.1, A.3). So every advertised URL is absolute and computed per request:
from ``Settings.base_url`` when configured, otherwise from the request's own host and
script root (with ``X-Forwarded-*`` applied by ProxyFix when ``trust_proxy`` is set). The
base is never cached across requests.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import current_app, request

__all__ = ["base_url", "public_url"]


def base_url() -> str:
    """The public base URL of the service, without a trailing slash."""
    configured = current_app.config["CASSISJUICE_SETTINGS"].base_url
    if configured:
        return configured
    return (request.host_url.rstrip("/") + request.script_root).rstrip("/")


def public_url(path: str, **query: str | int | float) -> str:
    """``base_url() + '/' + path`` with an optional query string (values URL-encoded)."""
    url = base_url() + "/" + quote(path.lstrip("/"), safe="/~")
    if query:
        url += "?" + urlencode(query)
    return url
