"""Flux calibration from standard stars (issue 3, step 7).

The relative spectral response (RSRF) of an order and extraction method is derived by
running the same extraction on standard-star observations and dividing by the stars' model
spectra (``pipeline.instrument.standards``): counts per Jy against wavelength. Several
observations are combined by the median, whose uncertainty (the stars' scatter about it)
joins the calibrated errors; the response is smoothed with a running median to keep the
noise of one star out of every calibrated spectrum. Nothing here knows the
conversion the simulator used: only the standards' models link the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.ndimage import median_filter
from scipy.special import erf

from pipeline.instrument.standards import StandardStar

from .extract import Extraction

__all__ = ["Response", "apply_response", "derive_response", "extended_factor", "partial_factor"]


@dataclass(frozen=True)
class Response:
    """Counts (e-/s per wavelength sample) per Jy for one order and extraction method, and
    its fractional uncertainty per sample (None: not measured).

    ``fractional_error`` is the standards' scatter over the square root of their number of
    observations: what a calibrated point's error carries, the part that differs from
    sample to sample. ``systematic_error`` is the same scatter over the square root of the
    number of distinct *stars*: a star's departure from its template repeats in every
    observation of it, so 24 observations of 7 stars average it down by sqrt(7) only. It
    is the uncertainty of the order's absolute level, shared by all its points, and is
    reported beside the spectrum rather than added to each point (it would double the
    errors of bright sources against their point-to-point scatter)."""

    order: str
    method: str
    wavelength_um: np.ndarray
    counts_per_jy: np.ndarray
    n_observations: int
    fractional_error: np.ndarray | None = None
    systematic_error: np.ndarray | None = None

    @cached_property
    def level_error(self) -> float | None:
        """The median of ``systematic_error``: the order's absolute level's uncertainty
        as products report it (computed once; every variant of every position asks)."""
        if self.systematic_error is None:
            return None
        return float(np.median(self.systematic_error))


def derive_response(observations: list[tuple[Extraction, StandardStar]],
                    smooth: int = 5) -> Response:
    """Median response of several standard-star extractions of one order and method."""
    if not observations:
        raise ValueError("no standard-star observation to derive a response from")
    first = observations[0][0]
    if {(e.order, e.method) for e, _ in observations} != {(first.order, first.method)}:
        raise ValueError("standard-star extractions of different orders or methods")
    grid = first.wavelength_um
    ratios = []
    for ext, star in observations:
        ratio = ext.counts / star.flux_jy(ext.wavelength_um)
        ratios.append(np.interp(grid, ext.wavelength_um, ratio))
    stack = np.vstack(ratios)
    usable = np.isfinite(stack).any(axis=0)  # samples no standard measured are dropped
    grid, stack = grid[usable], stack[:, usable]
    response = np.nanmedian(stack, axis=0)
    if not len(grid):
        raise ValueError(f"no usable standard-star sample in {first.order}")
    spread, systematic = _standards_spread(stack, response, observations, grid)
    if smooth > 1 and len(response) > smooth:
        response = median_filter(response, size=smooth, mode="nearest")
        spread = median_filter(spread, size=smooth, mode="nearest")
        systematic = median_filter(systematic, size=smooth, mode="nearest")
    positive = np.isfinite(response) & (response > 0)  # a noise-dominated sample is no
    grid, response = grid[positive], response[positive]  # response at all
    if len(grid) < 2:
        raise ValueError(f"no positive standard-star response in {first.order}")
    return Response(first.order, first.method, grid, response, len(observations),
                    spread[positive], systematic[positive])


def _standards_spread(stack: np.ndarray, response: np.ndarray, observations, grid
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Fractional uncertainties of the median response per sample, (per observation,
    systematic): the standards' robust scatter about it (their noise, and how each star's
    spectrum departs from its model), times 1.2533 for a median, over the square root of
    the number of observations and of distinct stars that measured it (``Response``); with
    fewer than three standards, their own noise."""
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = stack / response
        finite = np.isfinite(relative)
        n = np.sum(finite, axis=0)
        if stack.shape[0] >= 3:
            names = [getattr(model, "name", i) for i, (_, model) in enumerate(observations)]
            stars = np.array([len({names[i] for i in np.nonzero(column)[0]})
                              for column in finite.T])
            mad = np.full(len(response), np.nan)
            some = n > 0
            mad[some] = np.nanmedian(np.abs(relative[:, some] - 1.0), axis=0)
            scatter = 1.2533 * 1.4826 * mad
            return (np.nan_to_num(scatter / np.sqrt(np.maximum(n, 1))),
                    np.nan_to_num(scatter / np.sqrt(np.maximum(stars, 1))))
        ext = observations[0][0]
        own = np.interp(grid, ext.wavelength_um, np.abs(ext.counts_error / ext.counts))
        own = np.nan_to_num(own / np.sqrt(np.maximum(n, 1)))
        return own, own


