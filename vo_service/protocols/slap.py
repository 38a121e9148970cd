"""Simple Line Access Protocol 1.0 on the mid-infrared line list (``/slap``).

The line list is ``science.lines`` (the TAP table ``cassisjuice.lines`` holds the same
rows). Quirks, with their sources (SLAP 1.0 REC, 2010-12-09; pyvo ``dal/sla.py``):

* SLAP 1.0 sec. 2.1: ``REQUEST=queryData`` is mandatory; ``WAVELENGTH`` (vacuum, in
  **metres**) is mandatory, a range list in the SSA syntax: ``lo/hi``, open ends
  ``lo/`` and ``/hi``, ranges separated by commas (pyvo sends ``lo/hi``);
* sec. 2.2: optional ``CHEMICAL_ELEMENT`` (comma-separated element symbols, matched
  without case) and ``MAXREC``; ``FORMAT=METADATA`` answers the empty table with the
  input parameters as ``INPUT:`` PARAMs, as SSAP does;
* sec. 3: the result fields are identified by the Simple Spectral Line Data Model
  utypes: ``ssldm:Line.title`` and ``ssldm:Line.wavelength.value`` (m) are mandatory;
  ``ssldm:Line.species.name``, ``ssldm:Line.initialLevel.name``,
  ``ssldm:Line.finalLevel.name`` are what pyvo's SLARecord reads besides them;
* errors: the VOTable with QUERY_STATUS=ERROR (web.errors), as for SSAP.

The response's columns are the resdir's ``slap_response`` table, the MAXREC default and
limit its slap service's ``slap.defaultMaxRecords`` and ``slap.maxRecords``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vo_service.metadata import MetadataError, Resource
from vo_service.science.lines import Line, line_list
from vo_service.votable import ParamSpec, field_from_column, results_votable

__all__ = ["SlapError", "SlapQuery", "parse_query", "query_data"]


class SlapError(ValueError):
    """A SLAP request that cannot be answered; the message is for the user."""


@dataclass(frozen=True)
class SlapQuery:
    ranges_m: tuple[tuple[float | None, float | None], ...] = ()
    elements: tuple[str, ...] = ()
    maxrec: int = 0
    metadata: bool = False


def _bound(text: str, name: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise SlapError(f"{name}: {text!r} is not a number (metres)") from None
    if not math.isfinite(value) or value < 0:
        raise SlapError(f"{name}: {text!r} must be a non-negative wavelength in metres")
    return value


def _maxrec_limits(resource: Resource) -> tuple[int, int]:
    service = resource.service("slap")
    return (int(service.number("slap.defaultMaxRecords")),
            int(service.number("slap.maxRecords")))


def parse_query(params, resource: Resource) -> SlapQuery:
    """A checked query from request parameters (``get`` by name, DALI 1.1 sec. 3.1)."""
    default_maxrec, hard_maxrec = _maxrec_limits(resource)
    request = (params.get("REQUEST") or "").strip()
    if request.lower() != "querydata":
        raise SlapError("REQUEST=queryData is required (SLAP 1.0)" if not request else
                        f"REQUEST={request!r}: only queryData is supported")
    maxrec_text = params.get("MAXREC") or str(default_maxrec)
    try:
        maxrec = int(maxrec_text)
    except ValueError:
        raise SlapError(f"MAXREC={maxrec_text!r} is not an integer") from None
    if not 0 <= maxrec <= hard_maxrec:
        raise SlapError(f"MAXREC={maxrec} must be in 0..{hard_maxrec}")
    if (params.get("FORMAT") or "").strip().upper() == "METADATA":
        return SlapQuery(metadata=True, maxrec=maxrec)
    text = params.get("WAVELENGTH")
    if not text or not text.strip():
        raise SlapError("WAVELENGTH is required: a vacuum wavelength range lo/hi in metres")
    ranges = []
    for part in text.split(","):
        low_text, sep, high_text = part.partition("/")
        if not sep:  # a single value: the lines at that wavelength
            value = _bound(low_text, "WAVELENGTH")
            ranges.append((value, value))
            continue
        low, high = _bound(low_text, "WAVELENGTH"), _bound(high_text, "WAVELENGTH")
        if low is not None and high is not None and low > high:
            raise SlapError(f"WAVELENGTH {part!r}: the lower bound exceeds the upper")
        ranges.append((low, high))
    elements = tuple(e.strip().lower() for e in (params.get("CHEMICAL_ELEMENT") or "")
                     .split(",") if e.strip())
    return SlapQuery(tuple(ranges), elements, maxrec)


def _matches(line: Line, q: SlapQuery) -> bool:
    metres = line.wavelength_um * 1e-6
    if not any((lo is None or metres >= lo * (1 - 1e-12)) and
               (hi is None or metres <= hi * (1 + 1e-12)) for lo, hi in q.ranges_m):
        return False
    return not q.elements or (line.element or "").lower() in q.elements or \
        line.species.lower() in q.elements


def _input_params(resource: Resource) -> list[ParamSpec]:
    default_maxrec, hard_maxrec = _maxrec_limits(resource)
    return [
        ParamSpec("INPUT:WAVELENGTH", "char", unit="m", value="",
                  description="Vacuum wavelength range lo/hi in metres (mandatory)"),
        ParamSpec("INPUT:CHEMICAL_ELEMENT", "char", value="",
                  description="Comma-separated element symbols (or species: H2, PAH)"),
        ParamSpec("INPUT:MAXREC", "int", value=str(default_maxrec), maximum=str(hard_maxrec),
                  description="Maximum number of lines"),
    ]


def _values(found: list[Line]) -> dict[str, list]:
    """What this service can give for each line, by response column name (wavelengths in
    metres, as SLAP 1.0 sec. 2.1 has them)."""
    return {
        "title": [line.title for line in found],
        "wavelength": [line.wavelength_um * 1e-6 for line in found],
        "wavelength_error": [None if line.wavelength_error_um is None
                             else line.wavelength_error_um * 1e-6 for line in found],
        "species": [line.species for line in found],
        "element": [line.element for line in found],
        "ion_charge": [line.ion_charge for line in found],
        "kind": [line.kind for line in found],
        "initial_level": [line.initial_level for line in found],
        "final_level": [line.final_level for line in found],
        "source": [line.source for line in found]}


def query_data(q: SlapQuery, resource: Resource) -> bytes:
    """The SLAP response document: the columns of the resdir's ``slap_response``."""
    infos = {"SERVICE_PROTOCOL": ("1.0", "SLAP")}
    declared = resource.response("slap_response").columns
    fields = [field_from_column(c) for c in declared]
    if q.metadata:
        return results_votable(fields, [[] for _ in fields], infos=infos,
                               params=_input_params(resource))
    found = [line for line in line_list() if _matches(line, q)]
    overflow = len(found) > q.maxrec
    values = _values(found[:q.maxrec])
    unknown = [c.name for c in declared if c.name not in values]
    if unknown:
        raise MetadataError(f"slap_response declares columns the line list does not have: "
                            f"{', '.join(unknown)}")
    return results_votable(fields, [values[c.name] for c in declared], overflow=overflow,
                           infos=infos, description=resource.service("slap").required(
                               "title"))
