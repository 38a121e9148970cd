"""THE pipeline product format: one FITS file per CASSISjuice ID, written atomically.

A product holds every method variant of the LR and HR spectra of one targeted position
(the "full atlas") and which variant was selected per arm (the "concentrate"). This is the
only module that writes or reads reduced products.

File ``<ID>.fits`` (format version ``CJPRODV = 1``), all tables big-endian FITS binary:

* primary HDU, no data: a readable mirror of the record (ID, AORKEY, POINTING, OBJECT,
  RA/DEC measured and requested in ICRS degrees, SIMULATE, software, steps, CALSET, DATE,
  selection per arm, scalar metadata as ``HIERARCH CJ META <KEY>`` cards);
* ``SPECTRA``: one row per point, sorted by variant then as given, columns ``variant``
  (int16), ``wavelength`` (um), ``flux`` (Jy), ``flux_error`` (Jy), ``segment`` (4A),
  ``flag`` (int32 bits);
* ``VARIANTS``: one row per variant: ``index, key, arm, background, extraction, nods,
  calibration, selected, n_points, snr``;
* ``SCALES``: ``variant, segment, factor``: order/module matching scale factors;
* ``META``: one row, one column ``json``: the authoritative record of the scalar fields,
  provenance, selection and free-form metadata (exact round trip; float repr).

astropy and TOPCAT read the files; this module encodes and decodes them directly with numpy,
since going through ``astropy.io.fits`` costs tens of milliseconds per file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from . import __version__
from .fits_bytes import BLOCK, bintable, card, header, header_value

__all__ = [
    "ARMS", "BACKGROUNDS", "CALIBRATIONS", "CJ_ID_PATTERN", "EXTRACTIONS", "FLAG_LOW_SNR",
    "FLAG_REPLACED_PIXELS", "FORMAT_VERSION",
    "NODS", "SEGMENTS", "STEP_STATUSES", "Product", "ProductError", "Provenance",
    "Selection", "Spectrum", "VariantParts", "clean_temporaries", "format_cj_id",
    "is_complete", "list_products", "parse_cj_id", "parse_variant_key", "product_path",
    "read_product", "validate_product", "variant_key", "write_product",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CJ_ID_PATTERN = re.compile(r"^([0-9]{4,10})_([0-9]{1,3})$")
ARMS: tuple[str, ...] = ("LR", "HR")
BACKGROUNDS = MappingProxyType({"LR": ("bynod", "byorder", "insitu", "none"),
                                "HR": ("none", "localcont", "diff", "zodi")})
EXTRACTIONS = MappingProxyType({"LR": ("optimal", "tapered", "extended"),
                                "HR": ("optimal", "fullap", "extended")})
NODS = MappingProxyType({"LR": ("common", "interleaved"), "HR": ("nods", "nodcomb", "diff")})
CALIBRATIONS = MappingProxyType({"LR": ("point", "extended", "partial"),
                                 "HR": ("point", "extended", "partial")})
SEGMENTS = MappingProxyType({
    "LR": ("SL1", "SL2", "SL3", "LL1", "LL2", "LL3"),
    "HR": tuple(f"{m}{o}" for m in ("SH", "LH") for o in range(11, 21)),
})
STEP_STATUSES: tuple[str, ...] = ("COMPLETE", "SKIPPED")
#: ``flag`` bits of a spectrum point: the extraction used pixels replaced by the cleaning,
#: or dropped a pixel as an outlier (a cosmic ray no stack of exposures removed)
FLAG_REPLACED_PIXELS = 1
#: ``flag`` bits: the point's signal-to-noise ratio is below 3
FLAG_LOW_SNR = 2

_SEG_WIDTH = 4
_TEMP_RE = re.compile(r"^\.[0-9]{4,10}_[0-9]{1,3}\.[0-9]+\.[0-9a-f]{8}\.fits\.tmp$")
_HIER_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_EXTENSIONS = ("SPECTRA", "VARIANTS", "SCALES", "META")
_SPECTRA_DTYPE = np.dtype([("variant", ">i2"), ("wavelength", ">f8"), ("flux", ">f8"),
                           ("flux_error", ">f8"), ("segment", f"S{_SEG_WIDTH}"),
                           ("flag", ">i4")])
_UNITS = {"wavelength": "um", "flux": "Jy", "flux_error": "Jy"}
_LOGICAL = frozenset({"selected"})
_FROM_TFORM = {"I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8", "B": "u1"}


class ProductError(ValueError):
    """A product is invalid, or a file is missing, corrupt or not a product."""


class VariantParts(NamedTuple):
    """The parts of a variant key, in :func:`variant_key` argument order."""

    arm: str
    background: str
    extraction: str
    nods: str
    calibration: str


def _choice(value: object, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ProductError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")


@lru_cache(maxsize=1024)
def variant_key(arm: str, background: str, extraction: str, nods: str,
                calibration: str) -> str:
    """Format a variant key ``ARM/extraction/background/nods/calibration``.

    Parameters
    ----------
    arm : {'LR', 'HR'}
    background, extraction, nods, calibration : str
        Method parts, each from the arm's vocabulary (``BACKGROUNDS[arm]`` etc.).

    Returns
    -------
    str
        e.g. ``'LR/optimal/bynod/common/point'``.

    Raises
    ------
    ProductError
        If a part is not in its vocabulary.
    """
    _choice(arm, ARMS, "arm")
    _choice(background, BACKGROUNDS[arm], f"{arm} background")
    _choice(extraction, EXTRACTIONS[arm], f"{arm} extraction")
    _choice(nods, NODS[arm], f"{arm} nod handling")
    _choice(calibration, CALIBRATIONS[arm], f"{arm} calibration")
    return f"{arm}/{extraction}/{background}/{nods}/{calibration}"


@lru_cache(maxsize=1024)
def parse_variant_key(key: str) -> VariantParts:
    """Split and validate a variant key; inverse of :func:`variant_key`.

    Raises
    ------
    ProductError
        If the key does not have five parts or a part is unknown.
    """
    parts = key.split("/") if isinstance(key, str) else []
    if len(parts) != 5:
        raise ProductError(f"variant key {key!r} is not ARM/extraction/background/nods/"
                           "calibration")
    arm, extraction, background, nods, calibration = parts
    variant_key(arm, background, extraction, nods, calibration)
    return VariantParts(arm, background, extraction, nods, calibration)


def parse_cj_id(cj_id: str) -> tuple[int, int]:
    """Return ``(aorkey, pointing)`` of a CASSISjuice ID; ProductError if malformed."""
    match = CJ_ID_PATTERN.match(cj_id) if isinstance(cj_id, str) else None
    if match is None:
        raise ProductError(f"{cj_id!r} is not a CASSISjuice ID (<AORKEY>_<N>)")
    return int(match[1]), int(match[2])


def format_cj_id(aorkey: int, pointing: int) -> str:
    """Return the CASSISjuice ID ``<AORKEY>_<N>``; ProductError if out of range."""
    cj_id = f"{aorkey}_{pointing}"
    parse_cj_id(cj_id)
    return cj_id


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _readonly(array: np.ndarray) -> np.ndarray:
    if array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


def _str_to_seg(seg: np.ndarray) -> np.ndarray:
    """Fast ASCII encoding of a '<U' array into 'S4' (numpy's own cast is ~300x slower)."""
    width = seg.dtype.itemsize // 4
    codes = np.ascontiguousarray(seg).view(np.uint32).reshape(len(seg), width)
    if codes.size and codes.max() > 127:
        raise ProductError("segment names must be ASCII")
    if width > _SEG_WIDTH:
        if codes[:, _SEG_WIDTH:].any():
            raise ProductError(f"segment names are at most {_SEG_WIDTH} characters")
        codes = codes[:, :_SEG_WIDTH]
    out = np.zeros((len(seg), _SEG_WIDTH), np.uint8)
    out[:, :width] = codes
    return out.view(f"S{_SEG_WIDTH}").ravel()


def _seg_to_str(seg: np.ndarray) -> np.ndarray:
    width = seg.dtype.itemsize
    codes = np.ascontiguousarray(seg).view(np.uint8).reshape(len(seg), width)
    return codes.astype(np.uint32).view(f"<U{width}").ravel()


@dataclass(frozen=True, eq=False)
class Spectrum:
    """One method variant of one arm.

    Attributes
    ----------
    key : str
        Variant key, ``variant_key(arm, background, extraction, nods, calibration)``.
    arm, background, extraction, nods, calibration : str
        The key's parts (vocabularies: ARMS, BACKGROUNDS, EXTRACTIONS, NODS, CALIBRATIONS).
    wavelength_um, flux_jy, flux_error_jy : ndarray of float64
        1-D, equal length, read-only; wavelengths finite and strictly increasing within
        each segment (segments may overlap in wavelength).
    segment : ndarray of str
        Segment (order) of each point, from ``SEGMENTS[arm]``; each segment one contiguous
        block. May be given as one string for all points.
    flag : ndarray of int32
        Bit flags per point; None gives zeros.
    selected : bool
        Whether this is the arm's selected ("best") variant.
    snr : float
        Median signal-to-noise ratio (NaN if unknown).
    scale_factors : dict of str to float
        Order/module matching factors by segment: what would scale the segment onto its
        neighbours in their wavelength overlaps. Measured and reported, not applied to
        ``flux_jy`` (issue 3: scale factors are kept, not hidden).

    Notes
    -----
    Equality is exact: arrays are compared bit for bit.
    """

    key: str
    arm: str
    background: str
    extraction: str
    nods: str
    calibration: str
    wavelength_um: np.ndarray
    flux_jy: np.ndarray
    flux_error_jy: np.ndarray
    segment: np.ndarray
    flag: np.ndarray | None = None
    selected: bool = False
    snr: float = math.nan
    scale_factors: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        put = object.__setattr__
        try:
            for name in ("wavelength_um", "flux_jy", "flux_error_jy"):
                array = np.asarray(getattr(self, name), dtype=np.float64)
                if array.ndim != 1:
                    raise ProductError(f"{name} must be 1-D")
                put(self, name, _readonly(array))
            n = len(self.wavelength_um)
            seg = np.asarray(self.segment)
            if seg.dtype.kind == "S":
                seg = _seg_to_str(seg)
            elif seg.dtype.kind != "U":
                seg = seg.astype(str)
            put(self, "segment", _readonly(np.full(n, seg.item()) if seg.ndim == 0 else seg))
            flag = np.zeros(n, np.int32) if self.flag is None else np.asarray(self.flag)
            if flag.dtype != np.int32:
                if flag.size and (flag.dtype.kind not in "iub" or (
                        int(flag.min()) < -2**31 or int(flag.max()) >= 2**31)):
                    raise ProductError("flag must hold int32 bit flags")
                flag = flag.astype(np.int32)
            put(self, "flag", _readonly(flag))
            if not isinstance(self.selected, bool | np.bool_):
                raise ProductError(f"selected must be a bool, not {self.selected!r}")
            put(self, "selected", bool(self.selected))
            put(self, "snr", float(self.snr))
            put(self, "scale_factors", {str(k): float(v) for k, v in self.scale_factors.items()})
        except (TypeError, ValueError) as exc:
            raise ProductError(f"variant {self.key!r}: {exc}") from exc

    @classmethod
    def from_key(cls, key: str, wavelength_um: Any, flux_jy: Any, flux_error_jy: Any,
                 segment: Any, flag: Any = None, **kwargs: Any) -> Spectrum:
        """Build a spectrum whose method parts are taken from a variant key."""
        p = parse_variant_key(key)
        return cls(key, p.arm, p.background, p.extraction, p.nods, p.calibration,
                   wavelength_um, flux_jy, flux_error_jy, segment, flag, **kwargs)

    @property
    def n_points(self) -> int:
        """Number of points."""
        return len(self.wavelength_um)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spectrum):
            return NotImplemented
        same = (self.key, self.arm, self.background, self.extraction, self.nods,
                self.calibration, self.selected, self.scale_factors) == (
            other.key, other.arm, other.background, other.extraction, other.nods,
            other.calibration, other.selected, other.scale_factors)
        return (same and np.float64(self.snr).view(np.int64) == np.float64(other.snr).view(
            np.int64) and all(a.shape == b.shape and np.array_equal(
                a.view(np.int64), b.view(np.int64)) for a, b in (
                (self.wavelength_um, other.wavelength_um), (self.flux_jy, other.flux_jy),
                (self.flux_error_jy, other.flux_error_jy)))
            and np.array_equal(self.segment, other.segment)
            and np.array_equal(self.flag, other.flag))

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Provenance:
    """How a product was made.

    Attributes
    ----------
    software, version : str
        Producing software and its version.
    steps : tuple of (str, str)
        ``(step name, status)`` in run order, status from STEP_STATUSES.
    calibration_set : str
        Name of the calibration set used.
    date : str
        ISO 8601 UTC date the product was made (default: now).
    """

    software: str = "cassisjuice-vo"
    version: str = __version__
    steps: tuple[tuple[str, str], ...] = ()
    calibration_set: str = ""
    date: str = field(default_factory=_utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(tuple(step) for step in self.steps))


