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
from functools import lru_cache

import numpy as np
from scipy.special import erf

from pipeline.instrument import Module, Order

from .grouped import grouped_median

__all__ = ["Extraction", "RowFit", "extract", "find_source", "fit_profile", "fit_rows",
           "profile_fraction", "refine_centre", "reject_outliers", "slit_coverage"]

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
    #: per row, counts of the local sky (the sky term of a 'localcont' fit) inside the
    #: whole slit, when measured. A full aperture ('full') holds source and this sky, and
    #: a response derived from a standard star must not count the star's sky as the star;
    #: a profile fit's amplitude does not contain it (the fit separated the two)
    sky: np.ndarray | None = None


def profile_fraction(module: Module, wavelength_um, slit_px, centre_px, width_arcsec=0.0,
                     order: str | None = None):
    """Fraction of a source's along-slit light falling on pixels at ``slit_px``: the
    profile measured on standard stars when the module carries one (``steps.profile``;
    times the pixel's illuminated fraction at the slit ends), else the nominal Gaussian
    PSF combined with the source size, cut at the slit ends."""
    if module.spatial_profile is not None:
        slit_px = np.asarray(slit_px, float)
        return module.spatial_profile.fraction(wavelength_um, slit_px - centre_px,
                                               width_arcsec, order) * slit_coverage(
                                                   module, slit_px)
    half = 0.5 * module.slit_length_arcsec
    scale = module.plate_scale_arcsec
    sigma = np.hypot(module.psf_fwhm_arcsec(wavelength_um), width_arcsec) / 2.3548200450309493
    lo = np.clip((slit_px - 0.5) * scale, -half, half)
    hi = np.clip((slit_px + 0.5) * scale, -half, half)
    c = centre_px * scale
    return 0.5 * (erf((hi - c) / (_SQRT2 * sigma)) - erf((lo - c) / (_SQRT2 * sigma)))


def slit_coverage(module: Module, slit_px) -> np.ndarray:
    """Fraction of each pixel's along-slit extent that lies inside the slit: the profile of
    a uniform sky. The pixels at the slit ends are only partly illuminated (LH: a 4.5"
    pixel against a 22.3" slit), so a sky that is constant per pixel would take light from
    a source near a nod position, which sits 1-2 pixels from an end."""
    half = 0.5 * module.slit_length_arcsec
    centre = np.asarray(slit_px, float) * module.plate_scale_arcsec
    lo = np.clip(centre - 0.5 * module.plate_scale_arcsec, -half, half)
    hi = np.clip(centre + 0.5 * module.plate_scale_arcsec, -half, half)
    return (hi - lo) / module.plate_scale_arcsec


@dataclass(frozen=True)
class RowFit:
    """Per detector row: the weighted least-squares amplitude of a profile, its 1-sigma
    error, the sky coefficient (0 without a sky term) and the fit's chi^2."""

    amplitude: np.ndarray
    error: np.ndarray
    sky: np.ndarray
    chi2: np.ndarray


