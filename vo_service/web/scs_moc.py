"""``/scs`` (Simple Cone Search 1.03) and ``/moc`` (the coverage MOC) blueprints.

``/scs`` takes its parameters with no query string in the base URL, since Aladin Lite
appends ``?RA=..`` itself (clients.md sec. 9 I.40). ``/moc`` serves the MOC 2.0 FITS that
Aladin and mocpy read, or ``?format=json`` / ``ascii`` (clients.md sec. 9 J.41).
"""

from __future__ import annotations

from flask import Blueprint, Response

from vo_service.protocols.scs import ScsError, cone_search, max_sr_deg, parse_cone
from vo_service.store.moc_io import moc_text
from vo_service.votable import VOTABLE_MIME

from .errors import VOError
from .params import params
from .stores import current_store

__all__ = ["blueprint"]

blueprint = Blueprint("scs_moc", __name__)


@blueprint.route("/scs", methods=["GET", "POST"])
def scs():
    try:
        query = parse_cone(params(), max_sr_deg(current_store().resource))
    except ScsError as exc:  # SCS 1.03 sec. 3.3: INFO name="Error" (web.errors)
        raise VOError(str(exc), 400) from exc
    return Response(cone_search(current_store(), query), mimetype=VOTABLE_MIME)


@blueprint.route("/moc", methods=["GET"])
def moc():
    data = current_store().meta_value("coverage_moc")
    if data is None:
        raise VOError("the atlas has no coverage MOC yet (nothing ingested)", 404)
    kind = (params().get("FORMAT") or "fits").lower()
    if kind == "fits":
        return Response(data, mimetype="application/fits",
                        headers={"Content-Disposition": "inline; filename=cassisjuice-moc.fits"})
    if kind in ("json", "ascii"):
        text = moc_text(data, kind)
        mime = "application/json" if kind == "json" else "text/plain"
        return Response(text, mimetype=mime)
    raise VOError(f"unknown MOC format {kind!r}: fits, json or ascii", 400)
