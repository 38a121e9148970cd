"""Flux-conserving resampling onto logarithmic wavelength grids.

Each input point stands for the flux density over its pixel (edges half-way between
neighbouring wavelengths); an output bin gets the mean flux density over the part of it
the input pixels cover, so the integral of the spectrum over any run of whole bins is
kept (Carnall 2017, arXiv:1705.05165, the SpectRes scheme). Errors are propagated
exactly: the input pixel ``i`` and output bin ``j`` overlap on one interval of length
``l_ij`` (two intervals intersect in one interval), so the merged edge list of input
and output gives every ``l_ij`` at once and

    F_j = sum_i l_ij F_i / L_j,   var_j = sum_i l_ij^2 sigma_i^2 / L_j^2,

with ``L_j = sum_i l_ij`` the covered length of bin ``j``. Bins covered less than
``min_coverage`` are NaN.

Hand-written rather than ``specutils.manipulation.FluxConservingResampler``: the same
rule vectorised with ``bincount`` resamples a 360-point LR spectrum onto the 227 LR bins
in 0.28 ms, against 132 ms for specutils (Spectrum1D with its uncertainty and the
resampler's per-bin loop; measured on the project's 2-core VM), which would make
building the similarity matrix of a 20,400-position atlas 45 minutes instead of 6 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GRIDS", "LogGrid", "resample"]


@dataclass(frozen=True)
class LogGrid:
    """A grid uniform in ln(wavelength): ``n`` bins of width ``dln`` from ``start_um``."""

    arm: str
    start_um: float
    stop_um: float
    dln: float

    @property
    def n(self) -> int:
        return int(np.ceil(np.log(self.stop_um / self.start_um) / self.dln))

    @property
    def edges_um(self) -> np.ndarray:
        return self.start_um * np.exp(self.dln * np.arange(self.n + 1))

    @property
    def centres_um(self) -> np.ndarray:
        return self.start_um * np.exp(self.dln * (np.arange(self.n) + 0.5))

    def bins(self, low_um: float, high_um: float) -> slice:
        """The bins whose centres lie in [low_um, high_um] (possibly empty)."""
        centres = self.centres_um
        return slice(int(np.searchsorted(centres, low_um, "left")),
                     int(np.searchsorted(centres, high_um, "right")))


#: the rest-frame grids of the similarity matrix and the templates, per arm: LR 5.2-38 um
#: observed reaches 4.0 um in the rest frame at z = 0.3 (the simulator's and the atlas'
#: largest redshifts); bins of 1 % (LR, R 60-130 sampled about twice per resolution
#: element) and 0.2 % (HR, R 600 sampled 1.2 times)
GRIDS = {"LR": LogGrid("LR", 4.0, 38.5, 0.01), "HR": LogGrid("HR", 7.3, 37.5, 0.002)}


def _pixel_edges(wave: np.ndarray) -> np.ndarray:
    mid = 0.5 * (wave[1:] + wave[:-1])
    first = wave[0] - (mid[0] - wave[0]) if len(wave) > 1 else wave[0] * 0.999
    last = wave[-1] + (wave[-1] - mid[-1]) if len(wave) > 1 else wave[0] * 1.001
    return np.concatenate([[first], mid, [last]])


def resample(wave_um: np.ndarray, flux: np.ndarray, error: np.ndarray | None,
             edges_um: np.ndarray, min_coverage: float = 0.5
             ) -> tuple[np.ndarray, np.ndarray]:
    """Flux densities and errors on the bins ``edges_um`` (module docstring).

    Points with a non-finite wavelength, flux or error are dropped first; input points
    need not be sorted (overlapping orders are merged). Without ``error`` the returned
    errors are NaN.
    """
    wave = np.asarray(wave_um, float)
    flux = np.asarray(flux, float)
    err = np.full_like(flux, np.nan) if error is None else np.asarray(error, float)
    keep = np.isfinite(wave) & np.isfinite(flux) & (np.isfinite(err) | (error is None))
    order = np.argsort(wave[keep], kind="stable")
    wave, flux, err = wave[keep][order], flux[keep][order], err[keep][order]
    n_out = len(edges_um) - 1
    nan = np.full(n_out, np.nan)
    if len(wave) == 0:
        return nan, nan.copy()
    # equal wavelengths (overlapping orders sampled alike) would make empty pixels
    wave, first = np.unique(wave, return_index=True)
    counts = np.diff(np.append(first, len(flux)))
    if (counts > 1).any():
        group = np.repeat(np.arange(len(wave)), counts)
        flux = np.bincount(group, flux) / counts
        err = np.sqrt(np.bincount(group, err ** 2)) / counts
    in_edges = _pixel_edges(wave)
    merged = np.union1d(in_edges, edges_um)
    length = np.diff(merged)
    middle = 0.5 * (merged[1:] + merged[:-1])
    i = np.searchsorted(in_edges, middle) - 1
    j = np.searchsorted(edges_um, middle) - 1
    ok = (i >= 0) & (i < len(wave)) & (j >= 0) & (j < n_out) & (length > 0)
    i, j, length = i[ok], j[ok], length[ok]
    covered = np.bincount(j, length, n_out)
    integral = np.bincount(j, length * flux[i], n_out)
    variance = np.bincount(j, (length * err[i]) ** 2, n_out)
    width = np.diff(edges_um)
    good = covered >= min_coverage * width
    with np.errstate(invalid="ignore", divide="ignore"):
        out_flux = np.where(good, integral / covered, np.nan)
        out_err = np.where(good, np.sqrt(variance) / covered, np.nan)
    return out_flux, out_err