def fit_rows(k: np.ndarray, n: int, weight: np.ndarray, values: np.ndarray,
             model: np.ndarray, sky_template: np.ndarray | None = None) -> RowFit:
    """Fit ``values = a * model [+ b * sky_template]`` in each of ``n`` rows (``k``: each
    pixel's row index; ``weight``: 1/sigma^2, 0 for unusable pixels) from the normal
    equations, vectorised with ``bincount``. Rows without a solution get NaN."""
    wy = weight * values
    s_pp = np.bincount(k, weight * model * model, n)
    s_py = np.bincount(k, wy * model, n)
    s_yy = np.bincount(k, wy * values, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        if sky_template is None:
            amp = s_py / s_pp
            return RowFit(amp, 1.0 / np.sqrt(s_pp), np.zeros(n), s_yy - amp * s_py)
        s_pu = np.bincount(k, weight * model * sky_template, n)
        s_uu = np.bincount(k, weight * sky_template * sky_template, n)
        s_uy = np.bincount(k, wy * sky_template, n)
        det = s_pp * s_uu - s_pu**2
        det = np.where(det > 0, det, np.nan)
        amp = (s_py * s_uu - s_pu * s_uy) / det
        sky = (s_pp * s_uy - s_pu * s_py) / det
        return RowFit(amp, np.sqrt(s_uu / det), sky, s_yy - amp * s_py - sky * s_uy)


#: a pixel further than this many sigma from the fitted profile is an outlier ...
OUTLIER_SIGMA = 6.0
#: ... when its residual is also this fraction of the row's brightest model pixel (a
#: bright source's PSF-model mismatch is not a cosmic ray: on the real HD 173511 SL2
#: image the Gaussian model leaves residuals of 10-30 % of the peak in most rows, so the
#: LR extractions, which the exposure stacks clean, do not use this rejection)
OUTLIER_FRACTION = 0.3


def reject_outliers(k: np.ndarray, n: int, weight: np.ndarray, values: np.ndarray,
                    model: np.ndarray, sky_template: np.ndarray | None = None
                    ) -> tuple[RowFit, np.ndarray]:
    """``fit_rows``, then the worst pixel of each row dropped if it is an outlier
    (``OUTLIER_SIGMA``, ``OUTLIER_FRACTION``) and the rows refitted (Horne 1986's
    rejection, one pass): cosmic rays and unflagged rogue pixels that no stack of
    exposures removed (a nod observed in one cycle). Returns the fit and, per row, whether
    a pixel was rejected."""
    fit = fit_rows(k, n, weight, values, model, sky_template)
    predicted = fit.amplitude[k] * model
    if sky_template is not None:
        predicted = predicted + fit.sky[k] * sky_template
    with np.errstate(invalid="ignore"):
        residual = np.abs(values - predicted)
        z = np.where(weight > 0, residual * np.sqrt(weight), 0.0)
        z = np.nan_to_num(z, nan=0.0)
        worst = np.zeros(n)
        np.maximum.at(worst, k, z)
        peak = np.zeros(n)
        np.maximum.at(peak, k, np.nan_to_num(np.abs(predicted), nan=0.0))
        out = (z > OUTLIER_SIGMA) & (z == worst[k]) & (residual > OUTLIER_FRACTION * peak[k])
    if not out.any():
        return fit, np.zeros(n, bool)
    rows = np.bincount(k, out, n) > 0
    return fit_rows(k, n, np.where(out, 0.0, weight), values, model, sky_template), rows


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


def refine_centre(image: np.ndarray, uncertainty: np.ndarray, module: Module,
                  orders: list[Order], start_px: float, search_px: float = 0.6,
                  step_px: float = 0.2) -> float:
    """Along-slit position (pixels) of a point source that minimises the chi^2 of the
    per-row fit of its profile plus a sky (``slit_coverage``), summed over ``orders`` (the
    source sits at the same slit position in every order of a module, or of a sub-slit).

    The centroid of ``find_source`` is biased towards the pixel centre where the PSF is
    undersampled (LH: 4.5"/px against a 3.7-8" FWHM), and an optimal fit at a wrong centre
    loses amplitude (Gaussian overlap exp(-d^2 / 4 sigma^2)) or, with a free sky, trades it
    for sky: +-10 % per observation in LH before this refinement. A grid of ``step_px``
    within ``search_px`` of ``start_px``, then the vertex of a parabola through the best
    point and its neighbours.
    """
    offsets = np.arange(-search_px, search_px + 0.5 * step_px, step_px)
    chi2 = np.zeros(len(offsets))
    for order in orders:
        pix = order.pixels
        # only the pixels the profile reaches from any trial centre (and a margin for the
        # sky): in the long LR slits a fraction of the order's pixels
        reach = search_px + 1.0 + 4.0 * float(module.psf_fwhm_arcsec(
            pix.wavelength_um.max())) / 2.3548200450309493 / module.plate_scale_arcsec
        near = np.abs(pix.slit_px - start_px) <= reach
        values = image.ravel()[pix.index[near]]
        sigma = uncertainty.ravel()[pix.index[near]]
        usable = np.isfinite(values) & np.isfinite(sigma) & (sigma > 0)
        if usable.sum() < 3:
            continue
        w = np.where(usable, 1.0 / np.where(usable, sigma, 1.0) ** 2, 0.0)
        y = np.where(usable, values, 0.0)
        rows, k = np.unique(pix.rows[near], return_inverse=True)
        lam, slit_px = pix.wavelength_um[near], pix.slit_px[near]
        # every trial centre at once: trial i's rows are numbered i * n_rows + row
        m, n = len(offsets), len(rows)
        models = profile_fraction(module, lam[None, :], slit_px[None, :],
                                  (start_px + offsets)[:, None], order=order.name)
        trial_rows = (k[None, :] + n * np.arange(m)[:, None]).ravel()
        row_chi2 = fit_rows(trial_rows, m * n, np.tile(w, m), np.tile(y, m), models.ravel(),
                            np.tile(slit_coverage(module, slit_px), m)).chi2.reshape(m, n)
        chi2 += np.where(np.isfinite(row_chi2), row_chi2, 0.0).sum(axis=1)
    best = int(np.argmin(chi2))
    if not np.isfinite(chi2[best]) or not chi2.any():
        return float(start_px)
    shift = offsets[best]
    if 0 < best < len(offsets) - 1:
        left, mid, right = chi2[best - 1:best + 2]
        curvature = left - 2.0 * mid + right
        if curvature > 0:
            shift += 0.5 * step_px * (left - right) / curvature
    return float(start_px + shift)


@lru_cache(maxsize=64)
def _order_profile(module: Module, order: Order, centre_px: float) -> np.ndarray:
    """``profile_fraction`` on every pixel of an order: one position's backgrounds and
    extraction methods (nine per order and nod at low resolution) share it."""
    pix = order.pixels
    out = profile_fraction(module, pix.wavelength_um, pix.slit_px, centre_px,
                           order=order.name)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=64)
