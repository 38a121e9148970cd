"""The wavelength zero point of each module in each campaign, from the wavelength calibrator.

The nominal wavelengths of the pixels (the SSC's WAVSAMP, ``pipeline.instrument``) hold on
average, but a module's zero point may move by a fraction of a pixel from one campaign
(the exposures' CAMPAIGN keyword: one switch-on of the instrument) to the next. The
calibration programme observes a source of bright narrow lines at a known velocity in
every campaign (``instrument.standards.WAVELENGTH_CALIBRATORS``). Its lines, fitted on the
nominal wavelengths, give each module's offset in pixels along the dispersion; every
spectrum of that module and campaign is then read at nominal + offset x dispersion. A
campaign without a calibrator keeps the nominal wavelengths, and the product says so.

Which lines: every line of the reduction's line list (``features.catalogue``) that falls
in an order, has no other listed line within :data:`ISOLATION_ELEMENTS` resolution
elements (a blend's centre is not the line's) and stands :data:`MIN_LINE_SNR` times its
noise above a linear continuum: a Gaussian is fitted within
:data:`FIT_HALF_WIDTH_ELEMENTS` resolution elements of where the line should be.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import curve_fit

from .extracted import ArmResult, MethodSpectra
from .features.catalogue import line_wavelengths
from .grouping import Position
from .instrument import IRSModel
from .instrument.standards import WavelengthCalibrator, find_wavelength_calibrator
from .steps.extract import Extraction

__all__ = ["MIN_LINES", "MIN_LINE_SNR", "WavelengthZeroPoints", "ZeroPoint",
           "campaigns_of", "is_wavelength_calibrator", "measure_zero_points"]

#: a line enters only when its fitted peak is this many times its uncertainty
MIN_LINE_SNR = 20.0
#: a module's zero point needs at least this many lines in a campaign
MIN_LINES = 2
#: half-width of the fit window, and the nearest another listed line may be (resolution
#: elements)
FIT_HALF_WIDTH_ELEMENTS = 2.5
ISOLATION_ELEMENTS = 3.0
#: a line more than this many pixels (and than 4 of its sigmas) from the median of its
#: module is left out (a cosmic ray, a line the list lacks next to it)
OUTLIER_PX = 0.15


@dataclass(frozen=True)
class ZeroPoint:
    """A module's wavelength offset in one campaign: pixels along the dispersion (the
    pixel nominally at lambda sees lambda + offset x dispersion), its uncertainty, the
    number of lines and the calibrator positions it comes from."""

    offset_px: float
    error_px: float
    lines: int
    positions: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"offset_px": round(self.offset_px, 5), "error_px": round(self.error_px, 5),
                "lines": self.lines, "positions": list(self.positions)}

    @classmethod
    def from_dict(cls, data: Mapping) -> ZeroPoint:
        point = cls(float(data["offset_px"]), float(data["error_px"]), int(data["lines"]),
                    tuple(str(p) for p in data.get("positions", ())))
        if not (math.isfinite(point.offset_px) and abs(point.offset_px) < 5.0
                and math.isfinite(point.error_px) and point.error_px >= 0):
            raise ValueError(f"a wavelength zero point out of range: {dict(data)}")
        return point


@dataclass(frozen=True)
class WavelengthZeroPoints:
    """module -> CAMPAIGN keyword -> :class:`ZeroPoint`."""

    by_module: Mapping[str, Mapping[str, ZeroPoint]] = field(default_factory=dict)

    def get(self, module: str, campaign: str | None) -> ZeroPoint | None:
        return self.by_module.get(module, {}).get(campaign or "")

    def shifted(self, irs: IRSModel, order: str, wavelength_um: np.ndarray,
                campaign: str | None) -> np.ndarray:
        """The wavelengths of an order's samples in that campaign (the nominal ones when
        the campaign was not calibrated)."""
        the_order = irs.order(order)
        point = self.get(the_order.module, campaign)
        if point is None:
            return wavelength_um
        return wavelength_um + point.offset_px * the_order.geometry.dispersion_um_per_px(
            wavelength_um)

    def to_dict(self) -> dict:
        return {module: {c: p.to_dict() for c, p in sorted(points.items())}
                for module, points in sorted(self.by_module.items())}

    @classmethod
    def from_dict(cls, data: Mapping) -> WavelengthZeroPoints:
        if not isinstance(data, Mapping) or not all(
                isinstance(points, Mapping) and all(isinstance(p, Mapping)
                                                    for p in points.values())
                for points in data.values()):
            raise ValueError("wavelength zero points are not module -> campaign -> point")
        return cls({str(module): {str(c): ZeroPoint.from_dict(p) for c, p in points.items()}
                    for module, points in data.items()})


def is_wavelength_calibrator(position: Position) -> bool:
    """A position of the calibration programme's wavelength calibrator (by OBJECT)."""
    return find_wavelength_calibrator(position.object_name) is not None


def campaigns_of(position: Position) -> dict[str, str]:
    """module -> the CAMPAIGN keyword of its exposures (the most frequent one)."""
    counts: dict[str, dict[str, int]] = {}
    for dce in position.dces:
        if dce.campaign:
            seen = counts.setdefault(dce.module, {})
            seen[dce.campaign] = seen.get(dce.campaign, 0) + 1
    return {module: max(seen, key=seen.get) for module, seen in counts.items()}


