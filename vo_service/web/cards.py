"""``/cards/<ID>``: the ID card of a position, as the CASSISjuice paper shows one per source
(its Figs. 2-6, 9-11): what was observed, where, the cross-identifications, extent and
SNRs, every variant of each arm overlaid with the selected one highlighted, the selection's
decision log in words, line markers at the object's redshift, downloads of every variant
in every format, the Datalink document, the raw exposures, SAMP buttons and a link to the
portal's search for the spectra most similar to each arm's selected one.

The page is HTML written here; its plots are drawn in the browser by our own SVG plotter
(``static/plot.js``) from ``/cards/<ID>/spectra.json`` (every variant's points in one
document), so a card is complete in one page, one script set and one JSON request, with no
image rendered on the server (matplotlib previews took 0.5-1.5 s cold per card).
Datalink links the card (as ``#auxiliary``: datalinklint 3.4.7 does not know
``#documentation``)."""

from __future__ import annotations

import html
import json
import math
from urllib.parse import quote, urlencode

import numpy as np
from flask import Blueprint, Response, current_app

from vo_service.linelists import mid_ir_lines
from vo_service.protocols.datasets import DatasetError, SpectrumRef, parse_spectrum_path

from .errors import VOError
from .html_pages import page
from .stores import current_store
from .urls import base_url

__all__ = ["blueprint"]

blueprint = Blueprint("cards", __name__)
e = html.escape
_ARM_TITLES = {"LR": "Low resolution (LR: SL/LL, 5.2-38 um)",
               "HR": "High resolution (HR: SH/LH, 9.6-37.2 um)"}
_FORMATS = (("votable", "VOTable"), ("fits", "FITS"), ("csv", "CSV"), ("png", "PNG"))
_MAX_EXPOSURES_LISTED = 40


def _sexagesimal(ra: float, dec: float) -> str:
    h = ra / 15.0
    hh, mm = int(h), int((h - int(h)) * 60)
    ss = ((h - hh) * 60 - mm) * 60
    sign = "-" if dec < 0 else "+"
    d = abs(dec)
    dd, dm = int(d), int((d - int(d)) * 60)
    ds = ((d - dd) * 60 - dm) * 60
    return f"{hh:02d}h{mm:02d}m{ss:05.2f}s {sign}{dd:02d}d{dm:02d}m{ds:04.1f}s"


def _position(cj_id: str):
    """The ID's catalogue row and spectra rows (VOError 400 malformed, 404 unknown)."""
    try:
        ref = parse_spectrum_path(f"{cj_id}/LR")  # the ID's form (400 if malformed)
        store = current_store()
        row = store.catalog_row(ref.cj_id)
    except DatasetError as exc:
        raise VOError(str(exc), exc.status) from exc
    if row is None:
        raise VOError(f"no position {ref.cj_id} in this atlas", 404)
    return ref.cj_id, store, row


def _number(value, fmt: str) -> str:
    return "" if value is None or not math.isfinite(value) else format(value, fmt)


def _facts(cj_id: str, row: dict) -> str:
    facts = [("CASSISjuice ID", cj_id), ("AORKEY", row.get("aorkey")),
             ("Position (ICRS)", f"{row['ra']:.6f} {row['dec']:+.6f} deg, "
              f"{_sexagesimal(row['ra'], row['dec'])}"),
             ("SIMBAD name", row.get("simbad_name")), ("NED name", row.get("ned_name")),
             ("Object type", row.get("object_type")), ("Redshift", row.get("redshift")),
             ("Source extent", f"{row.get('extent_class') or 'unknown'} (intrinsic FWHM "
              f"{_number(row.get('extent_arcsec'), '.1f') or '?'} arcsec)"),
             ("Median S/N, LR selected", _number(row.get("snr_lr"), ".1f")),
             ("Median S/N, HR selected", _number(row.get("snr_hr"), ".1f")),
             ("Programme", row.get("program_id")), ("Observed (MJD)", row.get("obs_mjd")),
             ("Provenance", row.get("provenance"))]
    rows = "".join(f'<tr><th scope="row">{e(k)}</th><td>{e(str(v))}</td></tr>'
                   for k, v in facts if v not in (None, ""))
    return f'<table class="facts">{rows}</table>'


