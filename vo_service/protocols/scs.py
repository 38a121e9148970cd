"""Simple Cone Search 1.03 on the catalogue (issue 6, item 5; standards.md sec. 12).

Quirks, with their sources:

* SCS 1.03 sec. 2: ``RA`` and ``DEC`` (ICRS degrees) and ``SR`` (degrees) are required;
  ``VERB`` 1-3 selects the columns (1: the identifier and position, 2: the principal
  columns, 3: all);
* SCS 1.03 sec. 3.2: the result has exactly one column each with the UCD1
  ``ID_MAIN``, ``POS_EQ_RA_MAIN`` and ``POS_EQ_DEC_MAIN`` (pyvo's SCSRecord looks them up;
  clients.md sec. 5.4), so those three carry the UCD1 words instead of their UCD1+;
* SCS 1.03 sec. 3.3: an error is a VOTable with ``INFO name="Error"``; the DALI
  ``QUERY_STATUS`` INFO is written too (``votable.error_votable``);
* ``SR`` = 0 is allowed (metadata only: the empty table with its columns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vo_service.metadata import Column, Resource
from vo_service.store import Store
from vo_service.store.healpix import Cone
from vo_service.votable import FieldSpec, results_votable

__all__ = ["ConeQuery", "ScsError", "cone_search", "max_sr_deg", "parse_cone"]
_UCD1 = {"cj_id": "ID_MAIN", "ra": "POS_EQ_RA_MAIN", "dec": "POS_EQ_DEC_MAIN"}


class ScsError(ValueError):
    """A cone-search request the service cannot answer; the message is for the user."""


@dataclass(frozen=True)
class ConeQuery:
    ra: float
    dec: float
    sr: float
    verb: int = 2


def _number(params, name: str) -> float:
    text = params.get(name)
    if text is None or not text.strip():
        raise ScsError(f"parameter {name} is required (SCS 1.03: RA, DEC and SR in degrees)")
    try:
        value = float(text)
    except ValueError:
        raise ScsError(f"parameter {name}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise ScsError(f"parameter {name}={text!r} is not a finite number")
    return value


def max_sr_deg(resource: Resource) -> float:
    """The largest search radius served, in degrees: the resdir scs service's ``maxSR``,
    which its registry record declares."""
    return resource.service("scs").number("maxSR")


def parse_cone(params, max_sr: float) -> ConeQuery:
    """A checked query from request parameters (any object with ``get(name)``) with a
    radius of at most ``max_sr`` degrees."""
    ra, dec, sr = _number(params, "RA"), _number(params, "DEC"), _number(params, "SR")
    if not 0.0 <= ra <= 360.0:
        raise ScsError(f"RA={ra} is outside 0..360 degrees")
    if not -90.0 <= dec <= 90.0:
        raise ScsError(f"DEC={dec} is outside -90..90 degrees")
    if not 0.0 <= sr <= max_sr:
        raise ScsError(f"SR={sr} is outside 0..{max_sr:g} degrees")
    verb_text = params.get("VERB") or "2"
    if verb_text not in ("1", "2", "3"):
        raise ScsError(f"VERB={verb_text!r} must be 1, 2 or 3")
    return ConeQuery(ra % 360.0, dec, sr, int(verb_text))


def _columns(store: Store, verb: int) -> list[Column]:
    table = store.table("positions")
    if verb == 1:
        return [table.column(n) for n in ("cj_id", "ra", "dec")]
    if verb == 2:
        return [c for c in table.columns if c.principal]
    return [c for c in table.columns if c.type != "bytea"]


def _field(col: Column) -> FieldSpec:
    return FieldSpec(col.name, col.votable_datatype, unit=col.unit,
                     ucd=_UCD1.get(col.name, col.ucd), utype=col.utype,
                     description=col.description)


def cone_search(store: Store, query: ConeQuery) -> bytes:
    """The result VOTable of a cone search."""
    columns = _columns(store, query.verb)
    names = [c.name for c in columns]
    if query.sr > 0:
        _, rows = store.region(Cone(query.ra, query.dec, query.sr), "positions", names)
    else:
        rows = []
    values = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in names]
    booleans = {i for i, c in enumerate(columns) if c.type == "boolean"}
    for i in booleans:
        values[i] = [None if v is None else bool(v) for v in values[i]]
    return results_votable([_field(c) for c in columns], values,
                           description=store.resource.service("scs").required("title"))
