"""VOSI capabilities and availability documents (VOSI 1.1 sec. 3.1-3.2)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from vo_service.protocols.vosi import (
    NAMESPACES,
    Capability,
    Interface,
    availability_document,
    capabilities_document,
)

XSI_TYPE = f"{{{NAMESPACES['xsi']}}}type"


def _tap_extras(element: ET.Element) -> None:
    ET.SubElement(element, "language").text = "ADQL"


def test_capabilities_declare_the_prefixes_used_in_xsi_types():
    caps = [
        Capability("ivo://ivoa.net/std/VOSI#capabilities",
                   (Interface("https://vo.example.org/tap/capabilities"),)),
        Capability("ivo://ivoa.net/std/TAP",
                   (Interface("https://vo.example.org/tap", use="base", version="1.1"),),
                   xsi_type="tr:TableAccess", extend=_tap_extras),
    ]
    text = capabilities_document(caps)
    root = ET.fromstring(text)
    assert root.tag == f"{{{NAMESPACES['vosi']}}}capabilities"
    tap = root.findall("capability")[1]
    assert tap.get(XSI_TYPE) == "tr:TableAccess" and tap.find("language").text == "ADQL"
    assert tap.find("interface").get(XSI_TYPE) == "vs:ParamHTTP"
    assert tap.find("interface/accessURL").get("use") == "base"
    for prefix in ("tr", "vs", "xsi"):  # prefixes in attribute values must be declared
        assert f'xmlns:{prefix}="{NAMESPACES[prefix]}"'.encode() in text


def test_availability():
    root = ET.fromstring(availability_document(False, "store unreachable",
                                               dt.datetime(2026, 1, 2, tzinfo=dt.UTC)))
    ns = {"a": NAMESPACES["avail"]}
    assert root.find("a:available", ns).text == "false"
    assert root.find("a:upSince", ns).text == "2026-01-02T00:00:00Z"
    assert root.find("a:note", ns).text == "store unreachable"
