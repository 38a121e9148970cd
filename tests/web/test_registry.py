"""VOSI endpoints of SSA and Cone Search, and the OAI-PMH publishing registry."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest

from tests.http_get import http_get

OAI = "{http://www.openarchives.org/OAI/2.0/}"
RI = "{http://www.ivoa.net/xml/RegistryInterface/v1.0}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _oai(base: str, query: str) -> ET.Element:
    status, headers, body = http_get(f"{base}/oai?{query}")
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    return ET.fromstring(body)


# pyvo models only the TAPRegExt capability type, and warns about SSA's and ConeSearch's
@pytest.mark.filterwarnings("ignore:Unknown xsi.type:UserWarning")
@pytest.mark.filterwarnings("ignore:.*Unknown element")
@pytest.mark.parametrize("service,standard", [("ssa", "ivo://ivoa.net/std/SSA"),
                                              ("scs", "ivo://ivoa.net/std/ConeSearch"),
                                              ("slap", "ivo://ivoa.net/std/SLAP")])
def test_service_capabilities_parse_with_pyvo(server, service, standard):
    vosi = pytest.importorskip("pyvo.io.vosi")
    base, _ = server
    status, _, body = http_get(f"{base}/{service}/capabilities")
    assert status == 200
    capabilities = vosi.parse_capabilities(io.BytesIO(body))
    ids = [c.standardid for c in capabilities]
    assert standard in ids and "ivo://ivoa.net/std/VOSI#availability" in ids
    std = capabilities[ids.index(standard)]
    assert std.interfaces[0].accessurls[0].content.startswith(f"{base}/{service}")
    status, _, body = http_get(f"{base}/{service}/availability")
    assert status == 200 and b">true<" in body


def test_oai_identify_and_formats(server):
    base, _ = server
    root = _oai(base, "verb=Identify")
    identify = root.find(f"{OAI}Identify")
    assert identify.find(f"{OAI}baseURL").text == f"{base}/oai"
    registry = identify.find(f"{OAI}description/{RI}Resource")
    assert registry.get(XSI_TYPE) == "vg:Registry"
    formats = _oai(base, "verb=ListMetadataFormats")
    prefixes = {e.text for e in formats.iter(f"{OAI}metadataPrefix")}
    assert prefixes == {"ivo_vor", "oai_dc"}


def test_oai_records_describe_every_service_with_public_urls(server):
    base, _ = server
    root = _oai(base, "verb=ListRecords&metadataPrefix=ivo_vor")
    records = {r.find("identifier").text: r for r in root.iter(f"{RI}Resource")}
    assert {i.rsplit("/", 1)[-1] for i in records} >= {"tap", "ssa", "scs", "slap", "registry"}
    tap = next(r for i, r in records.items() if i.endswith("/tap"))
    standards = {c.get("standardID") for c in tap.iter("capability")}
    assert "ivo://ivoa.net/std/TAP" in standards
    urls = [u.text for u in tap.iter("accessURL")]
    assert urls and all(u.startswith(base) for u in urls)
    tables = {t.find("name").text for t in tap.iter("table")}
    assert {"cassisjuice.positions", "ivoa.obscore"} <= tables
    one = _oai(base, "verb=GetRecord&metadataPrefix=oai_dc&identifier="
                     + next(iter(records)))
    assert one.find(f"{OAI}GetRecord/{OAI}record/{OAI}metadata") is not None


@pytest.mark.parametrize("query,code", [
    ("verb=Nonsense", "badVerb"),
    ("", "badVerb"),
    ("verb=ListRecords", "badArgument"),
    ("verb=ListRecords&metadataPrefix=marc", "cannotDisseminateFormat"),
    ("verb=GetRecord&metadataPrefix=ivo_vor&identifier=ivo://nowhere/x", "idDoesNotExist"),
    ("verb=ListRecords&metadataPrefix=ivo_vor&from=2999-01-01", "noRecordsMatch"),
    ("verb=ListRecords&metadataPrefix=ivo_vor&resumptionToken=x", "badArgument"),
    ("verb=Identify&verb=Identify", "badVerb"),
])
def test_oai_errors_are_oai_documents(server, query, code):
    base, _ = server
    root = _oai(base, query)
    assert root.find(f"{OAI}error").get("code") == code