def _row_index(order: Order) -> tuple[np.ndarray, np.ndarray]:
    """The order's detector rows and, per pixel, its row's index among them (read-only:
    kept for the order's other extractions, 150 a position)."""
    rows, inverse = np.unique(order.pixels.rows, return_inverse=True)
    rows.flags.writeable = False
    inverse.flags.writeable = False
    return rows, inverse


def _per_row(index: np.ndarray, n: int, values: np.ndarray) -> np.ndarray:
    return np.bincount(index, weights=values, minlength=n)


def extract(image: np.ndarray, uncertainty: np.ndarray, module: Module, order: Order,
            centre_px: float, method: str, bad: np.ndarray | None = None,
            replaced: np.ndarray | None = None) -> Extraction:
    """Extract one order. ``method`` is 'tapered', 'optimal' or 'full'.

    ``replaced`` (a boolean image of pixels the cleaning replaced) gives the result's
    ``replaced`` flags: the rows whose extraction used such a pixel. ``bad`` pixels are
    left out of the tapered and optimal extractions; the whole-slit ('full') one fills
    them with the light of their row interpolated along the slit (another source's
    pixels in an extended source's slit, ``steps.neighbours``) and flags those rows.

    Vectorised over pixels: every per-row sum is one ``bincount`` over the order's pixels.
    """
    if method not in ("tapered", "optimal", "full"):
        raise ValueError(f"unknown extraction method {method!r}")
    pix = order.pixels
    values = image.ravel()[pix.index]
    sigma = uncertainty.ravel()[pix.index]
    usable = np.isfinite(values) & np.isfinite(sigma) & (sigma > 0)
    lam = pix.wavelength_um
    rows, k = _row_index(order)
    n = len(rows)
    filled = None
    if bad is not None:
        masked = bad.ravel()[pix.index]
        if method == "full":
            values, sigma, filled = _filled_along_slit(k, pix.slit_px, values, sigma,
                                                       usable & ~masked, masked)
            usable = (usable & ~masked) | filled
        else:
            usable &= ~masked
    prof = _order_profile(module, order, float(centre_px))
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
            fit = fit_rows(k, n, np.where(use, 1.0 / sigma0**2, 0.0), values0, prof)
            counts, errors = fit.amplitude, fit.error
        else:
            lost = _per_row(k, n, prof * inside) / np.maximum(_per_row(k, n, prof * use), 1e-12)
            counts = _per_row(k, n, values0) * lost
            errors = np.sqrt(_per_row(k, n, np.where(use, sigma0**2, 0.0))) * lost
    keep = np.isfinite(wave) & np.isfinite(counts)
    order_by = np.argsort(wave[keep])
    flags = None
    if replaced is not None or filled is not None:
        touched = np.zeros(len(lam), bool) if replaced is None else (
            use & replaced.ravel()[pix.index])
        if method == "optimal":
            touched &= prof > 1e-3
        if filled is not None:
            touched |= filled
        flags = (_per_row(k, n, touched.astype(float)) > 0)[keep][order_by]
    return Extraction(order.name, method, wave[keep][order_by], counts[keep][order_by],
                      errors[keep][order_by], rows[keep][order_by], flags)


