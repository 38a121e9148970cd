"""``/``: the portal a person opens, and the files its pages load, all served by us so it
works without a network and loads nothing from another host.

- ``/``: the all-sky map (Aladin Lite) of the atlas positions, coloured LR only / HR only /
  both, read from our TAP service in TABLEDATA (Aladin Lite reads no BINARY2), with the
  coverage MOC; a click on a marker opens the ID card. Search by name, by position and
  radius, by ADQL, or for the spectra most similar to an ID's (``/similar``;
  ``/?similar=<ID>&arm=<LR|HR>``, where the ID cards link, runs it on load), results in
  a sortable table with links to the cards and the result as
  VOTable or CSV; SAMP to send it on; every service URL with how to use it.
- ``/portal/vendor/<file>``: the npm libraries (Aladin Lite, sampjs) that
  ``deploy/install-web-assets.sh`` installs into ``portal/node_modules`` (setting
  ``web_assets_dir``). Without them the map says how to install them; the rest works.
- ``/portal/static/<file>``: our stylesheet and scripts (``vo_service/web/static``; the
  pages inline them, but for the map's module, which imports Aladin Lite).
- ``/portal/moc/<lr|hr|both>``: the coverage MOC (MOC 2.0 FITS, order 12 as ``/moc``) of
  the positions with LR spectra only, HR only, or both, which the map colours like their
  markers; computed from the catalogue on request (20,400 positions: ~40 ms) and kept per
  store version.
- ``/portal/hips/...``: the map's background, a HiPS (HiPS 1.0, IVOA REC 2017) of one flat
  tile: Aladin Lite needs an image survey under its overlays, and every survey it knows is
  on a CDS host, which an offline portal cannot reach.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory

from .html_pages import e, page, services_html
from .stores import current_store
from .urls import base_url

__all__ = ["blueprint", "web_assets_dir"]

blueprint = Blueprint("portal", __name__)

_STATIC = Path(__file__).parent / "static"
_CHECKOUT_ASSETS = Path(__file__).resolve().parents[2] / "portal" / "node_modules"
#: the only vendor files served, by public name: (package directory, file in it)
_VENDOR = {"aladin.js": ("aladin-lite", "dist/aladin.js"), "samp.js": ("sampjs", "samp.js")}
_HIPS_ORDER = 3
_TILE_PX = 64
_SKY_RGB = (0.06, 0.07, 0.11)
_EXAMPLE_ADQL = ("SELECT TOP 100 cj_id, object_name, ra, dec, has_lr, has_hr, snr_lr, snr_hr\n"
                 "FROM cassisjuice.positions ORDER BY snr_lr DESC")


def web_assets_dir() -> Path:
    """Where the npm packages are (``web_assets_dir``, else the checkout's)."""
    configured = current_app.config["CASSISJUICE_SETTINGS"].web_assets_dir
    return Path(configured) if configured else _CHECKOUT_ASSETS


def _vendor_path(name: str) -> Path:
    package, inside = _VENDOR[name]
    return web_assets_dir() / package / inside


@blueprint.route("/", methods=["GET"])
def index():
    base = base_url()
    have_map = _vendor_path("aladin.js").is_file()
    missing = ("" if have_map else
               '<p class="error" id="map-missing">The sky map needs Aladin Lite, which is not '
               "installed on this server: run <code>sh deploy/install-web-assets.sh</code> "
               "(npm) in the checkout and reload. Search works without it.</p>")
    body = f"""<h1>CASSISjuice: the Spitzer/IRS staring-mode spectral atlas</h1>
<p>Every position the IRS observed in staring mode, reduced with every background, extraction,
nod and calibration method; click a position on the map or search for it to open its ID card.</p>
<section aria-labelledby="h-map"><h2 id="h-map">Sky map</h2>{missing}
<div id="aladin" data-base="{e(base)}" data-enabled="{'1' if have_map else '0'}"
 role="application" aria-label="all-sky map of the atlas positions"></div>
<p class="legend"><span class="key lr"></span> LR only <span class="key hr"></span> HR only
<span class="key both"></span> LR and HR (markers, and the coverage MOC of each as
shaded cells)</p>
<p id="map-status" role="status" aria-live="polite"></p></section>
<section aria-labelledby="h-search"><h2 id="h-search">Search</h2>
<form id="by-name" class="search"><label for="q-name">Name or ID</label>
<input id="q-name" name="name" required placeholder="e.g. NGC 7023 or 12345_0">
<button type="submit">Search by name</button></form>
<form id="by-cone" class="search"><label for="q-ra">RA (deg)</label>
<input id="q-ra" name="ra" required inputmode="decimal" size="10">
<label for="q-dec">Dec (deg)</label><input id="q-dec" name="dec" required inputmode="decimal"
 size="10"><label for="q-radius">radius (deg)</label><input id="q-radius" name="radius"
 value="0.5" required inputmode="decimal" size="6"><button type="submit">Cone search</button></form>
<form id="by-adql" class="search"><label for="q-adql">ADQL</label>
<textarea id="q-adql" name="adql" rows="3" cols="80">{e(_EXAMPLE_ADQL)}</textarea>
<button type="submit">Run ADQL</button></form>
<form id="by-similar" class="search"><label for="q-similar">Spectra similar to ID</label>
<input id="q-similar" name="cj_id" required placeholder="e.g. 12345678_0" size="14">
<label for="q-arm">arm</label><select id="q-arm" name="arm"><option>LR</option>
<option>HR</option></select><label for="q-windows">rest-frame windows (um)</label>
<input id="q-windows" name="windows" size="18" placeholder="e.g. 5.5-7.5, 20-30"
 aria-describedby="similar-help"><label for="q-mode">mode</label><select id="q-mode"
 name="mode"><option value="normalised">normalised</option><option value="absolute">
absolute</option><option value="continuum">continuum-normalised</option></select>
<label for="q-top">top</label><input id="q-top" name="top" type="number" min="1" max="1000"
 value="20" size="5"><button type="submit">Find similar spectra</button>
<p id="similar-help" class="hint">Every selected spectrum of the arm compared with the
ID's in the rest frame (chi2 per bin, lowest first; the reference itself first with 0);
windows empty: the whole range; normalised scales each candidate to the reference,
continuum divides both by their continuum.</p></form>
<p id="search-status" role="status" aria-live="polite"></p>
<div id="results"></div></section>
<section aria-labelledby="h-services"><h2 id="h-services">Services</h2>
<p>The same data for VO clients, at these URLs:</p>{services_html()}</section>
<p id="samp-status" role="status" aria-live="polite"></p>"""
    return page("CASSISjuice atlas: sky map and search", body,
                scripts=("samp_send.js", "search.js"),
                modules=("sky_map.js",) if have_map else ())


@blueprint.route("/portal/vendor/<name>", methods=["GET"])
def vendor(name: str):
    if name not in _VENDOR or not _vendor_path(name).is_file():
        abort(404, description=f"no browser library {name!r} on this server (run "
                               "deploy/install-web-assets.sh)")
    path = _vendor_path(name)
    response = send_from_directory(path.parent, path.name, mimetype="text/javascript",
                                   max_age=3600)
    return response


@blueprint.route("/portal/static/<name>", methods=["GET"])
def static_file(name: str):
    return send_from_directory(_STATIC, name, max_age=300)


_MOC_ORDER = 12
#: boolean tests that hold in SQLite (0/1 integers) and PostgreSQL (booleans)
_KINDS = {"lr": "has_lr AND NOT has_hr", "hr": "has_hr AND NOT has_lr",
          "both": "has_lr AND has_hr"}


@lru_cache(maxsize=12)
def _kind_moc(store, kind: str, version) -> bytes:
    import numpy as np

    from vo_service.store.moc_io import moc_fits_from_cells

    _, rows, _ = store.execute_readonly(
        f"SELECT healpix FROM {store.physical('positions')} WHERE {_KINDS[kind]}", [],
        10_000_000, 60)
    cells = np.array([r[0] for r in rows], np.int64) >> (2 * (29 - _MOC_ORDER))
    return moc_fits_from_cells(cells, _MOC_ORDER)


@blueprint.route("/portal/moc/<kind>", methods=["GET"])
def kind_moc(kind: str):
    if kind not in _KINDS:
        abort(404, description=f"no MOC {kind!r}: lr, hr or both")
    store = current_store()
    return Response(_kind_moc(store, kind, store.data_version()), mimetype="application/fits")


@lru_cache(maxsize=2)
def _png(width: int, height: int) -> bytes:
    import matplotlib.image as mpimg
    import numpy as np

    pixels = np.empty((height, width, 3))
    pixels[:] = _SKY_RGB
    buffer = io.BytesIO()
    mpimg.imsave(buffer, pixels, format="png")
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _all_sky_moc() -> bytes:
    import numpy as np

    from vo_service.store.moc_io import moc_fits_from_cells

    return moc_fits_from_cells(np.arange(12), 0)


_PROPERTIES = f"""creator_did = ivo://cassisjuice.invalid/P/portal-background
obs_title = CASSISjuice portal background (no sky image: the portal works offline)
dataproduct_type = image
hips_version = 1.4
hips_release_date = 2026-12-06T00:00Z
hips_status = public master unclonable
hips_frame = equatorial
hips_order = {_HIPS_ORDER}
hips_order_min = 0
hips_tile_width = {_TILE_PX}
hips_tile_format = png
moc_sky_fraction = 1
"""


@blueprint.route("/portal/hips/properties", methods=["GET"])
def hips_properties():
    return Response(_PROPERTIES, mimetype="text/plain")


@blueprint.route("/portal/hips/Moc.fits", methods=["GET"])
def hips_moc():
    return Response(_all_sky_moc(), mimetype="application/fits")


@blueprint.route("/portal/hips/Norder<int:order>/Allsky.png", methods=["GET"])
def hips_allsky(order: int):
    if order > _HIPS_ORDER:
        abort(404, description="no such HiPS order")
    # HiPS 1.0 sec. 4.3.2: the all-sky image is 27 tiles wide
    rows = -(-12 * 4 ** order // 27)
    return Response(_png(27 * _TILE_PX, rows * _TILE_PX), mimetype="image/png")


@blueprint.route("/portal/hips/Norder<int:order>/Dir<int:directory>/Npix<int:pixel>.png",
                 methods=["GET"])
def hips_tile(order: int, directory: int, pixel: int):
    if order > _HIPS_ORDER or pixel >= 12 * 4 ** order or directory != pixel // 10000 * 10000:
        abort(404, description="no such HiPS tile")
    return Response(_png(_TILE_PX, _TILE_PX), mimetype="image/png",
                    headers={"Cache-Control": "max-age=86400"})
