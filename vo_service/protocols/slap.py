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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vo_service.science.lines import Line, line_list
from vo_service.votable import FieldSpec, ParamSpec, results_votable

__all__ = ["SlapError", "SlapQuery", "parse_query", "query_data"]

DEFAULT_MAXREC = 1000
HARD_MAXREC = 10000


class SlapError(ValueError):
    """A SLAP request that cannot be answered; the message is for the user."""


@dataclass(frozen=True)
class SlapQuery:
    ranges_m: tuple[tuple[float | None, float | None], ...] = ()
    elements: tuple[str, ...] = ()
    maxrec: int = DEFAULT_MAXREC
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


def parse_query(params) -> SlapQuery:
    """A checked query from request parameters (``get`` by name, DALI 1.1 sec. 3.1)."""
    request = (params.get("REQUEST") or "").strip()
    if request.lower() != "querydata":
        raise SlapError("REQUEST=queryData is required (SLAP 1.0)" if not request else
                        f"REQUEST={request!r}: only queryData is supported")
    maxrec_text = params.get("MAXREC") or str(DEFAULT_MAXREC)
    try:
        maxrec = int(maxrec_text)
    except ValueError:
        raise SlapError(f"MAXREC={maxrec_text!r} is not an integer") from None
    if not 0 <= maxrec <= HARD_MAXREC:
        raise SlapError(f"MAXREC={maxrec} must be in 0..{HARD_MAXREC}")
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


_FIELDS = (
    FieldSpec("title", "char", ucd="meta.id;spect.line", utype="ssldm:Line.title",
              description="Line title: species and wavelength"),
    FieldSpec("wavelength", "double", unit="m", ucd="em.wl;phys.atmol.transition",
              utype="ssldm:Line.wavelength.value", description="Vacuum rest wavelength"),
    FieldSpec("wavelength_error", "double", unit="m", ucd="stat.error;em.wl",
              utype="ssldm:Line.wavelength.error",
              description="Uncertainty of the wavelength (where the source gives one)"),
    FieldSpec("species", "char", ucd="phys.atmol.element", utype="ssldm:Line.species.name",
              description="Emitting or absorbing species"),
    FieldSpec("element", "char", ucd="phys.atmol.element",
              description="Chemical element (atomic, ionic, H2 and HI lines)"),
    FieldSpec("ion_charge", "short", ucd="phys.atmol.ionStage",
              description="Charge of the ion (0: neutral)"),
    FieldSpec("kind", "char", ucd="meta.code.class",
              description="atomic, ionic, H2, HI, PAH, ice or dust"),
    FieldSpec("initial_level", "char", ucd="phys.atmol.initial;phys.atmol.level",
              utype="ssldm:Line.initialLevel.name", description="Upper (initial) level"),
    FieldSpec("final_level", "char", ucd="phys.atmol.final;phys.atmol.level",
              utype="ssldm:Line.finalLevel.name", description="Lower (final) level"),
    FieldSpec("source", "char", ucd="meta.bib", description="Source of the wavelength"),
)


def _input_params() -> list[ParamSpec]:
    return [
        ParamSpec("INPUT:WAVELENGTH", "char", unit="m", value="",
                  description="Vacuum wavelength range lo/hi in metres (mandatory)"),
        ParamSpec("INPUT:CHEMICAL_ELEMENT", "char", value="",
                  description="Comma-separated element symbols (or species: H2, PAH)"),
        ParamSpec("INPUT:MAXREC", "int", value=str(DEFAULT_MAXREC), maximum=str(HARD_MAXREC),
                  description="Maximum number of lines"),
    ]


def query_data(q: SlapQuery) -> bytes:
    """The SLAP response document."""
    infos = {"SERVICE_PROTOCOL": ("1.0", "SLAP")}
    if q.metadata:
        return results_votable(list(_FIELDS), [[] for _ in _FIELDS], infos=infos,
                               params=_input_params())
    found = [line for line in line_list() if _matches(line, q)]
    overflow = len(found) > q.maxrec
    found = found[:q.maxrec]
    columns = [
        [line.title for line in found],
        [line.wavelength_um * 1e-6 for line in found],
        [None if line.wavelength_error_um is None else line.wavelength_error_um * 1e-6
         for line in found],
        [line.species for line in found], [line.element for line in found],
        [line.ion_charge for line in found], [line.kind for line in found],
        [line.initial_level for line in found], [line.final_level for line in found],
        [line.source for line in found]]
    return results_votable(list(_FIELDS), columns, overflow=overflow, infos=infos,
                           description="CASSISjuice mid-infrared line list (SLAP 1.0)")