def apply_response(ext: Extraction, response: Response):
    """Flux density (Jy) and its uncertainty for an extraction of the same order/method."""
    if (ext.order, ext.method) != (response.order, response.method):
        raise ValueError(f"response of {response.order}/{response.method} cannot calibrate "
                         f"{ext.order}/{ext.method}")
    per_jy = np.interp(ext.wavelength_um, response.wavelength_um, response.counts_per_jy,
                       left=np.nan, right=np.nan)  # no extrapolation beyond the standards
    with np.errstate(invalid="ignore"):
        flux, error = ext.counts / per_jy, ext.counts_error / per_jy
        if response.fractional_error is not None:
            # the response's own uncertainty, in quadrature
            spread = np.interp(ext.wavelength_um, response.wavelength_um,
                               response.fractional_error)
            error = np.hypot(error, spread * flux)
        return flux, error


def extended_factor(module, wavelength_um) -> np.ndarray:
    """Point-source-calibrated flux -> flux of an extended source within the slit.

    The extended calibration: for a source much wider than the slit, the point-source
    calibration over-corrects the slit losses by 1/SLCF, and ``F_point x SLCF`` is the
    source's flux over the slit area, i.e. the surface brightness times the slit's solid
    angle (the SSC relation ``I = F_point x SLCF / Omega``; see ``instrument.model``).
    """
    return module.slcf(np.asarray(wavelength_um, float))


def partial_factor(module, order, wavelength_um, extent_arcsec: float | None,
                   aperture: bool = True, slit_ends: bool = False,
                   transmission: np.ndarray | None = None) -> np.ndarray:
    """Point-source-calibrated flux -> total flux of a Gaussian source of intrinsic FWHM
    ``extent_arcsec`` (the partially extended calibration).

    The losses a point-source response does not know are undone: the cross-slit one,
    ``1 / Module.slit_transmission`` (the source is wider than the PSF across the slit);
    when ``aperture`` (the tapered column), the along-slit one, the ratio of a point
    source's to this source's fraction inside the aperture; when ``slit_ends`` (the HR full
    aperture: the whole slit, 11.3" SH and 22.3" LH, is shorter than many partially
    extended sources), the ratio of a point source's to this source's fraction between the
    slit's ends, at the two nod positions (whose spectra are averaged). ``transmission``
    is the source's cross-slit transmission where the pointing put it
    (``steps.pointing``); by default, centred.
    """
    lam = np.asarray(wavelength_um, float)
    theta = float(extent_arcsec or 0.0)
    if transmission is None:
        transmission = module.slit_transmission(lam, theta)
    factor = 1.0 / transmission
    psf = module.psf_fwhm_arcsec(lam) / 2.3548200450309493
    wide = np.hypot(psf, theta / 2.3548200450309493)
    if aperture:
        half = 0.5 * order.aperture_width_px(lam) * module.plate_scale_arcsec
        factor = factor * erf(half / (np.sqrt(2) * psf)) / erf(half / (np.sqrt(2) * wide))
    if slit_ends:
        half = 0.5 * module.slit_length_arcsec
        sub = module.subslits[order.subslit]

        def between_ends(sigma):
            inside = [0.5 * (erf((half - x) / (np.sqrt(2) * sigma))
                             + erf((half + x) / (np.sqrt(2) * sigma)))
                      for x in ((sub.nod_fraction[nod] - 0.5) * module.slit_length_arcsec
                                for nod in (1, 2))]
            return 0.5 * (inside[0] + inside[1])

        factor = factor * between_ends(psf) / between_ends(wide)
    return factor
