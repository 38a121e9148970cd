"""The source's intrinsic size along the slit (issue 3, step 5: "an estimate of the
source's spatial extent").

The model profile (``profile_fraction``: the PSF at each pixel's wavelength combined with a
Gaussian source of FWHM theta, cut at the slit ends) is fitted row by row to an order's
image, and theta chosen by a grid search refined by a parabola.
"""

from __future__ import annotations

import numpy as np

from pipeline.instrument import Module, Order

from .extract import fit_rows, profile_fraction, slit_coverage

__all__ = ["MIN_DELTA_CHI2", "intrinsic_fwhm_arcsec"]

#: a width is reported only when it lowers chi^2 by this much from a point source's
#: (one more parameter, about 3 sigma); otherwise the source is as narrow as the PSF
MIN_DELTA_CHI2 = 9.0
#: coarse trial FWHMs (arcsec); the best is refined on a finer grid around it
_GRID = np.concatenate([[0.0], np.geomspace(0.5, 400.0, 13)])


def intrinsic_fwhm_arcsec(image: np.ndarray, uncertainty: np.ndarray, module: Module,
                          order: Order, centre_px: float, with_sky: bool = False,
                          min_snr: float = 10.0, bad: np.ndarray | None = None
                          ) -> float | None:
    """Best-fitting intrinsic FWHM (arcsec) of the source at ``centre_px``.

    For each trial FWHM, every row is fitted (weighted least squares) with the model profile
    at that row's wavelength times a free amplitude, plus a free sky level when ``with_sky``
    (uniform over the slit, ``slit_coverage``; HR: the sky of a slit too short for sky
    pixels; a source filling the slit becomes
    indistinguishable from it, which makes wide trial FWHMs fit best: extended). Only rows
    whose amplitude has SNR >= 3 enter; None when the source's total SNR is below
    ``min_snr`` (the width of a faint source is not measurable); 0 when no width improves
    chi^2 by ``MIN_DELTA_CHI2`` over a point source's. Pixels marked in ``bad`` are left
    out.
    """
    pix = order.pixels
    y = np.asarray(image, float).ravel()[pix.index]
    sigma = np.asarray(uncertainty, float).ravel()[pix.index]
    good = np.isfinite(y) & np.isfinite(sigma) & (sigma > 0)
    if bad is not None:  # e.g. a neighbour along the slit (steps.neighbours)
        good &= ~np.asarray(bad, bool).ravel()[pix.index]
    if good.sum() < 20:
        return None
    y, sigma = y[good], sigma[good]
    lam, slit_px = pix.wavelength_um[good], pix.slit_px[good]
    rows, k = np.unique(pix.rows[good], return_inverse=True)
    n = len(rows)
    w = 1.0 / sigma**2

    sky = slit_coverage(module, slit_px) if with_sky else None

    def fit(theta):
        m = profile_fraction(module, lam, slit_px, centre_px, theta, order.name)
        row = fit_rows(k, n, w, y, m, sky)
        return row.amplitude, row.error, row.chi2

    amp, err, _ = fit(0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        snr_row = amp / err
    use = np.isfinite(snr_row) & (snr_row >= 3)
    total_snr = np.sqrt(np.sum(snr_row[use] ** 2))
    if use.sum() < 3 or total_snr < min_snr:
        return None
    def chi2(grid):
        return np.array([np.nansum(fit(theta)[2][use]) for theta in grid])

    coarse = chi2(_GRID)
    best = int(np.argmin(coarse))
    if coarse[0] - coarse[best] < MIN_DELTA_CHI2:
        return 0.0  # a width the data do not require: noise, not size (a faint point)
    lo, hi = _GRID[max(best - 1, 0)], _GRID[min(best + 1, len(_GRID) - 1)]
    fine_grid = np.concatenate([[0.0] if lo == 0 else [], np.geomspace(max(lo, 0.25), hi, 9)])
    fine = chi2(fine_grid)
    return float(fine_grid[int(np.argmin(fine))])