@dataclass(frozen=True)
class Selection:
    """The selection decision for one arm.

    Attributes
    ----------
    key : str or None
        Key of the selected variant; None when no variant is usable.
    reasons : tuple of str
        Short human-readable reasons (a single string is accepted).
    """

    key: str | None
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        reasons = (self.reasons,) if isinstance(self.reasons, str) else tuple(self.reasons)
        object.__setattr__(self, "reasons", reasons)


@dataclass(frozen=True)
class Product:
    """Everything known about one CASSISjuice ID: all variants, the selection, provenance.

    Attributes
    ----------
    cj_id : str
        ``<AORKEY>_<N>``; ``aorkey`` and ``pointing`` must match it.
    aorkey, pointing : int
    object_name : str
    ra_deg, dec_deg : float
        Measured position, ICRS degrees (both NaN when not measured).
    ra_rqst_deg, dec_rqst_deg : float
        Requested position, ICRS degrees.
    simulated : bool
        The input data were simulated.
    provenance : Provenance
    selection : dict of str to Selection
        Decision per arm; must agree with the spectra's ``selected`` flags.
    metadata : dict
        Free-form JSON-able data (dict, list, str, int, float, bool, None): spatial
        extent, S/N, ...
    spectra : tuple of Spectrum
        All method variants, both arms.
    """

    cj_id: str
    aorkey: int
    pointing: int
    object_name: str
    ra_deg: float
    dec_deg: float
    ra_rqst_deg: float
    dec_rqst_deg: float
    simulated: bool
    provenance: Provenance
    selection: Mapping[str, Selection] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    spectra: tuple[Spectrum, ...] = ()

    def __post_init__(self) -> None:
        try:
            for name in ("ra_deg", "dec_deg", "ra_rqst_deg", "dec_rqst_deg"):
                object.__setattr__(self, name, float(getattr(self, name)))
        except (TypeError, ValueError) as exc:
            raise ProductError(f"product {self.cj_id!r}: positions must be floats") from exc
        object.__setattr__(self, "spectra", tuple(self.spectra))
        object.__setattr__(self, "selection", dict(self.selection))
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def arms(self) -> tuple[str, ...]:
        """Arms with at least one spectrum, in ARMS order."""
        present = {s.arm for s in self.spectra}
        return tuple(arm for arm in ARMS if arm in present)

    def variant(self, key: str) -> Spectrum:
        """The spectrum with this variant key; KeyError if absent."""
        for spectrum in self.spectra:
            if spectrum.key == key:
                return spectrum
        raise KeyError(f"product {self.cj_id} has no variant {key!r}")

    def best(self, arm: str) -> Spectrum | None:
        """The selected spectrum of ``arm``, or None."""
        return next((s for s in self.spectra if s.arm == arm and s.selected), None)

    def concentrate(self) -> Product:
        """The same product holding only the selected spectra."""
        return replace(self, spectra=tuple(s for s in self.spectra if s.selected))