def measure_zero_points(calibrators: Iterable[Position], irs: IRSModel,
                        reducers: Mapping[str, Callable[..., ArmResult]]
                        ) -> WavelengthZeroPoints:
    """Each module's zero point in each campaign a calibrator position observed."""
    found: dict[tuple[str, str], list[tuple[float, float]]] = {}
    sources: dict[tuple[str, str], list[str]] = {}
    for position in calibrators:
        calibrator = find_wavelength_calibrator(position.object_name)
        if calibrator is None:
            continue
        campaigns = campaigns_of(position)
        for arm in position.arms:
            method = _line_variant(reducers[arm](position, irs=irs))
            if method is None:
                continue
            for ext in method.orders:
                module = irs.order(ext.order).module
                if module not in campaigns:
                    continue
                key = (module, campaigns[module])
                offsets = _line_offsets(irs, ext, calibrator)
                found.setdefault(key, []).extend(offsets)
                if offsets and position.cj_id not in sources.setdefault(key, []):
                    sources[key].append(position.cj_id)
    by_module: dict[str, dict[str, ZeroPoint]] = {}
    for (module, campaign), offsets in sorted(found.items()):
        point = _combine(offsets, tuple(sources.get((module, campaign), ())))
        if point is not None:
            by_module.setdefault(module, {})[campaign] = point
    return WavelengthZeroPoints(by_module)


def _line_variant(result: ArmResult) -> MethodSpectra | None:
    """The point-source variant whose lines are best measured: an optimal extraction
    (nods combined where there is one), else the first variant."""
    ranked = sorted(result.variants, key=lambda m: (m.extraction != "optimal",
                                                    m.nods not in ("common", "diff")))
    return ranked[0] if ranked else None


def _gaussian_line(x, amplitude, centre, sigma, c0, c1):
    return amplitude * np.exp(-0.5 * ((x - centre) / sigma) ** 2) + c0 + c1 * (x - centre)


def _line_offsets(irs: IRSModel, ext: Extraction, calibrator: WavelengthCalibrator
                  ) -> list[tuple[float, float]]:
    """(offset px, its uncertainty) from each usable line of one extracted order."""
    order = irs.order(ext.order)
    good = np.isfinite(ext.counts) & np.isfinite(ext.counts_error) & (ext.counts_error > 0)
    lam, counts, errors = ext.wavelength_um[good], ext.counts[good], ext.counts_error[good]
    if len(lam) < 8:
        return []
    ascending = np.argsort(lam)
    lam, counts, errors = lam[ascending], counts[ascending], errors[ascending]
    listed = np.array(sorted(line_wavelengths().values()))
    expected_all = calibrator.observed_um(listed)
    out = []
    for expected in expected_all:
        element = float(expected / order.resolving_power(np.array([expected]))[0])
        if not (lam[0] + ISOLATION_ELEMENTS * element < expected
                < lam[-1] - ISOLATION_ELEMENTS * element):
            continue
        if np.sum(np.abs(expected_all - expected) < ISOLATION_ELEMENTS * element) > 1:
            continue
        window = np.abs(lam - expected) < FIT_HALF_WIDTH_ELEMENTS * element
        if window.sum() < 6:
            continue
        measured = _fit_centre(lam[window], counts[window], errors[window], expected,
                               element)
        if measured is None:
            continue
        centre, centre_error = measured
        dispersion = float(order.geometry.dispersion_um_per_px(np.array([centre]))[0])
        # the line at ``expected`` lands on the pixel nominally at ``centre``:
        # centre + offset x dispersion = expected (the dispersion's sign is the trace's)
        out.append(((expected - centre) / dispersion, centre_error / abs(dispersion)))
    return out


def _fit_centre(x: np.ndarray, y: np.ndarray, e: np.ndarray, expected: float,
                element: float) -> tuple[float, float] | None:
    base = float(np.median(np.concatenate([y[:2], y[-2:]])))
    peak = float(np.max(y) - base)
    if not peak > MIN_LINE_SNR * float(np.median(e)):
        return None
    try:
        p, cov = curve_fit(
            _gaussian_line, x, y, sigma=e, absolute_sigma=True,
            p0=(peak, expected, element / 2.3548, base, 0.0),
            bounds=([0, expected - 1.5 * element, 0.2 * element, -np.inf, -np.inf],
                    [np.inf, expected + 1.5 * element, 1.5 * element, np.inf, np.inf]))
    except (RuntimeError, ValueError):
        return None
    errors = np.sqrt(np.diag(cov))
    if not (np.all(np.isfinite(errors)) and p[0] > MIN_LINE_SNR * errors[0]):
        return None
    return float(p[1]), float(errors[1])


def _combine(offsets: list[tuple[float, float]], positions: tuple[str, ...]
             ) -> ZeroPoint | None:
    """The weighted mean of a module's line offsets after the outliers; its uncertainty
    is the larger of the formal one and the lines' scatter about it."""
    if len(offsets) < MIN_LINES:
        return None
    values = np.array([o for o, _ in offsets])
    errors = np.maximum(np.array([e for _, e in offsets]), 1e-4)
    median = float(np.median(values))
    keep = np.abs(values - median) <= np.maximum(OUTLIER_PX, 4.0 * errors)
    if keep.sum() < MIN_LINES:
        return None
    values, weights = values[keep], 1.0 / errors[keep] ** 2
    mean = float(np.sum(weights * values) / np.sum(weights))
    formal = float(1.0 / np.sqrt(np.sum(weights)))
    scatter = float(np.std(values, ddof=1) / np.sqrt(len(values)))
    return ZeroPoint(mean, max(formal, scatter), int(keep.sum()), positions)
