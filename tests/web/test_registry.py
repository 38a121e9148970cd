"""VOSI endpoints of SSA and Cone Search, and the OAI-PMH publishing registry."""

from __future__ import annotations

import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

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


# ------------------------------------------------------ what q.rd declares is served
#: q.rd read here on its own (xml.etree), not through vo_service.metadata
RD = ET.parse(Path(__file__).resolve().parents[2] / "resdir" / "cassisjuice" / "q.rd")


def _rd_meta(element: ET.Element, name: str) -> str:
    """The text of the meta ``name`` (``a.b``: a meta b inside a meta a, or a meta named
    ``a.b``) of an element of q.rd."""
    head, _, rest = name.partition(".")
    for meta in element.findall("meta"):
        if meta.get("name") == name:
            return " ".join(meta.text.split())
        if rest and meta.get("name") == head and meta.find("meta") is not None:
            return _rd_meta(meta, rest)
    raise AssertionError(f"q.rd has no meta {name}")


def _rd_service(service_id: str) -> ET.Element:
    return next(s for s in RD.getroot().findall("service") if s.get("id") == service_id)


def _capability(base: str, service: str, standard: str) -> ET.Element:
    status, _, body = http_get(f"{base}/{service}/capabilities")
    assert status == 200
    return next(c for c in ET.fromstring(body).iter("capability")
                if c.get("standardID") == standard)


def test_ssa_and_cone_search_capabilities_declare_the_rd_limits(server):
    base, _ = server
    ssa = _capability(base, "ssa", "ivo://ivoa.net/std/SSA")
    for name in ("supportedFrame", "maxSearchRadius", "maxRecords", "defaultMaxRecords",
                 "maxAperture", "complianceLevel", "dataSource", "creationType"):
        assert ssa.findtext(name) == _rd_meta(_rd_service("ssa"), f"ssap.{name}"), name
    scs = _capability(base, "scs", "ivo://ivoa.net/std/ConeSearch")
    assert scs.findtext("maxSR") == _rd_meta(_rd_service("scs"), "maxSR")


def test_the_declared_search_limits_are_the_enforced_ones(server):
    base, _ = server
    radius = float(_rd_meta(_rd_service("ssa"), "ssap.maxSearchRadius"))
    assert http_get(f"{base}/ssa?POS=10,10&SIZE={2 * radius}")[0] == 200
    status, _, body = http_get(f"{base}/ssa?POS=10,10&SIZE={2 * radius + 0.5}")
    assert status == 400 and b"SIZE" in body and b"QUERY_STATUS" in body
    max_sr = float(_rd_meta(_rd_service("scs"), "maxSR"))
    assert http_get(f"{base}/scs?RA=10&DEC=10&SR={max_sr}")[0] == 200
    status, _, body = http_get(f"{base}/scs?RA=10&DEC=10&SR={max_sr + 0.5}")
    assert status == 400 and b"SR=" in body


def test_registry_records_and_repository_name_are_the_rd_metadata(server):
    base, _ = server
    identify = _oai(base, "verb=Identify").find(f"{OAI}Identify")
    root = RD.getroot()
    assert identify.findtext(f"{OAI}repositoryName") == _rd_meta(root,
                                                                  "registryRecord.title")
    records = {r.find("identifier").text.rsplit("/", 1)[-1]: r for r in
               _oai(base, "verb=ListRecords&metadataPrefix=ivo_vor").iter(f"{RI}Resource")}
    tap = records["tap"]
    assert tap.findtext("title") == _rd_meta(root, "tapRecord.title")
    assert tap.findtext("shortName") == _rd_meta(root, "tapRecord.shortName")
    assert tap.findtext("content/description") == _rd_meta(root, "tapRecord.description")
    registry = records["registry"]
    assert registry.findtext("title") == _rd_meta(root, "registryRecord.title")
    assert registry.findtext("content/description") == _rd_meta(
        root, "registryRecord.description")
    authority = next(r for r in records.values() if r.get(XSI_TYPE) == "vg:Authority")
    assert authority.findtext("title") == _rd_meta(root, "authorityRecord.title")
    for name in ("ssa", "scs", "slap"):
        service = _rd_service(name)
        assert records[name].findtext("title") == _rd_meta(service, "title")
        assert records[name].findtext("shortName") == _rd_meta(service, "shortName")
        assert len(records[name].findtext("shortName")) <= 16  # VOResource 1.1 sec. 3.1.1
        assert records[name].findtext("content/description") == _rd_meta(
            service, "description")


def _rd_columns(table_id: str) -> list[tuple[str, str | None, str | None, str | None]]:
    table = next(t for t in RD.getroot().findall("table") if t.get("id") == table_id)
    return [(c.get("name"), c.get("unit"), c.get("ucd"), c.get("utype"))
            for c in table.findall("column")]


