"""Continuum normalisation for the similarity search (``MODE=continuum``).

Each spectrum is divided by a power-law continuum F_c = A lambda^alpha fitted (least
squares in log F - log lambda) to its inverse-variance weighted mean flux densities in
three rest-frame anchor windows free of strong bands in most IRS spectra: 5.35-5.65 um
(below the 6.0 um ice and 6.2 um PAH bands), 14.2-14.8 um (between the 12.7 um PAH
complex and [NeIII] 15.56 um, above the 9.7 um silicate wing) and 26.5-27.5 um (between
[OIV]/[FeII] 25.9 um and H2 S(0) 28.2 um), after the anchor points of Spoon et al. 2007,
ApJ 654, L49 and Hernan-Caballero & Hatziminaoglou 2011. A spectrum needs two anchors with
a positive mean; one without is not matched in this mode. The ratio shows the features
(silicate depth, PAH strength, ice bands) whatever the continuum's level and slope.

On the prepared matrix the view costs two arrays (1/sigma^2 c^2 and F c/sigma^2), built
on its first use in a process; the running sums of F^2/sigma^2 are the view's too,
since (F/c)^2 / (sigma/c)^2 = F^2/sigma^2.
"""

from __future__ import annotations

import threading

import numpy as np

from .grids import ArmGrid

__all__ = ["ANCHORS_UM", "continuum_view", "normalise_reference"]

ANCHORS_UM = ((5.35, 5.65), (14.2, 14.8), (26.5, 27.5))
_LOCK = threading.Lock()


def _fit(means: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log A and alpha per column of ``means`` (anchors x spectra); NaN without two
    positive anchors."""
    ok = np.isfinite(means) & (means > 0)
    logm = np.where(ok, np.log(np.where(ok, means, 1.0)), 0.0)
    logl = np.log(centres)[:, None] * ok
    n = ok.sum(0)
    sx, sy = logl.sum(0), logm.sum(0)
    sxx, sxy = (logl * logl).sum(0), (logl * logm).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (n * sxy - sx * sy) / (n * sxx - sx * sx)
        log_a = (sy - alpha * sx) / n
    bad = n < 2
    return np.where(bad, np.nan, log_a), np.where(bad, np.nan, alpha)


def _anchor_means(arm: ArmGrid, iv: np.ndarray, ivf: np.ndarray) -> np.ndarray:
    rows = []
    for low, high in ANCHORS_UM:
        window = arm.grid.bins(low, high)
        with np.errstate(divide="ignore", invalid="ignore"):
            rows.append(ivf[window].sum(0) / iv[window].sum(0))
    return np.array(rows)


def _centres() -> np.ndarray:
    return np.array([np.sqrt(low * high) for low, high in ANCHORS_UM])


def continuum_view(arm: ArmGrid) -> ArmGrid:
    """The continuum-normalised view of a prepared matrix (built once per matrix)."""
    view = arm.derived.get("continuum")
    if view is not None:
        return view
    with _LOCK:
        if "continuum" not in arm.derived:
            log_a, alpha = _fit(_anchor_means(arm, arm.iv, arm.ivf), _centres())
            usable = np.isfinite(log_a)
            lam = np.log(arm.grid.centres_um)[:, None]
            cont = np.exp(np.where(usable, log_a, 0.0) + np.where(usable, alpha, 0.0) * lam)
            iv = np.ascontiguousarray(np.where(usable, arm.iv * cont * cont, 0.0))
            ivf = np.ascontiguousarray(np.where(usable, arm.ivf * cont, 0.0))
            arm.derived["continuum"] = ArmGrid(arm.grid, arm.ids, arm.redshift, iv, ivf,
                                               arm.cum_ivf2, arm.cum_valid, arm.row_of,
                                               usable)
    return arm.derived["continuum"]


def normalise_reference(arm: ArmGrid, flux: np.ndarray, error: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray] | None:
    """A reference on the grid divided by its continuum; None without two anchors."""
    ok = np.isfinite(flux) & np.isfinite(error) & (error > 0)
    iv = np.where(ok, 1.0 / np.where(ok, error, 1.0) ** 2, 0.0)[:, None]
    if not ok.any():  # a model: no errors, equal weights
        ok = np.isfinite(flux)
        iv = ok.astype(float)[:, None]
    ivf = np.where(ok, flux, 0.0)[:, None] * iv
    log_a, alpha = _fit(_anchor_means(arm, iv, ivf), _centres())
    if not np.isfinite(log_a[0]):
        return None
    cont = np.exp(log_a[0] + alpha[0] * np.log(arm.grid.centres_um))
    return flux / cont, np.nan_to_num(error, nan=0.0) / cont