# ----------------------------------------------------------------------------- validation

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


def _check_scalars(p: Product) -> None:
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
        _choice(step[1], STEP_STATUSES, f"status of step {step[0]!r}:")
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
        _choice(arm, ARMS, "selection arm")
        if not isinstance(sel, Selection) or not all(isinstance(r, str) for r in sel.reasons):
            raise ProductError(f"selection[{arm!r}] must be a Selection with str reasons")
    for arm in ARMS:
        sel = p.selection.get(arm)
        if (sel.key if sel else None) != chosen.get(arm):
            raise ProductError(f"selection says {arm} variant {sel.key if sel else None!r} but "
                               f"the selected flags say {chosen.get(arm)!r}")


def _seg_name(code: int) -> str:
    return code.to_bytes(4, "big").rstrip(b"\0").decode("ascii", "replace")


def _check_rows(p: Product, counts: np.ndarray, wl: np.ndarray, seg: np.ndarray) -> None:
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


def _concat(p: Product) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = np.fromiter((len(s.wavelength_um) for s in p.spectra), np.int64, len(p.spectra))
    if not p.spectra:
        return counts, np.zeros(0), np.zeros(0, f"S{_SEG_WIDTH}")
    wl = np.concatenate([s.wavelength_um for s in p.spectra])
    return counts, wl, _str_to_seg(np.concatenate([s.segment for s in p.spectra]))


