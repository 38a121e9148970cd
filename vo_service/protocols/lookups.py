"""Name look-up (``/names``) and line-coverage search (``/linecoverage``).

``/names``: ``NAME`` (required), ``MATCH`` exact (default) or prefix, ``MAXREC``. A name
matches when its normalised key (``science.names.name_key``) equals the key of one of
the position's names (observer's, SIMBAD's, NED's), or starts with it for ``prefix``;
with Sesame configured by the operator, the aliases Sesame returns are matched as well.

``/linecoverage``: ``LINE`` (a title such as ``[NeII] 12.81``, a species with one line
in the IRS range, or a rest wavelength in um), ``ARM`` (default both), ``MINSNR``,
``MAXREC`` (default 1000). Every selected spectrum whose coverage (table ``coverage``)
contains the line at the position's catalogue redshift (0 when it has none), with the
observed wavelength, the resolving power there (of the order that covers it; the
highest when two orders overlap) and the local signal-to-noise ratio: the median of
F/sigma over the similarity matrix's rest-frame bins within one resolution element of
the line. Sorted by that SNR, highest first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vo_service.science.grids import ArmGrid, grids_of
from vo_service.science.lines import Line, LineError, find_line
from vo_service.science.names import name_key
from vo_service.store import Store
from vo_service.votable import FieldSpec, results_votable

from .similar import ToolError

__all__ = ["CoverageQuery", "NameQuery", "line_coverage", "names_lookup",
           "parse_coverage", "parse_names", "rows_votable"]

_MAX_NAMES = 10_000
_MAX_COVERAGE = 100_000


@dataclass(frozen=True)
class NameQuery:
    name: str
    prefix: bool = False
    maxrec: int = 100


@dataclass(frozen=True)
class CoverageQuery:
    line: Line
    arms: tuple[str, ...] = ("LR", "HR")
    min_snr: float | None = None
    maxrec: int = 1000


def _maxrec(params, default: int, hard: int) -> int:
    text = params.get("MAXREC") or str(default)
    try:
        value = int(text)
    except ValueError:
        raise ToolError(f"MAXREC={text!r} is not an integer") from None
    if not 0 <= value <= hard:
        raise ToolError(f"MAXREC={value} must be in 0..{hard}")
    return value


def parse_names(params) -> NameQuery:
    name = (params.get("NAME") or "").strip()
    if not name_key(name):
        raise ToolError("NAME is required: an object name, e.g. NGC 1068")
    match = (params.get("MATCH") or "exact").strip().lower()
    if match not in ("exact", "prefix"):
        raise ToolError(f"MATCH={match!r}: exact or prefix")
    return NameQuery(name, match == "prefix", _maxrec(params, 100, _MAX_NAMES))


def names_lookup(store: Store, q: NameQuery,
                 resolver: Callable[[str], list[str]] | None = None) -> list[dict]:
    """The positions a name designates (module docstring); ``resolver`` gives more
    names for it (Sesame), or None."""
    keys = [name_key(q.name)]
    if resolver is not None:
        keys += [k for k in map(name_key, resolver(q.name)) if k and k not in keys]
    mark = store.mark
    if q.prefix:
        escaped = keys[0].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where, args = f"n.name_key LIKE {mark} ESCAPE '\\'", [escaped + "%"]
    else:
        where, args = f"n.name_key IN ({', '.join([mark] * len(keys))})", keys
    names, rows = store.select(
        f"SELECT n.cj_id, n.name, n.source, c.object_name, c.ra, c.dec, c.has_lr, "
        f"c.has_hr FROM {store.physical('object_names')} AS n JOIN {store.physical('positions')} "
        f"AS c ON c.cj_id = n.cj_id WHERE {where} ORDER BY n.cj_id, n.source", args)
    seen: dict[str, dict] = {}
    for row in rows:
        record = dict(zip(names, row, strict=True))
        seen.setdefault(record["cj_id"], record)
    return list(seen.values())


def parse_coverage(params) -> CoverageQuery:
    text = (params.get("LINE") or "").strip()
    try:
        line = find_line(text)
    except LineError as exc:
        raise ToolError(str(exc)) from None
    arm = (params.get("ARM") or "").strip().upper()
    if arm and arm not in ("LR", "HR"):
        raise ToolError(f"ARM={arm!r}: LR or HR (default both)")
    min_snr = None
    if params.get("MINSNR"):
        try:
            min_snr = float(params.get("MINSNR"))
        except ValueError:
            raise ToolError(f"MINSNR={params.get('MINSNR')!r} is not a number") from None
        if not math.isfinite(min_snr):
            raise ToolError("MINSNR must be finite")
    return CoverageQuery(line, (arm,) if arm else ("LR", "HR"), min_snr,
                         _maxrec(params, 1000, _MAX_COVERAGE))


def _local_snr(arm: ArmGrid | None, cj_ids: list[str], rest_um: float,
               resolving_power: np.ndarray) -> np.ndarray:
    out = np.full(len(cj_ids), np.nan)
    if arm is None or not cj_ids:
        return out
    rows = np.array([arm.row_of.get(c, -1) for c in cj_ids])
    have = rows >= 0
    if not have.any():
        return out
    half = rest_um / np.nanmedian(resolving_power) / 2  # one resolution element
    window = arm.grid.bins(rest_um - half, rest_um + half)
    if window.stop <= window.start:  # narrower than a bin: the bin of the line
        at = min(max(int(np.searchsorted(arm.grid.edges_um, rest_um)) - 1, 0),
                 arm.grid.n - 1)
        window = slice(at, at + 1)
    iv = arm.iv[window][:, rows[have]].astype(float)
    ivf = arm.ivf[window][:, rows[have]].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(iv > 0, ivf / np.sqrt(iv), np.nan)
    valid = np.isfinite(snr).any(axis=0)
    med = np.full(snr.shape[1], np.nan)
    med[valid] = np.nanmedian(snr[:, valid], axis=0)
    out[have] = med
    return out


def line_coverage(store: Store, q: CoverageQuery) -> tuple[list[dict], bool]:
    """The covering spectra (module docstring) and whether MAXREC cut the list."""
    lam = q.line.wavelength_um
    mark = store.mark
    names, rows = store.select(
        f"SELECT v.spectrum_id, v.cj_id, v.arm, v.segment, v.wl_min, v.wl_max, "
        f"v.res_power_min, v.res_power_max, c.redshift, c.object_name FROM "
        f"{store.physical('coverage')} AS v JOIN {store.physical('positions')} AS c ON "
        f"c.cj_id = v.cj_id WHERE v.rest_wl_min <= {mark} AND v.rest_wl_max >= {mark} AND "
        f"v.arm IN ({', '.join([mark] * len(q.arms))})", [lam, lam, *q.arms])
    best: dict[str, dict] = {}
    for row in rows:
        r = dict(zip(names, row, strict=True))
        z = r["redshift"] or 0.0
        observed = lam * (1 + z)
        span = r["wl_max"] - r["wl_min"]
        t = (observed - r["wl_min"]) / span if span > 0 else 0.0
        power = r["res_power_min"] + t * (r["res_power_max"] - r["res_power_min"])
        record = {"spectrum_id": r["spectrum_id"], "cj_id": r["cj_id"], "arm": r["arm"],
                  "segment": r["segment"], "object_name": r["object_name"],
                  "redshift": r["redshift"], "observed_wavelength": observed,
                  "resolving_power": power}
        kept = best.get(r["spectrum_id"])
        if kept is None or power > kept["resolving_power"]:
            best[r["spectrum_id"]] = record
    found = list(best.values())
    for arm_name in q.arms:
        these = [f for f in found if f["arm"] == arm_name]
        snr = _local_snr(grids_of(store, arm_name), [f["cj_id"] for f in these], lam,
                         np.array([f["resolving_power"] for f in these]))
        for record, value in zip(these, snr, strict=True):
            record["local_snr"] = None if not np.isfinite(value) else float(value)
    if q.min_snr is not None:
        found = [f for f in found if f["local_snr"] is not None and
                 f["local_snr"] >= q.min_snr]
    found.sort(key=lambda f: (-(f["local_snr"] if f["local_snr"] is not None else -math.inf),
                              f["spectrum_id"]))
    return found[:q.maxrec], len(found) > q.maxrec


def rows_votable(store: Store, fields: list[FieldSpec], rows: list[dict], *,
                 overflow: bool = False, description: str, infos=()) -> bytes:
    """A result table of dictionaries (keys = field names)."""
    columns = [[r.get(f.name) for r in rows] for f in fields]
    for f, column in zip(fields, columns, strict=True):
        if f.datatype == "boolean":
            column[:] = [None if v is None else bool(v) for v in column]
    return results_votable(fields, columns, overflow=overflow, infos=infos,
                           description=description)
