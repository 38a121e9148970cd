"""Registry records of the services and their OAI-PMH publishing interface (issue 6).

* :func:`service_capabilities`: the capabilities of every service (TAP, SSA, Cone Search,
  Datalink, SODA, and their VOSI endpoints), with access URLs from the public base URL;
  the VOSI ``/capabilities`` documents and the registry records share them.
* :func:`resource_records`: VOResource 1.1 / VODataService 1.1 records
  (``vs:CatalogService`` for TAP with its tableset, SSA and Cone Search), plus the
  ``vg:Authority`` and ``vg:Registry`` records a publishing registry must offer
  (Registry Interfaces 1.1 sec. 2, 3).
* :func:`oai_response`: OAI-PMH 2.0 (Identify, ListMetadataFormats, ListSets,
  ListIdentifiers, ListRecords, GetRecord) with the ``ivo_vor`` and ``oai_dc`` formats
  and the ``ivo_managed`` set (Registry Interfaces 1.1 sec. 4); errors as OAI error
  elements, never HTTP errors (OAI-PMH 2.0 sec. 3.6).

Metadata comes from the resdir (``q.rd``: title, description, creator, subjects,
rights, facility, instrument, waveband, the date of the records; its services' short
names, titles, descriptions, test queries, SSA metadata and limits and Cone Search's
maxSR; the TAP service's, publishing registry's and naming authority's records from the
resource's ``tapRecord``, ``registryRecord`` and ``authorityRecord`` metadata).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

from vo_service.metadata import Resource

from .vosi import NAMESPACES, Capability, Interface, capability_element, serialise

__all__ = ["oai_response", "resource_records", "service_capabilities"]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
RI_NS = "http://www.ivoa.net/xml/RegistryInterface/v1.0"
VG_NS = "http://www.ivoa.net/xml/VORegistry/v1.0"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
_XSI_TYPE = f"{{{NAMESPACES['xsi']}}}type"
for _prefix, _uri in (("oai", OAI_NS), ("ri", RI_NS), ("vg", VG_NS), ("dc", DC_NS),
                      ("oai_dc", OAI_DC_NS)):
    ET.register_namespace(_prefix, _uri)

#: the services with a registry record, by resdir service id (``tap`` is the site's TAP
#: service, which a resource descriptor does not declare: its record's metadata are the
#: resource's ``tapRecord.*``)
RECORD_SERVICES = ("tap", "ssa", "scs", "slap")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _vosi(url: str) -> list[Capability]:
    return [Capability("ivo://ivoa.net/std/VOSI#capabilities",
                       (Interface(f"{url}/capabilities", role=None),)),
            Capability("ivo://ivoa.net/std/VOSI#availability",
                       (Interface(f"{url}/availability", role=None),))]


def service_capabilities(base: str, settings, resource: Resource
                         ) -> dict[str, list[Capability]]:
    """Service name -> its capabilities (the standard interface first, then VOSI); the
    SSA and Cone Search test queries, SSA's compliance level, data source, creation type,
    frame and limits and Cone Search's maxSR are the resdir services' metadata (DaCHS's
    ``ssap.*``, ``maxSR`` and ``testQuery`` metas)."""
    from .tap_metadata import tap_capabilities

    ssa_meta, scs_meta = resource.service("ssa"), resource.service("scs")
    ssa_test = parse_qs(ssa_meta.first("ssap.testQuery"))

    def ssa(element: ET.Element) -> None:  # SSA 1.1 registry extension, in schema order
        _sub(element, "complianceLevel", ssa_meta.required("ssap.complianceLevel"))
        _sub(element, "dataSource", ssa_meta.required("ssap.dataSource"))
        _sub(element, "creationType", ssa_meta.required("ssap.creationType"))
        for name in ("supportedFrame", "maxSearchRadius", "maxRecords",
                     "defaultMaxRecords", "maxAperture"):
            _sub(element, name, ssa_meta.required(f"ssap.{name}"))
        query = _sub(element, "testQuery")
        if "POS" in ssa_test:
            long, lat = ssa_test["POS"][0].split(",")
            pos = _sub(query, "pos")
            _sub(pos, "long", long.strip())
            _sub(pos, "lat", lat.strip())
        if "SIZE" in ssa_test:
            _sub(query, "size", ssa_test["SIZE"][0])

    def scs(element: ET.Element) -> None:  # ConeSearch 1.0 registry extension
        _sub(element, "maxSR", scs_meta.required("maxSR"))
        _sub(element, "maxRecords", str(settings.hard_maxrec))
        _sub(element, "verbosity", "true")
        query = _sub(element, "testQuery")
        for name in ("ra", "dec", "sr"):
            _sub(query, name, scs_meta.first(f"testQuery.{name}"))

    return {
        "tap": tap_capabilities(base, settings),
        "ssa": [Capability("ivo://ivoa.net/std/SSA",
                           (Interface(f"{base}/ssa?", version="1.1",
                                      query_types=("GET",),
                                      result_type="application/x-votable+xml"),),
                           xsi_type="ssa:SimpleSpectralAccess", extend=ssa),
                Capability("ivo://ivoa.net/std/DataLink#links-1.1",
                           (Interface(f"{base}/datalink/links", version="1.1"),)),
                Capability("ivo://ivoa.net/std/SODA#sync-1.0",
                           (Interface(f"{base}/soda", version="1.0"),)),
                *_vosi(f"{base}/ssa")],
        "scs": [Capability("ivo://ivoa.net/std/ConeSearch",
                           (Interface(f"{base}/scs?", version="1.03",
                                      query_types=("GET",),
                                      result_type="application/x-votable+xml"),),
                           xsi_type="cs:ConeSearch", extend=scs),
                *_vosi(f"{base}/scs")],
        # SLAP 1.0 (sec. 2): a plain vr:Capability; its optional registry extension
        # (SimpleLineAccess) adds nothing a client of this list needs
        "slap": [Capability("ivo://ivoa.net/std/SLAP",
                            (Interface(f"{base}/slap?", version="1.0", query_types=("GET",),
                                       result_type="application/x-votable+xml"),)),
                 *_vosi(f"{base}/slap")],
    }


def _identifier(authority: str, suffix: str = "") -> str:
    return f"ivo://{authority}{suffix}"


def _record_meta(resource: Resource, name: str) -> tuple[str, str, str]:
    """The short name (empty: none), title and description of the record of ``name``: a
    service of the resdir or a ``<name>Record`` metadata item of the resource."""
    service = resource.services.get(name)
    if service is not None:
        return (service.first("shortName"), service.required("title"),
                service.required("description"))
    return (resource.first(f"{name}Record.shortName"),
            resource.required(f"{name}Record.title"),
            resource.required(f"{name}Record.description"))


def _resource(resource: Resource, xsi_type: str, identifier: str,
              meta: tuple[str, str, str], base: str, settings) -> ET.Element:
    short_name, title, description = meta
    date = resource.required("creationDate")
    root = ET.Element(f"{{{RI_NS}}}Resource", {_XSI_TYPE: xsi_type, "created": date,
                                               "updated": date, "status": "active"})
    _sub(root, "title", title)
    if short_name:  # VOResource 1.1 sec. 3.1.1: title, then shortName
        _sub(root, "shortName", short_name)
    _sub(root, "identifier", identifier)
    curation = _sub(root, "curation")
    _sub(curation, "publisher", resource.required("creator"),
         ivoId=None)
    for creator in resource.meta.get("creator", ()):
        _sub(_sub(curation, "creator"), "name", creator)
    contact = _sub(curation, "contact")
    _sub(contact, "name", resource.required("creator"))
    _sub(contact, "email", settings.contact_email)
    content = _sub(root, "content")
    for subject in resource.meta.get("subject", ()):
        _sub(content, "subject", subject)
    _sub(content, "description", description)
    if resource.first("source"):
        _sub(content, "source", resource.first("source"), format="bibcode")
    _sub(content, "referenceURL", f"{base}/")
    _sub(content, "type", resource.required("type"))
    _sub(content, "contentLevel", resource.required("contentLevel"))
    return root


def resource_records(resource: Resource, base: str, settings,
                     tableset: Callable[[], ET.Element] | None = None
                     ) -> dict[str, ET.Element]:
    """Identifier -> VOResource record of every resource this site publishes."""
    authority = settings.authority
    caps = service_capabilities(base, settings, resource)
    records: dict[str, ET.Element] = {}
    for name in RECORD_SERVICES:
        identifier = _identifier(authority, f"/{name}")
        record = _resource(resource, "vs:CatalogService", identifier,
                           _record_meta(resource, name), base, settings)
        rights = resource.first("rights")
        if rights:
            _sub(record, "rights", rights, rightsURI=resource.first("rights.rightsURI") or None)
        for cap in caps[name]:
            record.append(capability_element(cap))
        for facility in resource.meta.get("facility", ()):
            _sub(record, "facility", facility)
        for instrument in resource.meta.get("instrument", ()):
            _sub(record, "instrument", instrument)
        coverage = _sub(record, "coverage")
        for band in resource.meta.get("coverage.waveband", ()):
            _sub(coverage, "waveband", band)
        if name == "tap" and tableset is not None:
            record.append(tableset())
        records[identifier] = record
    authority_id = _identifier(authority)
    record = _resource(resource, "vg:Authority", authority_id,
                       _record_meta(resource, "authority"), base, settings)
    _sub(record, "managingOrg", resource.required("creator"))
    records[authority_id] = record
    registry_id = _identifier(authority, "/registry")
    record = _resource(resource, "vg:Registry", registry_id,
                       _record_meta(resource, "registry"), base, settings)
    harvest = Capability("ivo://ivoa.net/std/Registry",
                         (Interface(f"{base}/oai", xsi_type="vg:OAIHTTP", version="1.0"),),
                         xsi_type="vg:Harvest",
                         extend=lambda e: _sub(e, "maxRecords", "0"))
    # VORegistry 1.0 schema: a vg:Registry is a vr:Service (its capabilities) followed by
    # full and managedAuthority
    record.append(capability_element(harvest))
    _sub(record, "full", "false")
    _sub(record, "managedAuthority", authority)
    records[registry_id] = record
    return records


# ---------------------------------------------------------------------- OAI-PMH
_FORMATS = {"ivo_vor": ("http://www.ivoa.net/xml/RegistryInterface/v1.0", RI_NS),
            "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NS)}
_ARGUMENTS = {
    "Identify": ((), ()),
    "ListMetadataFormats": ((), ("identifier",)),
    "ListSets": ((), ("resumptionToken",)),
    "ListIdentifiers": (("metadataPrefix",), ("from", "until", "set", "resumptionToken")),
    "ListRecords": (("metadataPrefix",), ("from", "until", "set", "resumptionToken")),
    "GetRecord": (("identifier", "metadataPrefix"), ()),
}


def _dublin_core(record: ET.Element) -> ET.Element:
    dc = ET.Element(f"{{{OAI_DC_NS}}}dc")
    for tag, source in (("title", "title"), ("identifier", "identifier")):
        node = record.find(source)
        if node is not None:
            _sub(dc, f"{{{DC_NS}}}{tag}", node.text)
    for node in record.iter("description"):
        _sub(dc, f"{{{DC_NS}}}description", node.text)
        break
    for node in record.iter("subject"):
        _sub(dc, f"{{{DC_NS}}}subject", node.text)
    return dc


def _header(parent: ET.Element, identifier: str, date: str) -> None:
    header = _sub(parent, f"{{{OAI_NS}}}header")
    _sub(header, f"{{{OAI_NS}}}identifier", identifier)
    _sub(header, f"{{{OAI_NS}}}datestamp", date)
    _sub(header, f"{{{OAI_NS}}}setSpec", "ivo_managed")


def _parse_day(text: str) -> str | None:
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return dt.datetime.strptime(text, fmt).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            continue
    return None


def oai_response(params: Mapping[str, str], records: Mapping[str, ET.Element],
                 base: str, settings) -> bytes:
    """The OAI-PMH response to a request with ``params`` (names case-sensitive, as
    OAI-PMH 2.0 sec. 3.1.1 has them)."""
    root = ET.Element(f"{{{OAI_NS}}}OAI-PMH")
    _sub(root, f"{{{OAI_NS}}}responseDate",
         dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    verb = params.get("verb")
    request = _sub(root, f"{{{OAI_NS}}}request", f"{base}/oai")
    # the records' date (the resource's creationDate) is every OAI datestamp
    date = records[_identifier(settings.authority, "/registry")].get("updated")

    def error(code: str, message: str) -> bytes:
        _sub(root, f"{{{OAI_NS}}}error", message, code=code)
        return serialise(root, prefixes=("xsi",))

    if verb not in _ARGUMENTS:
        return error("badVerb", f"unknown or missing verb {verb!r}")
    required, optional = _ARGUMENTS[verb]
    if "resumptionToken" in params and "resumptionToken" in optional:
        if len(params) > 2:  # an exclusive argument (OAI-PMH 2.0 sec. 3.5)
            return error("badArgument", "resumptionToken is an exclusive argument")
        required = ()
    extra = set(params) - {"verb", *required, *optional}
    if extra or any(name not in params for name in required):
        return error("badArgument", f"{verb} takes {', '.join(required) or 'no'} required "
                     f"and {', '.join(optional) or 'no'} optional arguments")
    request.set("verb", verb)
    for name, value in params.items():
        if name != "verb":
            request.set(name, value)
    if "resumptionToken" in params:
        return error("badResumptionToken", "this repository issues no resumption tokens")
    prefix = params.get("metadataPrefix")
    if prefix is not None and prefix not in _FORMATS:
        return error("cannotDisseminateFormat", f"unknown metadataPrefix {prefix!r}: "
                     "ivo_vor or oai_dc")
    body = _sub(root, f"{{{OAI_NS}}}{verb}")
    if verb == "Identify":
        # the publishing registry's title (its record is the description below)
        registry = records[_identifier(settings.authority, "/registry")]
        _sub(body, f"{{{OAI_NS}}}repositoryName", registry.findtext("title"))
        _sub(body, f"{{{OAI_NS}}}baseURL", f"{base}/oai")
        _sub(body, f"{{{OAI_NS}}}protocolVersion", "2.0")
        _sub(body, f"{{{OAI_NS}}}adminEmail", settings.contact_email)
        _sub(body, f"{{{OAI_NS}}}earliestDatestamp", date)
        _sub(body, f"{{{OAI_NS}}}deletedRecord", "no")
        _sub(body, f"{{{OAI_NS}}}granularity", "YYYY-MM-DDThh:mm:ssZ")
        description = _sub(body, f"{{{OAI_NS}}}description")
        description.append(records[_identifier(settings.authority, "/registry")])
        return serialise(root, prefixes=("xsi", "vr", "vs", "vg", "ri"))
    if verb == "ListMetadataFormats":
        if "identifier" in params and params["identifier"] not in records:
            return error("idDoesNotExist", f"no record {params['identifier']}")
        for name, (schema, namespace) in _FORMATS.items():
            fmt = _sub(body, f"{{{OAI_NS}}}metadataFormat")
            _sub(fmt, f"{{{OAI_NS}}}metadataPrefix", name)
            _sub(fmt, f"{{{OAI_NS}}}schema", schema)
            _sub(fmt, f"{{{OAI_NS}}}metadataNamespace", namespace)
        return serialise(root, prefixes=("xsi",))
    if verb == "ListSets":
        item = _sub(body, f"{{{OAI_NS}}}set")
        _sub(item, f"{{{OAI_NS}}}setSpec", "ivo_managed")
        _sub(item, f"{{{OAI_NS}}}setName", "Resources managed by this registry")
        return serialise(root, prefixes=("xsi",))
    if verb == "GetRecord":
        chosen = {params["identifier"]: records.get(params["identifier"])}
        if chosen[params["identifier"]] is None:
            root.remove(body)
            return error("idDoesNotExist", f"no record {params['identifier']}")
    else:
        chosen = dict(records)
        low, high = params.get("from"), params.get("until")
        for name, value in (("from", low), ("until", high)):
            if value is not None and _parse_day(value) is None:
                root.remove(body)
                return error("badArgument", f"{name} must be YYYY-MM-DD or "
                             "YYYY-MM-DDThh:mm:ssZ")
        outside = (low and _parse_day(low) > date) or \
            (high and _parse_day(high) < date) or \
            params.get("set", "ivo_managed") != "ivo_managed"
        if outside:
            root.remove(body)
            return error("noRecordsMatch", "no record in that range or set")
    for identifier, record in chosen.items():
        if verb == "ListIdentifiers":
            _header(body, identifier, date)
            continue
        item = _sub(body, f"{{{OAI_NS}}}record")
        _header(item, identifier, date)
        metadata = _sub(item, f"{{{OAI_NS}}}metadata")
        metadata.append(record if prefix == "ivo_vor" else _dublin_core(record))
    return serialise(root, prefixes=("xsi", "vr", "vs", "vg", "ri", "ssa", "cs", "tr"))
