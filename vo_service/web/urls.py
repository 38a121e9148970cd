"""Absolute public URLs for everything the service advertises.

TOPCAT and Aladin build ``new URL(Location)`` from a 303 and fail on relative ones; pyvo
takes the post-redirect URL as the job URL; Aladin Lite refuses http content in https pages
(clients.md sec. 9 A.1, A.3). So every advertised URL is absolute and computed per request:
from ``Settings.base_url`` when configured, otherwise from the request's scheme, host and
script root (with ``X-Forwarded-*`` applied by ProxyFix when ``trust_proxy`` is set). The
base is never cached across requests.

The ``Host`` header (or a proxy's ``X-Forwarded-Host``) is the client's to choose, and a
URL built from it would be stored in job results and handed to other clients; so it is used
only when it names one of the allowed hosts (``Settings.allowed_hosts``; by default the
interface and port the server listens on (``cassisjuice serve --host``;
the machine's name for a wildcard address), and the ``localhost`` / ``127.0.0.1`` / ``[::1]``
forms of that port). Any other host gets the first allowed one (RFC 9110 sec. 7.2 leaves a
server free to ignore a ``Host`` it does not serve).
"""

from __future__ import annotations

import socket
from urllib.parse import quote, urlencode

from flask import current_app, request

__all__ = ["allowed_hosts", "base_url", "public_url"]

_DEFAULT_PORT = {"http": "80", "https": "443"}
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
_WILDCARD = ("", "0.0.0.0", "::", "[::]")


def _split(host: str, scheme: str) -> tuple[str, str]:
    """(lower-case name, port) of ``name[:port]`` (IPv6 in brackets); no port: the
    scheme's default one."""
    host = host.strip().lower()
    name, sep, port = host.rpartition(":")
    if not sep or "]" in port:  # no port, or the colons of a bare IPv6 literal
        return host, _DEFAULT_PORT.get(scheme, "")
    return name, port


def allowed_hosts() -> list[str]:
    """The hosts advertised URLs may name, the fallback first (see the module docstring)."""
    configured = current_app.config["CASSISJUICE_SETTINGS"].allowed_hosts
    hosts = [h.strip() for h in configured.split(",") if h.strip()]
    if hosts:
        return hosts
    environ = request.environ
    port = environ.get("SERVER_PORT", "")
    suffix = "" if port == _DEFAULT_PORT.get(request.scheme) else f":{port}"
    server = current_app.config.get("CASSISJUICE_LISTEN_HOST") or environ.get(
        "SERVER_NAME", "localhost")
    if server in _WILDCARD:
        server = socket.gethostname()
    if ":" in server and not server.startswith("["):
        server = f"[{server}]"  # an IPv6 literal
    return list(dict.fromkeys(h + suffix for h in (server, *_LOOPBACK)))


def _checked_host() -> str:
    scheme = request.scheme
    hosts = allowed_hosts()
    given = _split(request.host, scheme)
    for host in hosts:
        if _split(host, scheme) == given:
            return request.host
    return hosts[0]


def base_url() -> str:
    """The public base URL of the service, without a trailing slash."""
    configured = current_app.config["CASSISJUICE_SETTINGS"].base_url
    if configured:
        return configured
    return f"{request.scheme}://{_checked_host()}{request.script_root}".rstrip("/")


def public_url(path: str, **query: str | int | float) -> str:
    """``base_url() + '/' + path`` with an optional query string (values URL-encoded)."""
    url = base_url() + "/" + quote(path.lstrip("/"), safe="/~")
    if query:
        url += "?" + urlencode(query)
    return url