def _filled_along_slit(row: np.ndarray, slit_px: np.ndarray, values: np.ndarray,
                       sigma: np.ndarray, good: np.ndarray, fill: np.ndarray):
    """``(values, sigma, filled)``: the ``fill`` pixels' values replaced, row by row, by the
    linear interpolation along the slit between the nearest ``good`` pixels on either side
    (the nearest one's value where only one side has any), their uncertainties by the
    interpolation's; ``filled`` marks the pixels that got a value."""
    order = np.lexsort((slit_px, row))
    r, x, v, e, g = row[order], slit_px[order], values[order], sigma[order], good[order]
    at = np.arange(len(order))
    before = np.maximum.accumulate(np.where(g, at, -1))
    after = np.minimum.accumulate(np.where(g, at, len(at))[::-1])[::-1]
    has_before = (before >= 0) & (r[np.maximum(before, 0)] == r)
    has_after = (after < len(at)) & (r[np.minimum(after, len(at) - 1)] == r)
    b, a = np.maximum(before, 0), np.minimum(after, len(at) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(has_before & has_after, (x - x[b]) / (x[a] - x[b]), 0.0)
    w = np.where(has_before, w, 1.0)  # only the pixel after: its value
    new_v = (1.0 - w) * v[b] + w * v[a]
    new_e = np.hypot((1.0 - w) * e[b], w * e[a])
    got = fill[order] & (has_before | has_after)
    out_v, out_e, filled = values.copy(), sigma.copy(), np.zeros(len(values), bool)
    out_v[order[got]], out_e[order[got]], filled[order[got]] = new_v[got], new_e[got], True
    return out_v, out_e, filled


def fit_profile(image: np.ndarray, uncertainty: np.ndarray, module: Module, order: Order,
                centres_px: tuple[float, ...], signs: tuple[float, ...] = (1.0,),
                with_sky: bool = False, width_arcsec: float = 0.0,
                method: str = "optimal") -> Extraction:
    """Per detector row, least-squares fit of ``a * sum_i sign_i * P(centre_i) [+ b]``.

    * one centre, ``with_sky``: the source profile fitted together with a local continuum
      (HR 'localcont': the sky level of a slit too short to hold sky-only pixels), whose
      profile is the slit's illumination (``slit_coverage``);
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
    model = sum(sign * profile_fraction(module, lam, pix.slit_px, c, width_arcsec,
                                        order.name)
                for c, sign in zip(centres_px, signs, strict=True))
    w = np.where(usable, 1.0 / np.where(usable, sigma, 1.0) ** 2, 0.0)
    y = np.where(usable, values, 0.0)
    n_use = _per_row(k, n, usable.astype(float))
    template = slit_coverage(module, pix.slit_px) if with_sky else None
    fit, rejected = reject_outliers(k, n, w, y, model, template)
    counts, errors = fit.amplitude, fit.error
    # the sky of a full aperture: the fitted level times the row's illuminated pixels
    sky = fit.sky * _per_row(k, n, template) if with_sky else None
    wave = _per_row(k, n, lam) / _per_row(k, n, np.ones_like(lam))
    keep = (n_use >= (3 if with_sky else 1)) & np.isfinite(counts) & np.isfinite(errors)
    order_by = np.argsort(wave[keep])
    return Extraction(order.name, method, wave[keep][order_by], counts[keep][order_by],
                      errors[keep][order_by], rows[keep][order_by],
                      replaced=rejected[keep][order_by],
                      sky=None if sky is None else sky[keep][order_by])
