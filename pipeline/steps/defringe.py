"""Fringe removal for high resolution spectra (issue 3, step 7; irs.md on SH/LH fringes).

Reflections in the IRS detector substrate modulate SH and LH spectra sinusoidally in
wavenumber. Per extracted order, the spectrum is divided by a smooth continuum (a running
median), a sine of free period, phase and amplitude is fitted to the relative residual
(weighted least squares at each trial period of ``PERIODS_CM``, the best kept), and the
spectrum is divided by ``1 + fringe`` when the fitted amplitude is significant. Nothing
about the fringes is assumed beyond a period range: amplitude and period come from the data.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.ndimage import median_filter

from .extract import Extraction

__all__ = ["PERIODS_CM", "apply_fringe", "defringe"]

#: trial fringe periods in wavenumber (cm^-1)
PERIODS_CM = np.geomspace(2.0, 30.0, 40)


def _best_sine(k, resid, weight, periods):
    """(period, [sin, cos] coefficients, their covariance) of the trial period that
    reduces chi2 most; every trial at once (2x2 normal equations)."""
    phase = 2 * np.pi * k[None, :] / periods[:, None]
    sin, cos = np.sin(phase), np.cos(phase)
    a, b, c = (sin * sin) @ weight, (sin * cos) @ weight, (cos * cos) @ weight
    r1, r2 = sin @ (weight * resid), cos @ (weight * resid)
    det = a * c - b * b
    if not np.any(det > 0):
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        s_coef, c_coef = (c * r1 - b * r2) / det, (a * r2 - b * r1) / det
        gain = np.where(det > 0, s_coef * r1 + c_coef * r2, -np.inf)  # chi2 reduction
    j = int(np.argmax(gain))
    cov = np.array([[c[j], -b[j]], [-b[j], a[j]]]) / det[j]
    return float(periods[j]), np.array([s_coef[j], c_coef[j]]), cov


def defringe(ext: Extraction, min_significance: float = 5.0,
             smooth: int = 15) -> tuple[Extraction, dict]:
    """The defringed extraction and what was fitted (``amplitude``, ``period_cm``,
    ``significance``, ``applied``)."""
    counts, error = ext.counts, ext.counts_error
    good = np.isfinite(counts) & np.isfinite(error) & (error > 0)
    info = {"applied": False, "amplitude": 0.0, "period_cm": None, "significance": 0.0}
    if good.sum() < 3 * smooth:
        return ext, info
    k = 1e4 / ext.wavelength_um[good]
    continuum = median_filter(counts[good], size=smooth, mode="nearest")
    if np.any(continuum <= 0):
        return ext, info
    resid = counts[good] / continuum - 1.0
    weight = (continuum / error[good]) ** 2
    fit = _best_sine(k, resid, weight, PERIODS_CM)
    if fit is None:
        return ext, info
    # the phase drifts by many cycles across an order: refine the period finely
    fit = _best_sine(k, resid, weight, fit[0] * np.linspace(0.95, 1.05, 101)) or fit
    period, coef, cov = fit
    amplitude = float(np.hypot(*coef))
    sigma = float(np.sqrt(max(coef @ cov @ coef, 1e-300)) / max(amplitude, 1e-300))
    significance = amplitude / sigma if sigma > 0 else 0.0
    info.update(amplitude=amplitude, period_cm=float(period), significance=significance,
                sin=float(coef[0]), cos=float(coef[1]))
    if significance < min_significance:
        return ext, info
    info["applied"] = True
    return apply_fringe(ext, info), info


def apply_fringe(ext: Extraction, info: dict) -> Extraction:
    """Divide an extraction by a fringe fitted by :func:`defringe` (on another variant of
    the same order: the fringes modulate every extraction of the order alike)."""
    if not info.get("applied"):
        return ext
    phase = 2 * np.pi * (1e4 / ext.wavelength_um) / info["period_cm"]
    fringe = 1.0 + info["sin"] * np.sin(phase) + info["cos"] * np.cos(phase)
    return replace(ext, counts=ext.counts / fringe, counts_error=ext.counts_error / fringe,
                   sky=None if ext.sky is None else ext.sky / fringe)
