"""VOSI 1.1 availability and capabilities documents (standards.md sec. 2, 14).

Capabilities are data (:class:`Capability`, :class:`Interface`); each protocol module
contributes its own, with a callback adding the type-specific children (TAPRegExt,
SSA, ConeSearch). The same objects serve the registry records, so ``/capabilities`` and
the harvested VOResource can never disagree.

Namespace prefixes are the canonical ones (``vosi``, ``vr``, ``vs``, ``tr``, ``ssa``, ``cs``,
``xsi``): pyvo keys on the prefix of ``xsi:type`` values (clients.md sec. 9 B.9), and since
prefixes that only occur inside attribute values are invisible to ElementTree, the root
declares every one of them explicitly.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "NAMESPACES", "Capability", "Interface", "availability_document",
    "capabilities_document", "capability_element", "serialise",
]

NAMESPACES = {
    "vosi": "http://www.ivoa.net/xml/VOSICapabilities/v1.0",
    "avail": "http://www.ivoa.net/xml/VOSIAvailability/v1.0",
    "vr": "http://www.ivoa.net/xml/VOResource/v1.0",
    "vs": "http://www.ivoa.net/xml/VODataService/v1.1",
    "tr": "http://www.ivoa.net/xml/TAPRegExt/v1.0",
    "ssa": "http://www.ivoa.net/xml/SSA/v1.1",
    "cs": "http://www.ivoa.net/xml/ConeSearch/v1.0",
    "vg": "http://www.ivoa.net/xml/VORegistry/v1.0",
    "ri": "http://www.ivoa.net/xml/RegistryInterface/v1.0",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
_XSI_TYPE = f"{{{NAMESPACES['xsi']}}}type"
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class Interface:
    """A ``vr:Interface`` (VOResource 1.1 sec. 3.2.1; VODataService ParamHTTP)."""

    access_url: str
    xsi_type: str = "vs:ParamHTTP"
    role: str | None = "std"
    use: str = "full"
    version: str | None = None
    query_types: tuple[str, ...] = ()
    result_type: str | None = None
    test_query: str | None = None


@dataclass(frozen=True)
class Capability:
    """A ``vr:Capability``; ``extend(element)`` appends the type-specific children, in
    the order their schema demands, after the interfaces."""

    standard_id: str | None
    interfaces: tuple[Interface, ...]
    xsi_type: str | None = None
    description: str | None = None
    extend: Callable[[ET.Element], None] | None = None


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def capability_element(cap: Capability, tag: str = "capability") -> ET.Element:
    """The capability as an (unqualified) element, for VOSI and for registry records."""
    element = ET.Element(tag, {"standardID": cap.standard_id} if cap.standard_id else {})
    if cap.xsi_type:
        element.set(_XSI_TYPE, cap.xsi_type)
    if cap.description:
        _sub(element, "description", cap.description)
    for interface in cap.interfaces:
        attrs = {_XSI_TYPE: interface.xsi_type}
        if interface.role:
            attrs["role"] = interface.role
        if interface.version:
            attrs["version"] = interface.version
        node = ET.SubElement(element, "interface", attrs)
        _sub(node, "accessURL", interface.access_url, use=interface.use)
        for query_type in interface.query_types:
            _sub(node, "queryType", query_type)
        if interface.result_type:
            _sub(node, "resultType", interface.result_type)
        if interface.test_query:
            _sub(node, "testQuery", interface.test_query)
    if cap.extend:
        cap.extend(element)
    return element


def serialise(root: ET.Element, prefixes: Sequence[str] = tuple(NAMESPACES)) -> bytes:
    """XML with every canonical prefix declared on the root (see the module docstring)."""
    text = ET.tostring(root, encoding="unicode")
    end = text.index(">")
    head, rest = text[:end], text[end:]
    if head.endswith("/"):
        head, rest = head[:-1], "/" + rest
    for prefix in prefixes:
        declaration = f'xmlns:{prefix}="{NAMESPACES[prefix]}"'
        if f"xmlns:{prefix}=" not in head:
            head += " " + declaration
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + head + rest).encode()


def capabilities_document(capabilities: Sequence[Capability]) -> bytes:
    """``vosi:capabilities`` (VOSI 1.1 sec. 3.1)."""
    root = ET.Element(f"{{{NAMESPACES['vosi']}}}capabilities")
    for cap in capabilities:
        root.append(capability_element(cap))
    return serialise(root)


def availability_document(available: bool, note: str,
                          up_since: dt.datetime | None = None) -> bytes:
    """``avail:availability`` (VOSI 1.1 sec. 3.2)."""
    ns = NAMESPACES["avail"]
    root = ET.Element(f"{{{ns}}}availability")
    _sub(root, f"{{{ns}}}available", "true" if available else "false")
    if up_since is not None:
        _sub(root, f"{{{ns}}}upSince",
             up_since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    _sub(root, f"{{{ns}}}note", note)
    return serialise(root, prefixes=("avail",))