@pytest.mark.parametrize("path,table_id,service", [
    ("/ssa?POS=10,10&SIZE=1", "ssa_response", "ssa"),
    ("/slap?REQUEST=queryData&WAVELENGTH=1.2e-5/1.3e-5", "slap_response", "slap")])
def test_responses_have_the_rd_columns_and_maxrec_limits(server, path, table_id, service):
    base, _ = server
    for query in (path, f"{path.split('?')[0]}?REQUEST=queryData&FORMAT=METADATA"):
        status, _, body = http_get(base + query)
        assert status == 200, body[:500]
        root = ET.fromstring(body)
        fields = [(f.get("name"), f.get("unit"), f.get("ucd"), f.get("utype"))
                  for f in root.iter() if f.tag.endswith("}FIELD")]
        assert fields == _rd_columns(table_id), query
    maxrec = next(p for p in root.iter()
                  if p.tag.endswith("}PARAM") and p.get("name") == "INPUT:MAXREC")
    prefix = {"ssa": "ssap", "slap": "slap"}[service]
    assert maxrec.get("value") == _rd_meta(_rd_service(service), f"{prefix}.defaultMaxRecords")
    assert next(v for v in maxrec.iter() if v.tag.endswith("}MAX")).get("value") == \
        _rd_meta(_rd_service(service), f"{prefix}.maxRecords")


def test_ssa_titles_are_built_as_the_rd_view_builds_them(server):
    """The SSA view's ssa_dstitle (``'<prefix>' || obs_id``) gives our titles too."""
    import re

    base, _ = server
    view = next(t for t in RD.getroot().findall("table") if t.get("id") == "ssa_view")
    expression = next(m for m in view.findall("mixin") if m.text.strip() == "//ssap#view"
                      ).get("ssa_dstitle")
    prefix = re.fullmatch(r"\s*'([^']*)'\s*\|\|\s*obs_id\s*", expression)[1]
    status, _, body = http_get(f"{base}/ssa?POS=0,0&SIZE=360&FORMAT=votable")
    assert status == 200
    table = pytest.importorskip("astropy.io.votable").parse_single_table(
        io.BytesIO(body)).to_table()
    assert len(table) > 0
    for did, title in zip(table["ssa_pubDID"], table["ssa_title"], strict=True):
        assert str(title) == prefix + str(did).rsplit("?", 1)[1]


def test_response_documents_are_described_by_the_rd_service_titles(server):
    from urllib.parse import quote

    base, _ = server

    def described(path: str) -> str:
        status, _, body = http_get(base + path)
        assert status == 200, body[:500]
        resource = next(e for e in ET.fromstring(body).iter() if e.tag.endswith("}RESOURCE"))
        return " ".join(next(e for e in resource if e.tag.endswith("}DESCRIPTION")).text
                        .split())

    ssa = http_get(f"{base}/ssa?POS=0,0&SIZE=360")[2]
    did = next(e.text for e in ET.fromstring(ssa).iter() if e.tag.endswith("}TD"))
    assert did.startswith("ivo://")  # the first column: ssa_pubDID
    for path, service in (("/ssa?POS=0,0&SIZE=360", "ssa"), ("/scs?RA=0&DEC=0&SR=1", "scs"),
                          ("/slap?REQUEST=queryData&WAVELENGTH=1e-5/2e-5", "slap"),
                          (f"/datalink/links?ID={quote(did, safe='')}", "dl")):
        assert described(path) == _rd_meta(_rd_service(service), "title"), path


def test_pages_cite_the_atlas_as_the_rd_says(server):
    import html

    base, _ = server
    status, _, body = http_get(f"{base}/")
    assert status == 200
    footer = html.unescape(body.decode("utf-8").split("<footer>", 1)[1].split("</footer>")[0])
    root = RD.getroot()
    assert _rd_meta(root, "title") in footer and _rd_meta(root, "howtociteLink") in footer


@pytest.mark.skipif(shutil.which("dachs") is None,
                    reason="GAVO DaCHS (its VO schemas) is not installed")
@pytest.mark.parametrize("path", ["/oai?verb=Identify",
                                  "/oai?verb=ListRecords&metadataPrefix=ivo_vor",
                                  "/oai?verb=ListRecords&metadataPrefix=oai_dc",
                                  "/tap/capabilities", "/ssa/capabilities",
                                  "/scs/capabilities", "/slap/capabilities",
                                  "/tap/tables", "/tap/availability"])
def test_registry_and_vosi_documents_are_valid_against_the_vo_schemas(server, tmp_path,
                                                                      path):
    """OAI-PMH 2.0, VOResource 1.1, VODataService, VORegistry, VOSI, SSA, ConeSearch and
    TAP registry extension schemas, as GAVO DaCHS ships them (``dachs admin xsdVal``)."""
    base, _ = server
    status, _, body = http_get(base + path)
    assert status == 200
    path = tmp_path / "oai.xml"
    path.write_bytes(body)
    done = subprocess.run(["dachs", "admin", "xsdVal", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("-- valid"), \
        done.stdout + done.stderr[-2000:]