def _variant_rows(cj_id: str, arm: str, spectra: list[dict], base: str) -> str:
    out = []
    for i, s in enumerate(spectra):
        url = f"{base}/spectra/{cj_id}/{arm}/{s['variant']}"
        downloads = " ".join(f'<a href="{e(url)}?format={kind}">{label}</a>'
                             for kind, label in _FORMATS)
        label = f"{arm} variant {s['variant']}"
        out.append(
            f'<tr class="{"selected" if s["selected"] else ""}" data-variant="{e(s["variant"])}">'
            f'<td><input type="checkbox" checked data-series="{i}" aria-label="show {e(label)}">'
            f'<span class="swatch" data-series="{i}"></span></td>'
            f"<td>{e(s['background'])}</td><td>{e(s['extraction'])}</td><td>{e(s['nods'])}</td>"
            f"<td>{e(s['calibration'])}</td><td>{_number(s['snr'], '.1f')}</td>"
            f"<td>{s['wl_min']:.2f}-{s['wl_max']:.2f}</td>"
            f"<td>{'selected' if s['selected'] else ''}</td><td>{downloads}</td></tr>")
    return "".join(out)


def _arm_section(cj_id: str, arm: str, spectra: list[dict], base: str, name: str) -> str:
    authority = current_app.config["CASSISJUICE_SETTINGS"].authority
    selected = next((s for s in spectra if s["selected"]), None)
    did = SpectrumRef(cj_id, arm, "best").did(authority)
    best = f"{base}/spectra/{cj_id}/{arm}/best"
    log = (selected or {}).get("selection_log") or ""
    reasons = "".join(f"<li>{e(r)}</li>" for r in log.split("\n") if r)
    why = (f"<p>Selected: <code>{e(selected['variant'])}</code> of {len(spectra)} variants, "
           f"because:</p><ol class=\"log\">{reasons or '<li>no reason recorded</li>'}</ol>"
           if selected else "<p>No variant of this arm is usable.</p>")
    downloads = ", ".join(f'<a href="{e(best)}?format={kind}">{label}</a>'
                          for kind, label in _FORMATS)
    datalink = f"{base}/datalink/links?ID={quote(did, safe='')}"
    similar_url = f"{base}/?" + urlencode({"similar": cj_id, "arm": arm})
    similar = (f'<p><a class="similar" href="{e(similar_url)}">'
               f"Find similar spectra</a> (the atlas's {arm} spectra most like the selected "
               "one, in the rest frame).</p>" if selected else "")
    return (
        f'<section class="arm" aria-labelledby="h-{arm}"><h2 id="h-{arm}">{_ARM_TITLES[arm]}'
        f"</h2>{why}"
        f'<figure><div class="plot" id="plot-{arm}" data-arm="{arm}" '
        f'data-label="{e(arm)} spectra of {e(name)}: every variant, flux density against '
        f'wavelength"><p class="loading">Loading the spectra...</p></div>'
        f"<figcaption>Every {arm} variant; the selected one thick. Drag across the plot or "
        "use the buttons to zoom; tick a variant to show or hide it; dashed lines mark "
        "spectral lines at the object's redshift.</figcaption></figure>"
        f'<p>Selected spectrum: {downloads}; <a href="{e(datalink)}">Datalink document</a> '
        f'(every variant, cut-outs). <button type="button" class="samp" '
        f'data-samp-spectrum="{e(best)}?format=votable" data-samp-name="{e(name)} {arm}">'
        "Send to SPLAT-VO / TOPCAT / Aladin (SAMP)</button></p>"
        f"{similar}"
        f'<table class="variants" data-arm="{arm}"><caption>{arm} variants</caption><thead>'
        '<tr><th scope="col">shown</th><th scope="col">background</th><th scope="col">'
        'extraction</th><th scope="col">nods</th><th scope="col">calibration</th>'
        '<th scope="col">median S/N</th><th scope="col">range (um)</th><th scope="col">'
        'selection</th><th scope="col">download</th></tr></thead><tbody>'
        f"{_variant_rows(cj_id, arm, spectra, base)}</tbody></table></section>")


def _exposures(store, cj_id: str, base: str) -> str:
    count = store.exposure_count(cj_id)
    if not count:
        return "<p>No raw exposures are listed for this position.</p>"
    query = f"SELECT * FROM cassisjuice.exposures WHERE cj_id = '{cj_id}'"
    tap = f"{base}/tap/sync?" + urlencode({"LANG": "ADQL", "QUERY": query})
    _, rows, _ = store.execute_readonly(
        f"SELECT irs_module, subslit, nod, expid, dcenum, file FROM "
        f"{store.physical('exposures')} WHERE cj_id = {store.mark} ORDER BY irs_module, "
        "subslit, nod, expid, dcenum", [cj_id], _MAX_EXPOSURES_LISTED, 10)
    body = "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in r[:5]) +
                   f"<td>{e(str(r[5]).rsplit('/', 1)[-1])}</td></tr>" for r in rows)
    more = (f"; the first {len(rows)} here" if count > len(rows) else "")
    return (f'<p>Reduced from {count} raw exposures (<a href="{e(tap)}">all of them as a '
            f"VOTable</a>{more}).</p><table><thead><tr><th>module</th><th>sub-slit</th>"
            f"<th>nod</th><th>EXPID</th><th>DCE</th><th>file</th></tr></thead><tbody>{body}"
            "</tbody></table>")


