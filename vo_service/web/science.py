"""The science tools' blueprint: ``/similar``, ``/template``, ``/linecoverage``,
``/names`` (DALI-style synchronous services, parameters in ``protocols.similar`` and
``protocols.lookups``), ``/slap`` (SLAP 1.0, ``protocols.slap``) and their DALI examples
page ``/tools/examples``. Parse, call the
core, serialise; every failure is a DALI error document (``web.errors``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from vo_service.protocols.lookups import (
    line_coverage,
    names_lookup,
    parse_coverage,
    parse_names,
    rows_votable,
)
from vo_service.protocols.similar import (
    ToolError,
    parse_similar,
    parse_template,
    run_similar,
    run_template,
    similar_table,
    template_spectrum,
)
from vo_service.protocols.slap import SlapError
from vo_service.protocols.slap import parse_query as parse_slap
from vo_service.protocols.slap import query_data as slap_data
from vo_service.protocols.tool_examples import tool_examples_document
from vo_service.science.names import sesame_aliases
from vo_service.spectra import FORMATS
from vo_service.votable import VOTABLE_MIME, FieldSpec

from .errors import VOError
from .params import params
from .stores import current_store
from .urls import base_url

__all__ = ["blueprint"]

blueprint = Blueprint("science", __name__)


def _settings():
    return current_app.config["CASSISJUICE_SETTINGS"]


def _catalog_fields(names: tuple[str, ...]) -> list[FieldSpec]:
    table = current_store().table("positions")
    return [FieldSpec(c.name, c.votable_datatype, unit=c.unit, ucd=c.ucd,
                      description=c.description) for c in map(table.column, names)]


def _tool(call):
    try:
        return call()
    except ToolError as exc:
        raise VOError(str(exc), exc.status) from exc


@blueprint.route("/similar", methods=["GET", "POST"])
def similar():
    p = params()
    upload = p.file("SPECTRUM")
    data = upload.read() if upload is not None else None
    if upload is not None and not data:
        raise VOError("the uploaded SPECTRUM file is empty", 400)
    query = _tool(lambda: parse_similar(p, data))
    matches = _tool(lambda: run_similar(current_store(), query))
    body, mime = similar_table(current_store(), query, matches)
    return Response(body, mimetype=mime)


@blueprint.route("/template", methods=["GET", "POST"])
def template():
    query = _tool(lambda: parse_template(params()))
    result, simulated = _tool(lambda: run_template(current_store(), query,
                                                   _settings().sync_timeout_s))
    served = template_spectrum(result, _settings().authority, simulated)
    mime, serialise = FORMATS[query.response_format]
    suffix = {"votable": "vot", "fits": "fits", "csv": "csv"}[query.response_format]
    return Response(serialise(served), mimetype=mime, headers={
        "Content-Disposition": f"inline; filename=template_{query.arm}.{suffix}",
        "X-Spectra-Stacked": str(len(result.used)),
        "X-Spectra-Left-Out": str(len(result.left_out))})


_COVERAGE_FIELDS = (
    FieldSpec("spectrum_id", "char", ucd="meta.id", description="The covering spectrum"),
    FieldSpec("cj_id", "char", ucd="meta.id;meta.main",
              description="CASSISjuice identifier of the position"),
    FieldSpec("arm", "char", ucd="instr.setup", description="LR or HR"),
    FieldSpec("segment", "char", ucd="instr.setup",
              description="Order covering the line (the highest resolving power)"),
    FieldSpec("observed_wavelength", "double", unit="um", ucd="em.wl",
              description="Wavelength of the line at the position's redshift"),
    FieldSpec("resolving_power", "double", ucd="spect.resolution",
              description="Resolving power at the observed wavelength"),
    FieldSpec("local_snr", "double", ucd="stat.snr",
              description="Median F/sigma within one resolution element of the line"),
)


@blueprint.route("/linecoverage", methods=["GET", "POST"])
def linecoverage():
    query = _tool(lambda: parse_coverage(params()))
    rows, overflow = line_coverage(current_store(), query)
    fields = [*_COVERAGE_FIELDS, *_catalog_fields(("object_name", "redshift"))]
    line = query.line
    return Response(rows_votable(
        current_store(), fields, rows, overflow=overflow,
        infos=[("line", line.title), ("rest_wavelength_um", repr(line.wavelength_um))],
        description=f"CASSISjuice spectra covering {line.title} at their redshift"),
        mimetype=VOTABLE_MIME)


@blueprint.route("/names", methods=["GET", "POST"])
def names():
    query = _tool(lambda: parse_names(params()))
    settings = _settings()
    resolver = None
    if settings.sesame_url and not query.prefix:
        def resolver(name: str) -> list[str]:
            return sesame_aliases(settings.sesame_url, name, settings.sesame_timeout_s)
    rows = names_lookup(current_store(), query, resolver)
    overflow = len(rows) > query.maxrec
    fields = [*_catalog_fields(("cj_id", "object_name", "ra", "dec", "has_lr", "has_hr")),
              FieldSpec("name", "char", ucd="meta.id", description="The name that matched"),
              FieldSpec("source", "char", ucd="meta.code",
                        description="Whose name matched: observer, simbad or ned")]
    return Response(rows_votable(
        current_store(), fields, rows[:query.maxrec], overflow=overflow,
        infos=[("name", query.name), ("match", "prefix" if query.prefix else "exact")],
        description=f"CASSISjuice positions named {query.name}"), mimetype=VOTABLE_MIME)


@blueprint.route("/slap", methods=["GET", "POST"])
def slap():
    try:
        query = parse_slap(params(), current_store().resource)
    except SlapError as exc:
        raise VOError(str(exc), 400) from exc
    return Response(slap_data(query, current_store().resource), mimetype=VOTABLE_MIME)


@blueprint.route("/tools/examples", methods=["GET"])
def tool_examples():
    return Response(tool_examples_document(base_url()), mimetype="application/xhtml+xml")
