"""VOSI endpoints of the SSA, Cone Search and SLAP services, and ``/oai``: the OAI-PMH
publishing registry of the site's VOResource records (``protocols.registry``)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from flask import Blueprint, Response, current_app, request

from vo_service.metadata import load
from vo_service.protocols.registry import oai_response, resource_records, service_capabilities
from vo_service.protocols.tap_metadata import tables_document
from vo_service.protocols.vosi import availability_document, capabilities_document

from .stores import current_store, store_available
from .urls import base_url

__all__ = ["blueprint"]

blueprint = Blueprint("registry", __name__)
_STARTED = dt.datetime.now(dt.UTC)
_XML = "text/xml"


def _settings():
    return current_app.config["CASSISJUICE_SETTINGS"]


@blueprint.route("/<any(ssa, scs, slap):service>/capabilities", methods=["GET"])
def capabilities(service: str):
    caps = service_capabilities(base_url(), _settings(), load())[service]
    return Response(capabilities_document(caps), mimetype=_XML)


@blueprint.route("/<any(ssa, scs, slap):service>/availability", methods=["GET"])
def availability(service: str):
    ok, note = store_available()
    return Response(availability_document(ok, note, _STARTED), mimetype=_XML)


def _tableset() -> ET.Element:
    from .tap import _schema

    document = tables_document(_schema())
    root = ET.fromstring(document)
    tableset = ET.Element("tableset")
    tableset.extend(list(root))
    return tableset


@blueprint.route("/oai", methods=["GET", "POST"])
def oai():
    values = request.values
    if any(len(values.getlist(name)) > 1 for name in values):
        params = {"verb": "__repeated__"}  # OAI-PMH sec. 3.6: a repeated argument
    else:
        params = {name: values[name] for name in values}
    records = resource_records(current_store().resource, base_url(), _settings(), _tableset)
    return Response(oai_response(params, records, base_url(), _settings()), mimetype=_XML)
