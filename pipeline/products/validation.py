"""What a valid product is: the scalar fields, the variants and, per row, the segments and
wavelengths (``validate_product``; the codec runs the same checks on every write and read).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np

from .model import (
    ARMS,
    SEG_WIDTH,
    SEGMENTS,
    STEP_STATUSES,
    Product,
    ProductError,
    Selection,
    check_choice,
    parse_cj_id,
    parse_variant_key,
    str_to_seg,
)

__all__ = ["check_rows", "check_scalars", "concat_rows", "validate_product"]

def _check_json(value: Any, where: str) -> None:
    if value is None or isinstance(value, str | bool | int | float):
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ProductError(f"{where} has a non-string key {key!r}")
            _check_json(item, f"{where}[{key!r}]")
    else:
        raise ProductError(f"{where} is a {type(value).__name__}, not JSON "
                           "(use dict, list, str, int, float, bool or None)")


def check_scalars(p: Product) -> None:
    """Everything but the per-row checks; messages are prefixed by the caller."""
    if (p.aorkey, p.pointing) != parse_cj_id(p.cj_id):
        raise ProductError(f"aorkey/pointing {p.aorkey}/{p.pointing} do not match the ID")
    if not isinstance(p.object_name, str) or not isinstance(p.simulated, bool):
        raise ProductError("object_name must be a str and simulated a bool")
    for name, ra, dec in (("requested", p.ra_rqst_deg, p.dec_rqst_deg),
                          ("measured", p.ra_deg, p.dec_deg)):
        if name == "measured" and math.isnan(ra) and math.isnan(dec):
            continue
        if not (0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0):
            raise ProductError(f"{name} position ({ra}, {dec}) is not valid ICRS degrees")
    prov = p.provenance
    if not all(isinstance(v, str) for v in (prov.software, prov.version,
                                            prov.calibration_set, prov.date)):
        raise ProductError("provenance software, version, calibration_set, date must be str")
    try:
        _dt.datetime.fromisoformat(prov.date)
    except ValueError:
        raise ProductError(f"provenance date {prov.date!r} is not ISO 8601") from None
    for step in prov.steps:
        if len(step) != 2 or not isinstance(step[0], str) or not step[0]:
            raise ProductError(f"provenance step {step!r} is not (name, status)")
        check_choice(step[1], STEP_STATUSES, f"status of step {step[0]!r}:")
    _check_json(p.metadata, "metadata")
    if len(p.spectra) > 32767:
        raise ProductError("more than 32767 variants")
    keys: set[str] = set()
    chosen: dict[str, str] = {}
    for s in p.spectra:
        if s.key in keys:
            raise ProductError(f"variant {s.key!r} appears twice")
        keys.add(s.key)
        if parse_variant_key(s.key) != (s.arm, s.background, s.extraction, s.nods,
                                        s.calibration):
            raise ProductError(f"variant {s.key!r} does not match its parts")
        n = len(s.wavelength_um)
        if n == 0 or not n == len(s.flux_jy) == len(s.flux_error_jy) == len(s.segment) \
                == len(s.flag):
            raise ProductError(f"variant {s.key!r}: arrays are empty or of unequal length")
        for seg, factor in s.scale_factors.items():
            if seg not in SEGMENTS[s.arm] or not math.isfinite(factor):
                raise ProductError(f"variant {s.key!r}: bad scale factor {seg!r}: {factor}")
        if s.selected:
            if s.arm in chosen:
                raise ProductError(f"{s.arm} has two selected variants: {chosen[s.arm]!r} "
                                   f"and {s.key!r}")
            chosen[s.arm] = s.key
    for arm, sel in p.selection.items():
        check_choice(arm, ARMS, "selection arm")
        if not isinstance(sel, Selection) or not all(isinstance(r, str) for r in sel.reasons):
            raise ProductError(f"selection[{arm!r}] must be a Selection with str reasons")
    for arm in ARMS:
        sel = p.selection.get(arm)
        if (sel.key if sel else None) != chosen.get(arm):
            raise ProductError(f"selection says {arm} variant {sel.key if sel else None!r} but "
                               f"the selected flags say {chosen.get(arm)!r}")


def _seg_name(code: int) -> str:
    return code.to_bytes(4, "big").rstrip(b"\0").decode("ascii", "replace")


def check_rows(p: Product, counts: np.ndarray, wl: np.ndarray, seg: np.ndarray) -> None:
    """Per-row checks on the concatenated rows (seg: contiguous S4 array)."""
    ends = np.cumsum(counts)
    finite = np.isfinite(wl)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise ProductError(f"variant {p.spectra[np.searchsorted(ends, bad, 'right')].key!r}"
                           " has a non-finite wavelength")
    codes = seg.view(">u4")
    brk = codes[1:] != codes[:-1]
    brk[ends[:-1] - 1] = True
    starts = np.flatnonzero(np.concatenate(([True], brk))) if len(wl) else ends[:0]
    run_var = np.searchsorted(ends, starts, "right")
    run_codes = codes[starts].astype(np.uint64)
    hr = np.array([s.arm == "HR" for s in p.spectra], np.uint64)[run_var]
    for code in set((run_codes * np.uint64(2) + hr).tolist()):
        arm = "HR" if code & 1 else "LR"
        name = _seg_name(code >> 1)
        if name not in SEGMENTS[arm]:
            raise ProductError(f"unknown {arm} segment {name!r}; allowed: "
                               f"{', '.join(SEGMENTS[arm])}")
    pairs = np.sort((run_var.astype(np.uint64) << np.uint64(32)) | run_codes)
    if (pairs[1:] == pairs[:-1]).any():
        dup = int(pairs[1:][pairs[1:] == pairs[:-1]][0])
        raise ProductError(f"variant {p.spectra[dup >> 32].key!r}: segment "
                           f"{_seg_name(dup & 0xFFFFFFFF)} is not one contiguous block")
    bad = ~(brk | (np.diff(wl) > 0))
    if bad.any():
        row = int(np.argmax(bad)) + 1
        s = p.spectra[np.searchsorted(ends, row, "right")]
        raise ProductError(f"variant {s.key!r}: wavelength not strictly increasing within "
                           f"segment {_seg_name(int(codes[row]))} at {wl[row]} um")


def concat_rows(p: Product) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = np.fromiter((len(s.wavelength_um) for s in p.spectra), np.int64, len(p.spectra))
    if not p.spectra:
        return counts, np.zeros(0), np.zeros(0, f"S{SEG_WIDTH}")
    wl = np.concatenate([s.wavelength_um for s in p.spectra])
    return counts, wl, str_to_seg(np.concatenate([s.segment for s in p.spectra]))


def validate_product(product: Product) -> None:
    """Check a product completely; raise ProductError naming the ID and the problem."""
    try:
        check_scalars(product)
        check_rows(product, *concat_rows(product))
    except ProductError as exc:
        raise ProductError(f"product {product.cj_id!r}: {exc}") from None