def validate_product(product: Product) -> None:
    """Check a product completely; raise ProductError naming the ID and the problem."""
    try:
        _check_scalars(product)
        _check_rows(product, *_concat(product))
    except ProductError as exc:
        raise ProductError(f"product {product.cj_id!r}: {exc}") from None


# ----------------------------------------------------------------------------- FITS encoding

def _primary_header(p: Product, size: int) -> bytes:
    prov = p.provenance
    cards = [card("SIMPLE", True, "conforms to FITS"), card("BITPIX", 8), card("NAXIS", 0),
             card("EXTEND", True),
             card("CJPRODV", FORMAT_VERSION, "CASSISjuice product format version"),
             card("CJSIZE", size, "file size in bytes (completeness check)"),
             card("CJ_ID", p.cj_id, "CASSISjuice ID <AORKEY>_<N>"),
             card("AORKEY", p.aorkey), card("POINTING", p.pointing, "pointing in the AOR"),
             card("OBJECT", p.object_name), card("RADESYS", "ICRS"),
             card("RA", p.ra_deg, "[deg] measured"), card("DEC", p.dec_deg, "[deg] measured"),
             card("RA_RQST", p.ra_rqst_deg, "[deg] requested"),
             card("DEC_RQST", p.dec_rqst_deg, "[deg] requested"),
             card("SIMULATE", p.simulated, "input data were simulated"),
             card("SWNAME", prov.software), card("SWVERSN", prov.version),
             card("CALSET", prov.calibration_set, "calibration set"),
             card("DATE", prov.date, "product written (UTC)"),
             card("NSTEPS", len(prov.steps), "reduction steps")]
    for i, (name, status) in enumerate(prov.steps[:999], 1):
        cards += [card(f"STEP{i:03d}", name), card(f"STAT{i:03d}", status)]
    cards.append(card("NVARIANT", len(p.spectra), "method variants"))
    for arm, sel in p.selection.items():
        cards += [card(f"SEL_{arm}", sel.key or "NONE", f"selected {arm} variant"),
                  card(f"WHY_{arm}", "; ".join(sel.reasons))]
    for key, value in p.metadata.items():
        if _HIER_KEY_RE.match(key) and isinstance(value, str | int | float):
            cards.append(card(f"CJ META {key.upper()}", value))
    cards.append("COMMENT   Authoritative record: extension META (JSON)".ljust(80))
    return header(cards)


