"""The product format's data model: variant vocabularies, IDs and keys, and the frozen
records ``Spectrum``, ``Provenance``, ``Selection`` and ``Product``.

The format itself (one FITS file per ID) is described in ``pipeline.products``; what a valid
product is lives in ``validation``, its FITS encoding in ``fits_codec`` and where the files
live in ``layout``.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from .. import __version__

__all__ = [
    "ARMS", "BACKGROUNDS", "CALIBRATIONS", "CJ_ID_PATTERN", "EXTRACTIONS", "FLAG_LOW_SNR",
    "FLAG_REPLACED_PIXELS", "FORMAT_VERSION", "NODS", "SEGMENTS", "SEG_WIDTH", "STEP_STATUSES",
    "Product", "ProductError", "Provenance", "Selection", "Spectrum", "VariantParts",
    "check_choice", "format_cj_id", "parse_cj_id", "parse_variant_key", "seg_to_str",
    "str_to_seg", "variant_key",
]

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
#: provenance step statuses (``pipeline.provenance`` says what each means)
STEP_STATUSES: tuple[str, ...] = ("COMPLETE", "PARTIAL", "REFUSED", "SKIPPED", "FAILED")
#: ``flag`` bits of a spectrum point: the extraction used pixels replaced by the cleaning,
#: or dropped a pixel as an outlier (a cosmic ray no stack of exposures removed)
FLAG_REPLACED_PIXELS = 1
#: ``flag`` bits: the point's signal-to-noise ratio is below 3
FLAG_LOW_SNR = 2

SEG_WIDTH = 4


class ProductError(ValueError):
    """A product is invalid, or a file is missing, corrupt or not a product."""


class VariantParts(NamedTuple):
    """The parts of a variant key, in :func:`variant_key` argument order."""

    arm: str
    background: str
    extraction: str
    nods: str
    calibration: str


def check_choice(value: object, allowed: tuple[str, ...], what: str) -> None:
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
    check_choice(arm, ARMS, "arm")
    check_choice(background, BACKGROUNDS[arm], f"{arm} background")
    check_choice(extraction, EXTRACTIONS[arm], f"{arm} extraction")
    check_choice(nods, NODS[arm], f"{arm} nod handling")
    check_choice(calibration, CALIBRATIONS[arm], f"{arm} calibration")
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
    """The product's date: SOURCE_DATE_EPOCH when set (the reproducible-builds convention
    the simulator follows too: runs on a process pool and on a Dask cluster then write
    the same bytes), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = (_dt.datetime.fromtimestamp(int(epoch), _dt.UTC) if epoch.isdigit()
            else _dt.datetime.now(_dt.UTC))
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def _readonly(array: np.ndarray) -> np.ndarray:
    if array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


def str_to_seg(seg: np.ndarray) -> np.ndarray:
    """Fast ASCII encoding of a '<U' array into 'S4' (numpy's own cast is ~300x slower)."""
    width = seg.dtype.itemsize // 4
    codes = np.ascontiguousarray(seg).view(np.uint32).reshape(len(seg), width)
    if codes.size and codes.max() > 127:
        raise ProductError("segment names must be ASCII")
    if width > SEG_WIDTH:
        if codes[:, SEG_WIDTH:].any():
            raise ProductError(f"segment names are at most {SEG_WIDTH} characters")
        codes = codes[:, :SEG_WIDTH]
    out = np.zeros((len(seg), SEG_WIDTH), np.uint8)
    out[:, :width] = codes
    return out.view(f"S{SEG_WIDTH}").ravel()


def seg_to_str(seg: np.ndarray) -> np.ndarray:
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
                seg = seg_to_str(seg)
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
