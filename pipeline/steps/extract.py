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

from .grouped import grouped_median

__all__ = ["Extraction", "extract", "find_source", "fit_profile", "profile_fraction"]

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
    replaced: np.ndarray | None = None
    #: per row, counts of the local sky (the constant of a 'localcont' fit) inside this
    #: extraction's aperture, when measured: a full aperture holds source and sky, and a
    #: response derived from a standard star must not count the star's sky as the star
    sky: np.ndarray | None = None


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
    which = np.digitize(pix.slit_px[good], bins) - 1
    profile = np.nan_to_num(grouped_median(which.clip(0, len(bins) - 1), values[good],
                                           len(bins))[:len(bins) - 1], nan=0.0)
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


def _row_index(order: Order) -> tuple[np.ndarray, np.ndarray]:
    """The order's detector rows and, per pixel, its row's index among them."""
    rows, inverse = np.unique(order.pixels.rows, return_inverse=True)
    return rows, inverse


def _per_row(index: np.ndarray, n: int, values: np.ndarray) -> np.ndarray:
    return np.bincount(index, weights=values, minlength=n)


def extract(image: np.ndarray, uncertainty: np.ndarray, module: Module, order: Order,
            centre_px: float, method: str, bad: np.ndarray | None = None,
            replaced: np.ndarray | None = None) -> Extraction:
    """Extract one order. ``method`` is 'tapered', 'optimal' or 'full'.

    ``replaced`` (a boolean image of pixels the cleaning replaced) gives the result's
    ``replaced`` flags: the rows whose extraction used such a pixel.

    Vectorised over pixels: every per-row sum is one ``bincount`` over the order's pixels.
    """
    if method not in ("tapered", "optimal", "full"):
        raise ValueError(f"unknown extraction method {method!r}")
    pix = order.pixels
    values = image.ravel()[pix.index]
    sigma = uncertainty.ravel()[pix.index]
    usable = np.isfinite(values) & np.isfinite(sigma) & (sigma > 0)
    if bad is not None:
        usable &= ~bad.ravel()[pix.index]
    lam = pix.wavelength_um
    rows, k = _row_index(order)
    n = len(rows)
    prof = profile_fraction(module, lam, pix.slit_px, centre_px)
    if method == "tapered":
        inside = np.abs(pix.slit_px - centre_px) <= 0.5 * order.aperture_width_px(lam)
    else:
        inside = np.ones(len(lam), bool)
    use = inside & usable
    values0 = np.where(use, values, 0.0)
    sigma0 = np.where(use, sigma, 1.0)
    n_sel = _per_row(k, n, inside.astype(float))
    n_use = _per_row(k, n, use.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        wave = np.where(n_use > 0, _per_row(k, n, lam * inside) / n_sel, np.nan)
        if method == "optimal":
            weight = np.where(use, prof / sigma0**2, 0.0)
            norm = _per_row(k, n, prof * weight)
            good = norm > 0
            counts = np.where(good, _per_row(k, n, weight * values0) / norm, np.nan)
            errors = np.where(good, 1.0 / np.sqrt(norm), np.nan)
        else:
            lost = _per_row(k, n, prof * inside) / np.maximum(_per_row(k, n, prof * use), 1e-12)
            counts = _per_row(k, n, values0) * lost
            errors = np.sqrt(_per_row(k, n, np.where(use, sigma0**2, 0.0))) * lost
    keep = np.isfinite(wave) & np.isfinite(counts)
    order_by = np.argsort(wave[keep])
    flags = None
    if replaced is not None:
        touched = use & replaced.ravel()[pix.index]
        if method == "optimal":
            touched &= prof > 1e-3
        flags = (_per_row(k, n, touched.astype(float)) > 0)[keep][order_by]
    return Extraction(order.name, method, wave[keep][order_by], counts[keep][order_by],
                      errors[keep][order_by], rows[keep][order_by], flags)


def fit_profile(image: np.ndarray, uncertainty: np.ndarray, module: Module, order: Order,
                centres_px: tuple[float, ...], signs: tuple[float, ...] = (1.0,),
                with_sky: bool = False, width_arcsec: float = 0.0,
                method: str = "optimal") -> Extraction:
    """Per detector row, least-squares fit of ``a * sum_i sign_i * P(centre_i) [+ b]``.

    * one centre, ``with_sky``: the source profile fitted together with a local continuum
      (HR 'localcont': the sky level of a slit too short to hold sky-only pixels);
    * two centres with signs (+1, -1) on a nod1 - nod2 image: the differential nod profile
      (HR 'diff'), point sources only.

    ``a`` is the source's total counts per row (the profile is normalised over the slit);
    its uncertainty comes from the normal equations. Vectorised with ``bincount``.
    """
    pix = order.pixels
    values = image.ravel()[pix.index]
    sigma = uncertainty.ravel()[pix.index]
    usable = np.isfinite(values) & np.isfinite(sigma) & (sigma > 0)
    lam = pix.wavelength_um
    rows, k = _row_index(order)
    n = len(rows)
    model = sum(sign * profile_fraction(module, lam, pix.slit_px, c, width_arcsec)
                for c, sign in zip(centres_px, signs, strict=True))
    w = np.where(usable, 1.0 / np.where(usable, sigma, 1.0) ** 2, 0.0)
    y = np.where(usable, values, 0.0)
    s_pp = _per_row(k, n, w * model * model)
    s_py = _per_row(k, n, w * model * y)
    n_use = _per_row(k, n, usable.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        sky = None
        if with_sky:
            s_p = _per_row(k, n, w * model)
            s_1 = _per_row(k, n, w)
            s_y = _per_row(k, n, w * y)
            det = s_pp * s_1 - s_p**2
            counts = (s_py * s_1 - s_p * s_y) / det
            errors = np.sqrt(s_1 / det)
            # the constant per pixel, times the row's pixels: the sky in a full aperture
            sky = (s_y - counts * s_p) / s_1 * _per_row(k, n, np.ones_like(lam))
        else:
            counts = s_py / s_pp
            errors = 1.0 / np.sqrt(s_pp)
        wave = _per_row(k, n, lam) / _per_row(k, n, np.ones_like(lam))
    keep = (n_use >= (3 if with_sky else 1)) & np.isfinite(counts) & np.isfinite(errors)
    order_by = np.argsort(wave[keep])
    return Extraction(order.name, method, wave[keep][order_by], counts[keep][order_by],
                      errors[keep][order_by], rows[keep][order_by],
                      sky=None if sky is None else sky[keep][order_by])