@blueprint.route("/cards/<cj_id>", methods=["GET"])
def card(cj_id: str):
    cj_id, store, row = _position(cj_id)
    base = base_url()
    name = row.get("object_name") or cj_id
    spectra = store.spectra_of(cj_id)
    sections = "".join(
        _arm_section(cj_id, arm, [s for s in spectra if s["arm"] == arm], base, name)
        for arm in ("LR", "HR") if any(s["arm"] == arm for s in spectra))
    # the plots' data in the page: no second request before they can be drawn
    data = _spectra_json(cj_id, store, row).replace("</", "<\\/")
    body = (f'<h1>{e(name)} <small>{e(cj_id)}</small></h1><div id="card">'
            f"{_facts(cj_id, row)}{sections}"
            f'<h2>Files</h2><p><a href="{e(base)}/datasets/{e(cj_id)}">Every spectrum of the '
            "position in one FITS file</a>.</p>"
            f"<h2>Raw exposures</h2>{_exposures(store, cj_id, base)}"
            '<p id="samp-status" role="status" aria-live="polite"></p></div>'
            f'<script type="application/json" id="card-spectra">{data}</script>')
    return page(f"{name} - CASSISjuice {cj_id}", body,
                scripts=("samp_send.js", "plot.js", "card.js"))


def _quantised(values: np.ndarray) -> dict:
    """A series as integers times a scale: five significant digits of its largest value
    (finer than any IRS spectrum's noise), NaN as null. Measured on a 37-variant card
    (42,000 points): 15 ms to encode, where formatting each float took 150 ms."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    peak = float(np.max(np.abs(values[finite]))) if finite.any() else 0.0
    scale = 10.0 ** (math.floor(math.log10(peak)) - 4) if peak > 0 else 1.0
    ints = np.where(finite, np.round(np.where(finite, values, 0.0) / scale), 0).astype(np.int64)
    out = ints.tolist()
    if not finite.all():
        for i in np.flatnonzero(~finite).tolist():
            out[i] = None
    return {"scale": scale, "values": out}


def _parts(data: dict, with_errors: bool) -> list[dict]:
    """A spectrum's points split by segment (order): overlapping orders are interleaved in
    wavelength in the served spectrum, and a line drawn through them would zigzag."""
    segments = np.asarray(data["segment"]).astype(str)
    parts = []
    for name in dict.fromkeys(segments.tolist()):
        keep = segments == name
        part = {"segment": name, "wavelength": _quantised(data["wavelength"][keep]),
                "flux": _quantised(data["flux"][keep])}
        if with_errors:
            part["flux_error"] = _quantised(data["flux_error"][keep])
        parts.append(part)
    return parts


@blueprint.route("/cards/<cj_id>/spectra.json", methods=["GET"])
def card_spectra(cj_id: str):
    """Every variant's points of the ID, the redshift and the line list: what the card's
    plots draw (the card holds the same document)."""
    cj_id, store, row = _position(cj_id)
    return Response(_spectra_json(cj_id, store, row), mimetype="application/json")


def _spectra_json(cj_id: str, store, row: dict) -> str:
    spectra = store.spectra_of(cj_id)
    arrays = store.arrays_of(cj_id)
    arms: dict[str, list] = {}
    for s in spectra:
        data = arrays.get(s["spectrum_id"])
        if data is None:
            continue
        item = {"variant": s["variant"], "selected": bool(s["selected"]),
                "snr": s["snr"] if s["snr"] is None or math.isfinite(s["snr"]) else None,
                "parts": _parts(data, bool(s["selected"]))}
        arms.setdefault(s["arm"], []).append(item)
    redshift = row.get("redshift")
    document = {"cj_id": cj_id, "redshift": redshift if redshift is not None and
                math.isfinite(redshift) else 0.0, "arms": arms,
                "lines": [{"name": ln.name, "kind": ln.kind, "rest_um": ln.rest_um}
                          for ln in mid_ir_lines()]}
    return json.dumps(document, separators=(",", ":"))