def _table_hdu(name: str, data: np.ndarray) -> list[Any]:
    return bintable(name, data, units=_UNITS, logical=_LOGICAL)


def _str_table(columns: list[tuple[str, str, list[Any]]], n: int) -> np.ndarray:
    """Small table from (name, dtype, values); 'S' dtypes get the width of the longest."""
    dtype = []
    for name, code, values in columns:
        if code == "S":
            code = f"S{max([len(v) for v in values] + [1])}"
        dtype.append((name, code))
    data = np.zeros(n, dtype)
    for name, _, values in columns:
        data[name] = values
    return data


def _encode(p: Product) -> list[Any]:
    """Validate and encode a product as a list of byte buffers."""
    try:
        _check_scalars(p)
        counts, wl, seg = _concat(p)
        _check_rows(p, counts, wl, seg)
    except ProductError as exc:
        raise ProductError(f"product {p.cj_id!r}: {exc}") from None
    specs = p.spectra
    rows = np.empty(len(wl), _SPECTRA_DTYPE)
    rows["variant"] = np.repeat(np.arange(len(specs), dtype=np.int16), counts)
    rows["wavelength"] = wl
    if specs:
        rows["flux"] = np.concatenate([s.flux_jy for s in specs])
        rows["flux_error"] = np.concatenate([s.flux_error_jy for s in specs])
        rows["flag"] = np.concatenate([s.flag for s in specs])
    rows["segment"] = seg
    parts = [parse_variant_key(s.key) for s in specs]
    variants = _str_table([
        ("index", ">i2", list(range(len(specs)))), ("key", "S", [s.key for s in specs]),
        ("arm", "S", [s.arm for s in specs]),
        *[(f, "S", [getattr(v, f) for v in parts])
          for f in ("background", "extraction", "nods", "calibration")],
        ("selected", "S1", [b"T" if s.selected else b"F" for s in specs]),
        ("n_points", ">i4", counts), ("snr", ">f8", [s.snr for s in specs])], len(specs))
    scales = [(i, k, v) for i, s in enumerate(specs) for k, v in s.scale_factors.items()]
    scale_table = _str_table([("variant", ">i2", [r[0] for r in scales]),
                              ("segment", f"S{_SEG_WIDTH}", [r[1] for r in scales]),
                              ("factor", ">f8", [r[2] for r in scales])], len(scales))
    prov = p.provenance
    doc = {"cj_id": p.cj_id, "aorkey": p.aorkey, "pointing": p.pointing,
           "object_name": p.object_name, "ra_deg": p.ra_deg, "dec_deg": p.dec_deg,
           "ra_rqst_deg": p.ra_rqst_deg, "dec_rqst_deg": p.dec_rqst_deg,
           "simulated": p.simulated,
           "provenance": {"software": prov.software, "version": prov.version,
                          "steps": [list(s) for s in prov.steps],
                          "calibration_set": prov.calibration_set, "date": prov.date},
           "selection": {a: {"key": s.key, "reasons": list(s.reasons)}
                         for a, s in p.selection.items()},
           "metadata": p.metadata}
    text = json.dumps(doc, separators=(",", ":")).encode("ascii")
    meta = np.frombuffer(text, f"S{len(text)}", 1).view([("json", f"S{len(text)}")])
    out = []
    for name, data in zip(_EXTENSIONS, (rows, variants, scale_table, meta), strict=True):
        out += _table_hdu(name, data)
    primary = bytearray(_primary_header(p, 0))
    size = len(primary) + sum(len(c) if isinstance(c, bytes) else c.nbytes for c in out)
    primary[400:480] = card("CJSIZE", size, "file size in bytes (completeness check)").encode()
    return [bytes(primary), *out]


