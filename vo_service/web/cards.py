"""``/cards/<ID>``: the ID card of a position, a plain HTML page (no script), as the
CASSIS atlas has one per source: what was observed, where, how it was reduced, the
preview of each selected spectrum and every link (files, all variants, Datalink, the
raw exposures). Datalink links it (as ``#auxiliary``: datalinklint 3.4.7 does not know
``#documentation``)."""

from __future__ import annotations

import html
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app

from vo_service.protocols.datasets import DatasetError, SpectrumRef, parse_spectrum_path

from .errors import VOError
from .stores import current_store
from .urls import base_url

__all__ = ["blueprint"]

blueprint = Blueprint("cards", __name__)

_STYLE = ("body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
          "img{max-width:100%}")


def _sexagesimal(ra: float, dec: float) -> str:
    h = ra / 15.0
    hh, mm = int(h), int((h - int(h)) * 60)
    ss = ((h - hh) * 60 - mm) * 60
    sign = "-" if dec < 0 else "+"
    d = abs(dec)
    dd, dm = int(d), int((d - int(d)) * 60)
    ds = ((d - dd) * 60 - dm) * 60
    return f"{hh:02d}h{mm:02d}m{ss:05.2f}s {sign}{dd:02d}d{dm:02d}m{ds:04.1f}s"


@blueprint.route("/cards/<cj_id>", methods=["GET"])
def card(cj_id: str):
    try:
        ref = parse_spectrum_path(f"{cj_id}/LR")  # the ID's form (400 if malformed)
        store = current_store()
        row = store.catalog_row(ref.cj_id)
    except DatasetError as exc:
        raise VOError(str(exc), exc.status) from exc
    if row is None:
        raise VOError(f"no position {ref.cj_id} in this atlas", 404)
    base = base_url()
    authority = current_app.config["CASSISJUICE_SETTINGS"].authority
    e = html.escape
    name = row.get("object_name") or ref.cj_id
    facts = [("CASSISjuice ID", ref.cj_id), ("AORKEY", row.get("aorkey")),
             ("Position (ICRS)", f"{row['ra']:.6f} {row['dec']:+.6f} deg, "
              f"{_sexagesimal(row['ra'], row['dec'])}"),
             ("SIMBAD name", row.get("simbad_name")), ("NED name", row.get("ned_name")),
             ("Object type", row.get("object_type")), ("Redshift", row.get("redshift")),
             ("Source extent", f"{row.get('extent_class') or '?'} "
              f"({row.get('extent_arcsec') or 0:.1f} arcsec)"),
             ("Observed (MJD)", row.get("obs_mjd")),
             ("Provenance", row.get("provenance"))]
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>"
                   for k, v in facts if v not in (None, ""))
    sections = []
    spectra = store.spectra_of(ref.cj_id)
    for arm in ("LR", "HR"):
        selected = next((s for s in spectra if s["arm"] == arm and s["selected"]), None)
        if selected is None:
            continue
        variants = sum(1 for s in spectra if s["arm"] == arm)
        path = f"{ref.cj_id}/{arm}/best"
        did = SpectrumRef(ref.cj_id, arm, "best").did(authority)
        url = f"{base}/spectra/{path}"
        sections.append(
            f"<h2>{'Low' if arm == 'LR' else 'High'} resolution ({arm})</h2>"
            f"<p>Selected variant <code>{e(selected['variant'])}</code> of {variants}; "
            f"{selected['wl_min']:.2f}-{selected['wl_max']:.2f} um, "
            f"median S/N {selected['snr'] or 0:.1f}.</p>"
            f'<img src="{e(url)}?format=png" alt="{e(arm)} spectrum of {e(name)}">'
            f'<p>Download: <a href="{e(url)}?format=votable">VOTable</a>, '
            f'<a href="{e(url)}?format=fits">FITS</a>, <a href="{e(url)}?format=csv">CSV</a>;'
            f' <a href="{e(base)}/datalink/links?ID={quote(did, safe="")}">Datalink '
            "(every variant, cut-outs)</a></p>")
    links = [f'<a href="{e(base)}/datasets/{e(ref.cj_id)}">every spectrum in one FITS '
             "file</a>"]
    if store.exposure_count(ref.cj_id):
        query = f"SELECT * FROM cassisjuice.exposures WHERE cj_id = '{ref.cj_id}'"
        tap = f"{base}/tap/sync?" + urlencode({"LANG": "ADQL", "QUERY": query})
        links.append(f'<a href="{e(tap)}">the raw exposures it was reduced from</a>')
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(name)} - CASSISjuice {e(ref.cj_id)}</title>"
            f"<style>{_STYLE}</style></head><body>"
            f"<h1>{e(name)}</h1><table>{rows}</table>{''.join(sections)}"
            f"<p>Also: {', '.join(links)}.</p>"
            "<p>Cite Lebouteiller et al. 2011, ApJS 196, 8; 2015, ApJS 218, 21 and the "
            "CASSISjuice paper (arXiv:2309.06876).</p></body></html>")
    return Response(page, mimetype="text/html")
