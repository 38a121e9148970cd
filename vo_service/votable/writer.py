"""VOTable result and error documents (see the package docstring).

Quirks, with their sources:

* DALI 1.1 sec. 4.4 / TAP 1.1 sec. 2.9: a result carries ``INFO name="QUERY_STATUS"``
  ``value="OK"`` in the results RESOURCE before the TABLE; a truncated result adds
  ``value="OVERFLOW"`` *after* the TABLE (VOTable 1.4 sec. 3.1 allows INFO after a TABLE;
  pyvo takes the last QUERY_STATUS, and must see exactly MAXREC rows).
* DALI sec. 4.2: an error is a VOTable whose QUERY_STATUS is ``ERROR`` with the message
  as the INFO's *content* (pyvo and TOPCAT show the content, not ``value``).
* Datalink 1.1 sec. 4: service descriptors are top-level ``RESOURCE type="meta"
  utype="adhoc:service"`` holding ``accessURL``/``standardID`` PARAMs and an ``inputParams``
  GROUP whose PARAMs point at result columns with ``ref``.
* The INFOs of the trailing QUERY_STATUS (OVERFLOW, or ERROR when a streamed result fails
  after its first rows, DALI 1.1 sec. 4.4.2) are written after the TABLE's end tag by
  :func:`table_end`.

The elements are written as text by ``head.py`` (astropy's tree cost 0.7 ms a request;
see there), FIELDs cached per column set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import head as xml
from .data import binary2_data, tabledata_data

__all__ = [
    "VOTABLE_MIME", "FieldSpec", "ParamSpec", "ServiceDescriptor", "error_votable",
    "field_from_column", "param_from_column", "results_votable", "results_votable_parts",
    "table_end",
]

VOTABLE_MIME = "application/x-votable+xml"
_NUMPY = {"boolean": bool, "short": np.int16, "int": np.int32, "long": np.int64,
          "float": np.float32, "double": np.float64, "unsignedByte": np.uint8}
_STRINGS = ("char", "unicodeChar")


@dataclass(frozen=True)
class FieldSpec:
    """A column of a result table: VOTable FIELD attributes (VOTable 1.4 sec. 4)."""

    name: str
    datatype: str
    arraysize: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    xtype: str | None = None
    description: str | None = None
    ID: str | None = None

    def __post_init__(self) -> None:
        if self.datatype not in (*_NUMPY, *_STRINGS):
            raise ValueError(f"{self.name}: {self.datatype!r} is not a VOTable datatype")
        if self.datatype in _STRINGS and self.arraysize is None:
            object.__setattr__(self, "arraysize", "*")


@dataclass(frozen=True)
class ParamSpec(FieldSpec):
    """A PARAM: a FieldSpec with a value, optional ``ref`` and VALUES range/options."""

    value: str = ""
    ref: str | None = None
    minimum: str | None = None
    maximum: str | None = None
    options: tuple[str, ...] = ()


def field_from_column(column, **changes) -> FieldSpec:
    """The FIELD of a resdir column (``vo_service.metadata.Column``), with ``changes``."""
    spec = {"name": column.name, "datatype": column.votable_datatype,
            "arraysize": column.arraysize, "unit": column.unit, "ucd": column.ucd,
            "utype": column.utype, "description": column.description or None}
    return FieldSpec(**{**spec, **changes})


def param_from_column(column, value: str | None = None, **changes) -> ParamSpec:
    """The PARAM of a resdir ``param``: its own value unless ``value`` is given."""
    spec = field_from_column(column).__dict__
    value = column.value if value is None else value
    return ParamSpec(**{**spec, "value": value or "", **changes})


@dataclass(frozen=True)
class ServiceDescriptor:
    """A Datalink/SODA service descriptor (Datalink 1.1 sec. 4)."""

    ID: str
    access_url: str
    standard_id: str
    inputs: tuple[ParamSpec, ...] = ()
    description: str | None = None
    extra: tuple[ParamSpec, ...] = field(default_factory=tuple)


def _param_value(spec: ParamSpec) -> str:
    """The PARAM value; an empty float value becomes NaN (the VOTable null of floats,
    VOTable 1.4 sec. 6), since a PARAM must carry a value of its datatype."""
    if spec.value != "" or spec.datatype in _STRINGS:
        return spec.value
    if spec.datatype not in ("float", "double"):
        raise ValueError(f"PARAM {spec.name}: a {spec.datatype} PARAM needs a value")
    count = 1 if spec.arraysize in (None, "1", "*") else int(spec.arraysize.rstrip("*"))
    return " ".join(["NaN"] * count)


def results_votable_parts(
    fields: Sequence[FieldSpec],
    *,
    infos: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    params: Sequence[ParamSpec] = (),
    descriptors: Sequence[ServiceDescriptor] = (),
    resource_utype: str | None = None,
    table_utype: str | None = None,
    table_name: str | None = None,
    description: str | None = None,
    serialization: str = "tabledata",
) -> tuple[bytes, bytes]:
    """A result document without its DATA: (the document up to the TABLE's end tag, the
    rest); the DATA element goes between them (:func:`results_votable` or a stream).

    Parameters
    ----------
    fields : sequence of FieldSpec
    infos : mapping or pairs
        Extra INFO name/value pairs in the results RESOURCE; a value may be a
        ``(value, content)`` pair (e.g. SERVICE_PROTOCOL 1.1 with content SSAP).
    params : sequence of ParamSpec
        PARAMs of the results RESOURCE (e.g. SSAP ``INPUT:`` parameters).
    descriptors : sequence of ServiceDescriptor
        Extra ``RESOURCE type="meta"`` service descriptors (Datalink 1.1 sec. 4).
    serialization : {'tabledata', 'binary2'}
    """
    if serialization not in ("tabledata", "binary2"):
        raise ValueError(f"unknown VOTable serialization {serialization!r}")
    infos = list(infos.items() if isinstance(infos, Mapping) else infos)
    head = "".join([
        xml.PROLOGUE, xml.resource_start(resource_utype, description),
        xml.info_xml("QUERY_STATUS", "OK"), xml.infos_xml(infos),
        *(xml.param_xml(spec, _param_value(spec)) for spec in params),
        xml.table_start(table_name, table_utype), xml.fields_xml(tuple(fields))])
    tail = "".join(["</TABLE>\n </RESOURCE>\n",
                    *(xml.descriptor_xml(sd, _param_value) for sd in descriptors),
                    xml.EPILOGUE])
    return head.encode("utf-8"), tail.encode("utf-8")


def results_votable(
    fields: Sequence[FieldSpec],
    columns: Sequence[Sequence | np.ndarray],
    *,
    overflow: bool = False,
    serialization: str = "tabledata",
    **metadata,
) -> bytes:
    """A result document: one results RESOURCE with one TABLE.

    ``columns``: one value sequence per field, all of one length (None = null);
    ``overflow``: the result was truncated at MAXREC: ``QUERY_STATUS=OVERFLOW`` goes after
    the table; ``metadata``: the keywords of :func:`results_votable_parts`.
    """
    if len(fields) != len(columns):
        raise ValueError(f"{len(fields)} fields but {len(columns)} columns")
    n = len(columns[0]) if columns else 0
    if any(len(c) != n for c in columns):
        raise ValueError("columns of unequal length")
    head, tail = results_votable_parts(fields, serialization=serialization, **metadata)
    data = binary2_data(fields, columns) if serialization == "binary2" else \
        tabledata_data(fields, columns)
    return head + data.encode("utf-8") + b"\n  " + (
        table_end(overflow=overflow) + tail[len(b"</TABLE>"):] if overflow else tail)


def table_end(*, overflow: bool = False, error: str | None = None) -> bytes:
    """The TABLE's end tag, then the trailing QUERY_STATUS INFO a result may need: a
    truncated result's OVERFLOW (DALI 1.1 sec. 4.4.1), or ERROR with its message when a
    streamed result failed after its first rows (sec. 4.4.2)."""
    if error is not None:
        return b"</TABLE>\n" + xml.info_xml("QUERY_STATUS", "ERROR", error, "  "
                                             ).rstrip("\n").encode("utf-8")
    if overflow:
        return b'</TABLE>\n  <INFO name="QUERY_STATUS" value="OVERFLOW"/>'
    return b"</TABLE>"


def error_votable(message: str, *, infos: Mapping[str, str] | None = None) -> bytes:
    """The DALI error document: QUERY_STATUS=ERROR with the message as content."""
    document = [xml.PROLOGUE, ' <RESOURCE type="results">\n',
                xml.info_xml("QUERY_STATUS", "ERROR", message),
                xml.infos_xml(list((infos or {}).items())), " </RESOURCE>\n", xml.EPILOGUE]
    return "".join(document).encode("utf-8")
