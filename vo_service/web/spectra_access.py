"""``/ssa`` (SSAP 1.1), ``/spectra/<ID>/<ARM>/<variant>`` (the files), ``/datalink/links``
(Datalink 1.1) and ``/soda`` (SODA 1.0 sync) blueprints: parse, call the protocol core,
serialise. Errors are VOTables (``web.errors``), Datalink's per-ID ones rows."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from vo_service.protocols.datalink import (
    LINKS_MIME,
    MAX_IDS,
    SodaError,
    links_document,
    soda_cutout,
)
from vo_service.protocols.datasets import (
    DatasetError,
    parse_spectrum_path,
    resolve,
    resolve_dataset,
)
from vo_service.protocols.ssap import SsaError, SsaLimits, parse_query, query_data
from vo_service.spectra import FORMATS, dataset_fits, to_png
from vo_service.votable import VOTABLE_MIME

from .errors import VOError
from .params import params
from .stores import current_store
from .urls import base_url

__all__ = ["blueprint"]

blueprint = Blueprint("spectra_access", __name__)


def _authority() -> str:
    return current_app.config["CASSISJUICE_SETTINGS"].authority


@blueprint.route("/ssa", methods=["GET", "POST"])
def ssa():
    try:
        query = parse_query(params(), SsaLimits.of(current_store().resource))
    except SsaError as exc:
        raise VOError(str(exc), 400) from exc
    return Response(query_data(current_store(), query, base_url()), mimetype=VOTABLE_MIME)


@blueprint.route("/spectra/<path:spectrum>", methods=["GET"])
def spectrum_file(spectrum: str):
    try:
        served = resolve(current_store(), parse_spectrum_path(spectrum), _authority())
    except DatasetError as exc:
        raise VOError(str(exc), exc.status) from exc
    kind = (params().get("FORMAT") or "votable").lower()
    if kind == "png":
        return Response(to_png(served), mimetype="image/png")
    if kind not in FORMATS:
        raise VOError(f"unknown format {kind!r}: votable, fits, csv or png", 400)
    mime, serialise = FORMATS[kind]
    name = spectrum.replace("/", "_") + {"votable": ".vot", "fits": ".fits",
                                         "csv": ".csv"}[kind]
    return Response(serialise(served), mimetype=mime,
                    headers={"Content-Disposition": f"inline; filename={name}"})


@blueprint.route("/datasets/<cj_id>", methods=["GET"])
def dataset_file(cj_id: str):
    """Every spectrum of a position in one FITS file (Datalink ``#package``)."""
    try:
        spectra = resolve_dataset(current_store(), cj_id, _authority())
    except DatasetError as exc:
        raise VOError(str(exc), exc.status) from exc
    return Response(dataset_fits(cj_id, spectra), mimetype="application/fits",
                    headers={"Content-Disposition": f"inline; filename={cj_id}.fits"})


@blueprint.route("/datalink/links", methods=["GET", "POST"])
def links():
    ids = params().getlist("ID")
    if not ids:
        raise VOError("UsageFault: at least one ID is required", 400)
    if len(ids) > MAX_IDS:
        raise VOError(f"UsageFault: at most {MAX_IDS} IDs per request, got {len(ids)}", 400)
    return Response(links_document(current_store(), ids, _authority(), base_url()),
                    content_type=LINKS_MIME)


@blueprint.route("/soda", methods=["GET", "POST"])
def soda():
    try:
        spectrum, fmt = soda_cutout(current_store(), params(), _authority())
    except SodaError as exc:
        raise VOError(str(exc), exc.status) from exc
    mime, serialise = FORMATS[fmt]
    return Response(serialise(spectrum), mimetype=mime)