def _write_chunks(fh: BinaryIO, chunks: list[Any]) -> None:
    for chunk in chunks:
        fh.write(chunk)


def product_path(directory: str | os.PathLike[str], cj_id: str) -> Path:
    """Path of the product file of ``cj_id`` in ``directory``."""
    parse_cj_id(cj_id)
    return Path(directory) / f"{cj_id}.fits"


def write_product(product: Product, directory: str | os.PathLike[str], *,
                  fsync: bool = True, atomic: bool = True) -> Path:
    """Validate and write ``<directory>/<ID>.fits`` atomically.

    The file is written under a temporary name (``.<ID>.<pid>.<random>.fits.tmp``) in the
    same directory, flushed (``fsync``) and renamed over the target, so readers see the old
    file or the new one, never a partial one.

    Parameters
    ----------
    product : Product
    directory : path
        Created if missing.
    fsync : bool
        Flush file and directory to disk (survives power loss). ``False`` keeps the
        rename's atomicity against process crashes only, and is faster.
    atomic : bool
        ``False`` writes the final name directly, without the temporary name and the
        rename (and without ``fsync``): only for a directory no reader sees before the
        writer renames it into place as a whole (``cassisjuice simulate``'s staging).

    Returns
    -------
    Path
        The product file.

    Raises
    ------
    ProductError
        If the product is invalid (nothing is written).
    """
    chunks = _encode(product)
    final = product_path(directory, product.cj_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    if not atomic:
        with open(final, "wb") as fh:
            _write_chunks(fh, chunks)
        return final
    tmp = final.parent / f".{product.cj_id}.{os.getpid()}.{secrets.token_hex(4)}.fits.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with open(fd, "wb") as fh:
            _write_chunks(fh, chunks)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        tmp.replace(final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        except OSError:  # some file systems refuse fsync on directories
            pass
        finally:
            os.close(dir_fd)
    logger.debug("wrote %s (%d variants)", final, len(product.spectra))
    return final


# ----------------------------------------------------------------------------- FITS decoding

def _get(header: Mapping[str, str], key: str, default: Any = None) -> Any:
    if key in header:
        return header_value(header[key], strict=True)
    if default is None:
        raise ProductError(f"keyword {key} missing")
    return default


def _readheader(buf: bytes, pos: int) -> tuple[dict[str, str], int]:
    """Raw value fields of the ``KEY = value`` cards of the header at ``pos``; end offset."""
    cards: dict[str, str] = {}
    while True:
        if pos + BLOCK > len(buf):
            raise ProductError("truncated file (header runs past its end)")
        block = buf[pos:pos + BLOCK].decode("ascii")
        pos += BLOCK
        for i in range(0, BLOCK, 80):
            key = block[i:i + 8].rstrip()
            if key == "END":
                return cards, pos
            if block[i + 8:i + 10] == "= ":
                cards.setdefault(key, block[i + 10:i + 80])


def _int(header: Mapping[str, str], key: str, low: int, high: int, default: Any = None) -> int:
    value = _get(header, key, default)
    if type(value) is not int or not low <= value <= high:
        raise ProductError(f"keyword {key} = {value!r} is not an integer in [{low}, {high}]")
    return value


def _data_size(header: Mapping[str, str]) -> int:
    naxis = _int(header, "NAXIS", 0, 999)
    size = 1 if naxis else 0
    for i in range(1, naxis + 1):
        size *= _int(header, f"NAXIS{i}", 0, 2**40)
    bitpix = _int(header, "BITPIX", -64, 64)
    if bitpix not in (8, 16, 32, 64, -32, -64):
        raise ProductError(f"invalid BITPIX {bitpix}")
    return abs(bitpix) // 8 * _int(header, "GCOUNT", 1, 2**31, 1) * (
        _int(header, "PCOUNT", 0, 2**40, 0) + size)


def _table(header: Mapping[str, str], buf: bytes, start: int, name: str) -> np.ndarray:
    if _get(header, "XTENSION") != "BINTABLE" or _get(header, "PCOUNT", 0) != 0:
        raise ProductError(f"extension {name} is not a plain binary table")
    fields = []
    for i in range(1, _int(header, "TFIELDS", 0, 999) + 1):
        if f"TSCAL{i}" in header or f"TZERO{i}" in header:
            raise ProductError(f"extension {name}: scaled columns are not supported")
        match = re.match(r"\s*([0-9]*)([A-Z])", _get(header, f"TFORM{i}"))
        if match is None or match[2] not in "AL" + "".join(_FROM_TFORM):
            raise ProductError(f"extension {name}: unsupported TFORM{i}")
        rep, code = int(match[1] or 1), match[2]
        base = "S1" if code == "L" else _FROM_TFORM.get(code, f"S{rep}")
        dtype = base if code == "A" or rep == 1 else (base, (rep,))
        fields.append((_get(header, f"TTYPE{i}").lower(), dtype))
    dtype = np.dtype(fields)
    if dtype.itemsize != _get(header, "NAXIS1"):
        raise ProductError(f"extension {name}: NAXIS1 does not match its columns")
    return np.frombuffer(buf, dtype, _get(header, "NAXIS2"), start)


def _col(table: np.ndarray, column: str, name: str) -> np.ndarray:
    if column not in (table.dtype.names or ()):
        raise ProductError(f"extension {name} has no column {column!r}")
    return table[column]


def _decode(buf: bytes) -> Product:
    if not buf.startswith(b"SIMPLE  =") or len(buf) < BLOCK:
        raise ProductError("not a FITS file")
    if len(buf) % BLOCK:
        raise ProductError("truncated file (size is not a multiple of 2880 bytes)")
    primary, pos = _readheader(buf, 0)
    if "CJPRODV" not in primary:
        raise ProductError("not a CASSISjuice product (no CJPRODV keyword)")
    version = _get(primary, "CJPRODV")
    if version != FORMAT_VERSION:
        raise ProductError(f"unknown product format version {version!r} "
                           f"(this software reads version {FORMAT_VERSION})")
    size = _data_size(primary)
    pos += size + (-size % BLOCK)
    tables: dict[str, np.ndarray] = {}
    while pos < len(buf):
        header, start = _readheader(buf, pos)
        name = _get(header, "EXTNAME", "")
        size = _data_size(header)
        if start + size > len(buf):
            raise ProductError(f"truncated file (extension {name or '?'} data)")
        if name in _EXTENSIONS and name not in tables:
            tables[name] = _table(header, buf, start, name)
        pos = start + size + (-size % BLOCK)
    missing = [name for name in _EXTENSIONS if name not in tables]
    if missing:
        raise ProductError(f"not a complete product: missing extension(s) {', '.join(missing)}")

    doc = json.loads(_col(tables["META"], "json", "META")[0])
    var = tables["VARIANTS"]
    index = _col(var, "index", "VARIANTS").astype(np.int64)
    nv = len(index)
    if sorted(index.tolist()) != list(range(nv)):
        raise ProductError("VARIANTS index is not 0..N-1")
    rows = tables["SPECTRA"]
    variant = _col(rows, "variant", "SPECTRA").astype(np.int32)
    if len(variant) and not (variant[1:] >= variant[:-1]).all():
        perm = np.argsort(variant, kind="stable")
        rows, variant = rows[perm], variant[perm]
    if len(variant) and (variant[0] < 0 or variant[-1] >= nv):
        raise ProductError("SPECTRA refers to a variant missing from VARIANTS")
    counts = np.bincount(variant, minlength=nv)
    order = np.argsort(index)
    if not np.array_equal(counts, _col(var, "n_points", "VARIANTS")[order]):
        raise ProductError("VARIANTS n_points disagrees with SPECTRA")
    wl = _col(rows, "wavelength", "SPECTRA").astype(np.float64)
    flux = _col(rows, "flux", "SPECTRA").astype(np.float64)
    error = _col(rows, "flux_error", "SPECTRA").astype(np.float64)
    flag = _col(rows, "flag", "SPECTRA").astype(np.int32)
    seg = _col(rows, "segment", "SPECTRA")
    if seg.dtype.itemsize > _SEG_WIDTH:
        raise ProductError("SPECTRA segment column is wider than 4 characters")
    seg = seg.astype(f"S{_SEG_WIDTH}")
    seg_str = _seg_to_str(seg)
    scales: dict[int, dict[str, float]] = {}
    sc = tables["SCALES"]
    for v, s, f in zip(_col(sc, "variant", "SCALES").tolist(),
                       _col(sc, "segment", "SCALES").tolist(),
                       _col(sc, "factor", "SCALES").tolist(), strict=True):
        scales.setdefault(v, {})[s.decode("ascii")] = f
    text = {c: [b.decode("ascii") for b in _col(var, c, "VARIANTS").tolist()]
            for c in ("key", "arm", "background", "extraction", "nods", "calibration")}
    selected = _col(var, "selected", "VARIANTS").tolist()
    snr = _col(var, "snr", "VARIANTS").tolist()
    ends = np.cumsum(counts).tolist()
    spectra = []
    for j, i in enumerate(order.tolist()):
        if selected[i] not in (b"T", b"F"):
            raise ProductError("VARIANTS selected is neither T nor F")
        a, b = ends[j] - int(counts[j]), ends[j]
        spectra.append(Spectrum(
            text["key"][i], text["arm"][i], text["background"][i], text["extraction"][i],
            text["nods"][i], text["calibration"][i], wl[a:b], flux[a:b], error[a:b],
            seg_str[a:b], flag[a:b], selected[i] == b"T", snr[i], scales.get(j, {})))
    prov = doc["provenance"]
    product = Product(
        doc["cj_id"], doc["aorkey"], doc["pointing"], doc["object_name"], doc["ra_deg"],
        doc["dec_deg"], doc["ra_rqst_deg"], doc["dec_rqst_deg"], doc["simulated"],
        Provenance(prov["software"], prov["version"], tuple(map(tuple, prov["steps"])),
                   prov["calibration_set"], prov["date"]),
        {arm: Selection(s["key"], tuple(s["reasons"])) for arm, s in doc["selection"].items()},
        doc["metadata"], tuple(spectra))
    try:
        _check_scalars(product)
        _check_rows(product, counts, wl, seg)
    except ProductError as exc:
        raise ProductError(f"invalid product {product.cj_id!r}: {exc}") from None
    return product


def read_product(path: str | os.PathLike[str]) -> Product:
    """Read a product file.

    Raises
    ------
    ProductError
        If the file is missing, unreadable, truncated or corrupt, not a product, of an
        unknown format version, or holds an invalid product. The message names the path.
    """
    path = Path(path)
    try:
        buf = path.read_bytes()
    except FileNotFoundError:
        raise ProductError(f"{path}: no such product file") from None
    except OSError as exc:
        raise ProductError(f"{path}: cannot read product file: {exc}") from exc
    try:
        return _decode(buf)
    except ProductError as exc:
        raise ProductError(f"{path}: {exc}") from None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeError) as exc:
        raise ProductError(f"{path}: corrupt product file ({type(exc).__name__}: {exc})"
                           ) from exc


