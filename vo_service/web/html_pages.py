"""The HTML every browser page shares: the page frame (navigation, skip link, the
stylesheet we serve), the 404/400/500 pages a browser gets instead of a VOTable
(``web.errors`` decides who is a browser), the help pages of ``/ssa`` and ``/scs`` without
parameters and of ``/tap``, and the list of services with a line on how to use each from
TOPCAT, pyvo and Aladin (the portal's front page shows it too).

Nothing here loads from another host: the stylesheet and scripts are ours
(``vo_service/web/static``), inlined into the pages.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, request

from .urls import base_url

__all__ = ["SERVICES", "blueprint", "html_error_page", "page", "services_html", "static_text"]

blueprint = Blueprint("html_pages", __name__)
_STATIC = Path(__file__).parent / "static"
e = html.escape


@dataclass(frozen=True)
class Service:
    """A public endpoint and how a person uses it from the usual clients."""

    name: str
    path: str
    standard: str
    how: tuple[tuple[str, str], ...]  # (client, one line), {url} replaced by the URL


SERVICES = (
    Service("TAP (ADQL queries)", "/tap", "TAP 1.1", (
        ("TOPCAT", "VO > Table Access Protocol (TAP) Query, paste {url} in TAP URL"),
        ("pyvo", 'pyvo.dal.TAPService("{url}").search("SELECT TOP 10 * FROM '
                 'cassisjuice.positions")'),
        ("Aladin", "File > Open > TAP server, paste {url}"))),
    Service("Simple Spectral Access", "/ssa", "SSAP 1.1", (
        ("TOPCAT", "VO > SSA Query, paste {url} in SSA URL"),
        ("pyvo", 'pyvo.dal.SSAService("{url}").search(pos=SkyCoord(ra, dec, unit="deg"), '
                 "diameter=0.1)"),
        ("SPLAT-VO", "Interop > SSAP servers > Add new server, paste {url}"))),
    Service("Cone Search (positions)", "/scs", "SCS 1.03", (
        ("TOPCAT", "VO > Cone Search, paste {url} in Cone URL"),
        ("pyvo", 'pyvo.dal.SCSService("{url}").search(pos=(ra, dec), radius=0.5)'),
        ("Aladin", "File > Open > Cone search, paste {url}"))),
    Service("Datalink (every variant of a spectrum, cut-outs)", "/datalink/links",
            "DataLink 1.1", (
                ("TOPCAT", "Activation action > Invoke Service on an SSA or ObsCore row"),
                ("pyvo", "for row in pyvo.dal.SSAService(ssa).search(...): "
                         "row.getdatalink()"),
                ("Aladin", "follows the access_url of an ObsCore row"))),
    Service("Coverage MOC", "/moc", "MOC 2.0", (
        ("Aladin", "File > Open URL, paste {url}"),
        ("mocpy", 'mocpy.MOC.from_url("{url}")'),
        ("Aladin Lite", 'A.MOCFromURL("{url}")'))),
)

_NAV = (("/", "Sky map and search"), ("/tap", "TAP"), ("/ssa", "SSA"), ("/scs", "Cone Search"),
        ("/moc", "MOC"))


@lru_cache(maxsize=16)
def static_text(name: str) -> str:
    """One of our stylesheets or scripts (``vo_service/web/static``), to inline in a page:
    a card's first view needs no request but the page itself (each small file fetched
    separately cost 60-250 ms more on the shared test machine)."""
    return (_STATIC / name).read_text(encoding="utf-8")


def page(title: str, body: str, *, scripts: tuple[str, ...] = (), status: int = 200,
         modules: tuple[str, ...] = ()) -> Response:
    """A complete HTML page: our stylesheet, navigation, a skip link to the content
    (keyboard users), ``body`` in ``<main>``, then ``scripts`` (names of our static
    scripts, inlined) and ``modules`` (names of our static ES modules, by URL: they import
    the vendor libraries relative to their own)."""
    base = base_url()
    nav = " ".join(f'<a href="{e(base + path)}">{e(label)}</a>' for path, label in _NAV)
    tags = "".join(f"<script>{static_text(name)}</script>" for name in scripts) + "".join(
        f'<script type="module" src="{e(base)}/portal/static/{e(name)}"></script>'
        for name in modules)
    text = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><link rel=\"icon\" href=\"data:,\">"
            f"<style>{static_text('portal.css')}</style></head>"
            f'<body data-base="{e(base)}"><a class="skip" href="#main">Skip to content</a>'
            f'<header><nav aria-label="services">{nav}</nav></header>'
            f'<main id="main" tabindex="-1">{body}</main>'
            f"<footer><p>{e(_footer())}</p></footer>{tags}</body></html>")
    return Response(text, status=status, mimetype="text/html")


@lru_cache(maxsize=1)
def _footer() -> str:
    """The resource's title and how to cite it (the resdir's ``title`` and
    ``howtociteLink``)."""
    from vo_service.metadata import load

    resource = load()
    return f"{resource.required('title')}. Cite {resource.required('howtociteLink')}."


_TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed",
           413: "Request too large", 500: "Service error", 503: "Temporarily unavailable"}


def html_error_page(message: str, status: int) -> Response:
    """What a browser reads when its request fails: the same message the VOTable error
    would carry, and the way back to the portal."""
    title = _TITLES.get(status, "Error")
    body = (f"<h1>{status} {e(title)}</h1><p class=\"error\">{e(message)}</p>"
            f'<p><a href="{e(base_url())}/">Search the atlas from the sky map</a>.</p>')
    return page(f"{status} {title} - CASSISjuice", body, status=status)


def services_html() -> str:
    """The service URLs, each with how to use it in TOPCAT, pyvo and Aladin."""
    base = base_url()
    items = []
    for service in SERVICES:
        url = base + service.path
        how = "".join(f"<li><b>{e(client)}</b>: <code>{e(line.format(url=url))}</code></li>"
                      for client, line in service.how)
        items.append(f'<li><a href="{e(url)}">{e(service.name)}</a> ({e(service.standard)}):'
                     f" <code>{e(url)}</code><ul>{how}</ul></li>")
    return f'<ul class="services">{"".join(items)}</ul>'


def tap_help() -> Response:
    """The page of ``/tap`` (TAP 1.1 sec. 2: the service's root has no protocol
    resource of its own)."""
    url = base_url() + "/tap"
    links = "".join(f'<li><a href="{e(url)}/{part}">{label}</a></li>' for part, label in (
        ("tables", "tables and columns (VOSI)"), ("examples", "example queries (DALI)"),
        ("capabilities", "capabilities (VOSI)")))
    return _help(SERVICES[0], "<p>Queries go to <code>" + e(url) + "/sync</code> (<code>LANG"
                 "=ADQL&amp;QUERY=...</code>, <code>RESPONSEFORMAT</code>, <code>MAXREC"
                 "</code>) or, as UWS jobs, to <code>" + e(url) + f"/async</code>.</p><ul>{links}"
                 "</ul>")


def _help(service: Service, params: str) -> Response:
    url = base_url() + service.path
    body = (f"<h1>CASSISjuice {e(service.name)}</h1><p>This is a {e(service.standard)} "
            f"endpoint for VO clients: <code>{e(url)}</code>.</p>"
            f"<h2>Parameters</h2>{params}<h2>Every service of the atlas</h2>"
            f"{services_html()}")
    return page(f"{service.name} - CASSISjuice", body)


_SSA_PARAMS = (
    "<ul><li><code>REQUEST=queryData</code> (required)</li><li><code>POS=ra,dec</code> "
    "(degrees, ICRS) with <code>SIZE</code> (diameter, degrees)</li><li><code>BAND</code> "
    "(metres, e.g. <code>1e-5/2e-5</code>), <code>TIME</code>, <code>FORMAT</code> "
    "(<code>all</code>, <code>votable</code>, <code>fits</code>, <code>metadata</code>), "
    "<code>MAXREC</code></li></ul>")
_SCS_PARAMS = (
    "<ul><li><code>RA</code>, <code>DEC</code> (degrees, ICRS) and <code>SR</code> (radius, "
    "degrees), all required</li><li><code>VERB</code> 1-3: how many columns</li></ul>")


@blueprint.before_app_request
def _browser_help():
    """``/ssa`` and ``/scs`` without parameters: a help page for a person, the protocol's
    error for a VO client (SSAP 1.1 sec. 8.4: REQUEST is required; SCS 1.03 sec. 3.3)."""
    from .errors import wants_html

    if request.method != "GET" or request.args or not wants_html():
        return None
    if request.path == "/ssa":
        return _help(SERVICES[1], _SSA_PARAMS)
    if request.path == "/scs":
        return _help(SERVICES[2], _SCS_PARAMS)
    return None
