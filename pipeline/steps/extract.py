"""Spectral extraction from a background-subtracted 2-D image (issue 3, step 5).

Pure functions of arrays and the instrument model. IRS disperses along the detector rows
(irs.md 1.2: slit ~ x, dispersion ~ y), so each detector row of an order is one wavelength
sample; the tilt of the slit image (< 3 deg for SL/LL) shifts the wavelength across a row by
a fraction of a sample, and the sample's wavelength is the mean over the pixels used.

* ``tapered``: the SSC / CASSIS tapered column, the sum over an along-slit window whose
  width grows with wavelength (PSF_FOV W_ref x lambda / lambda_ref), centred on the source;
* ``optimal``: profile-weighted (Horne 1986) with the model PSF along the slit at the
  source's position; the profile is normalised over the whole slit, so the result is the
  source's total counts, an estimate that uses the core pixels most;
* ``full``: the whole slit (HR full aperture; LR extended sources).

Results are in e-/s per wavelength sample; flux calibration is a later step. A pixel that is
NaN or flagged bad is excluded: optimal extraction is unbiased without it, the sums scale
by the profile fraction they lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from pipeline.instrument import Module, Order

__all__ = ["Extraction", "extract", "find_source", "profile_fraction"]

_SQRT2 = np.sqrt(2.0)


@dataclass(frozen=True)
class Extraction:
    """One extracted order: per detector row, wavelength, counts and their uncertainty."""

    order: str
    method: str
    wavelength_um: np.ndarray
    counts: np.ndarray
    counts_error: np.ndarray
    rows: np.ndarray


def profile_fraction(module: Module, wavelength_um, slit_px, centre_px, width_arcsec=0.0):
    """Fraction of a source's along-slit light falling on pixels at ``slit_px`` (Gaussian
    PSF of the model combined with the source size, cut at the slit ends)."""
    half = 0.5 * module.slit_length_arcsec
    scale = module.plate_scale_arcsec
    sigma = np.hypot(module.psf_fwhm_arcsec(wavelength_um), width_arcsec) / 2.3548200450309493
    lo = np.clip((slit_px - 0.5) * scale, -half, half)
    hi = np.clip((slit_px + 0.5) * scale, -half, half)
    c = centre_px * scale
    return 0.5 * (erf((hi - c) / (_SQRT2 * sigma)) - erf((lo - c) / (_SQRT2 * sigma)))


def find_source(image: np.ndarray, order: Order, expected_px: float,
                search_px: float = 3.0) -> float:
    """Along-slit position (pixels) of the brightest source within ``search_px`` of the
    expected one: centroid of the wavelength-collapsed profile around its peak."""
    pix = order.pixels
    values = image.ravel()[pix.index]
    good = np.isfinite(values)
    bins = np.arange(np.floor(pix.slit_px.min()), np.ceil(pix.slit_px.max()) + 1.0)
    which = np.digitize(pix.slit_px[good], bins)
    profile = np.array([np.median(values[good][which == k]) if np.any(which == k) else 0.0
                        for k in range(1, len(bins))])
    centres = 0.5 * (bins[:-1] + bins[1:])
    near = np.abs(centres - expected_px) <= search_px
    if not near.any() or np.nanmax(profile[near]) <= 0:
        return float(expected_px)
    peak = np.argmax(np.where(near, profile, -np.inf))
    window = slice(max(peak - 1, 0), peak + 2)
    weights = np.clip(profile[window], 0, None)
    if weights.sum() <= 0:
        return float(centres[peak])
    return float(np.sum(weights * centres[window]) / weights.sum())


def extract(image: np.ndarray, uncertainty: np.ndarray, module: Module, order: Order,
            centre_px: float, method: str, bad: np.ndarray | None = None) -> Extraction:
    """Extract one order. ``method`` is 'tapered', 'optimal' or 'full'."""
    if method not in ("tapered", "optimal", "full"):
        raise ValueError(f"unknown extraction method {method!r}")
    pix = order.pixels
    values = image.ravel()[pix.index]
    sigma = uncertainty.ravel()[pix.index]
    usable = np.isfinite(values) & np.isfinite(sigma) & (sigma > 0)
    if bad is not None:
        usable &= ~bad.ravel()[pix.index]
    lam = pix.wavelength_um
    rows = pix.rows
    prof = profile_fraction(module, lam, pix.slit_px, centre_px)
    if method == "tapered":
        inside = np.abs(pix.slit_px - centre_px) <= 0.5 * order.aperture_width_px(lam)
    else:
        inside = np.ones_like(usable)
    out_rows = np.unique(rows)
    wave, counts, errors = (np.full(len(out_rows), np.nan) for _ in range(3))
    for k, row in enumerate(out_rows):
        sel = (rows == row) & inside
        use = sel & usable
        if not use.any():
            continue
        wave[k] = lam[sel].mean()
        if method == "optimal":
            weight = prof[use] / sigma[use] ** 2
            norm = np.sum(prof[use] * weight)
            if norm <= 0:
                continue
            counts[k] = np.sum(weight * values[use]) / norm
            errors[k] = 1.0 / np.sqrt(norm)
        else:
            lost = prof[sel].sum() / max(prof[use].sum(), 1e-12)  # bad pixels' share
            counts[k] = values[use].sum() * lost
            errors[k] = np.sqrt(np.sum(sigma[use] ** 2)) * lost
    keep = np.isfinite(wave)
    order_by = np.argsort(wave[keep])
    return Extraction(order.name, method, wave[keep][order_by], counts[keep][order_by],
                      errors[keep][order_by], out_rows[keep][order_by])