# ----------------------------------------------------------------------------- directories

def list_products(directory: str | os.PathLike[str]) -> list[str]:
    """IDs of the product files in ``directory``, ordered by (AORKEY, N).

    Only regular files named ``<ID>.fits`` count; temporary and foreign files are ignored.
    """
    try:
        with os.scandir(directory) as entries:
            ids = [e.name[:-5] for e in entries if e.name.endswith(".fits")
                   and CJ_ID_PATTERN.match(e.name[:-5]) and e.is_file()]
    except OSError as exc:
        raise ProductError(f"cannot list products in {directory}: {exc}") from exc
    return sorted(ids, key=parse_cj_id)


def is_complete(directory: str | os.PathLike[str], cj_id: str) -> bool:
    """Whether ``<ID>.fits`` exists and looks like a whole product.

    Writes are atomic, so this is a cheap check (the file size equals the ``CJSIZE``
    recorded in the primary header), not a full read; use :func:`read_product` for that.
    """
    try:
        with product_path(directory, cj_id).open("rb") as fh:
            head = fh.read(BLOCK).decode("ascii")
            size = os.fstat(fh.fileno()).st_size
    except (OSError, UnicodeError):
        return False
    at = head.find("CJSIZE  = ")
    return at % 80 == 0 and head[at + 10:at + 30].strip() == str(size)


def clean_temporaries(directory: str | os.PathLike[str], *, min_age_s: float = 3600.0) -> int:
    """Remove temporary files left by interrupted writes older than ``min_age_s``.

    Returns
    -------
    int
        Number of files removed.
    """
    removed, now = 0, time.time()
    with os.scandir(directory) as entries:
        for entry in entries:
            if _TEMP_RE.match(entry.name) and now - entry.stat().st_mtime >= min_age_s:
                with contextlib.suppress(FileNotFoundError):
                    Path(entry.path).unlink()
                    removed += 1
    if removed:
        logger.info("removed %d stale temporary product file(s) from %s", removed, directory)
    return removed
