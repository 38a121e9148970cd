"""Rest-frame templates: a selection of spectra stacked into one high-SNR spectrum.

Each spectrum is moved to its rest frame (catalogue redshift, 0 when unknown) and
resampled with flux conservation onto the arm's grid (:mod:`.resample`), then
normalised: divided by its inverse-variance weighted mean flux density over the
normalisation window, so that it averages 1 Jy there (a spectrum without a value in the
window is left out and counted as such); without normalisation the observed flux
densities are stacked. Per bin, over the N spectra with a value there:

* ``mean``: sum F_i / N, error sqrt(sum sigma_i^2) / N;
* ``wmean``: inverse-variance weighted mean, error 1 / sqrt(sum 1/sigma_i^2);
* ``median``: the median, error sqrt(pi/2) sqrt(sum sigma_i^2) / N (the asymptotic
  standard error of a median of Gaussian values, Kendall & Stuart vol. 1, 10.10).

The normalisation factor's own uncertainty is not propagated (over a window of tens of
bins it is a small fraction of one bin's error).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .grids import rest_frame
from .resample import GRIDS

__all__ = ["STATISTICS", "Template", "TemplateError", "stack"]

STATISTICS = ("mean", "median", "wmean")
#: default normalisation window (rest frame, um): inside the LR and HR ranges at every
#: redshift of the atlas and free of strong features (between [NeV] 14.32 and [NeIII])
DEFAULT_NORM_UM = (14.5, 15.0)


class TemplateError(ValueError):
    """A template that cannot be built; the message is for the user."""


@dataclass(frozen=True)
class Template:
    arm: str
    statistic: str
    wavelength_um: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    n_spectra: np.ndarray
    used: tuple[str, ...]
    left_out: tuple[str, ...]
    norm_um: tuple[float, float] | None


def stack(arm: str, spectra: Iterable[tuple[str, float | None, np.ndarray, np.ndarray,
                                            np.ndarray]], *, statistic: str = "mean",
          norm_um: Sequence[float] | None = DEFAULT_NORM_UM) -> Template:
    """The template of ``(cj_id, redshift, wavelength_um, flux, error)`` spectra."""
    if arm not in GRIDS:
        raise TemplateError(f"unknown arm {arm!r}: LR or HR")
    if statistic not in STATISTICS:
        raise TemplateError(f"unknown statistic {statistic!r}: {', '.join(STATISTICS)}")
    grid = GRIDS[arm]
    window = None
    if norm_um is not None:
        low, high = (float(v) for v in norm_um)
        if not low < high:
            raise TemplateError(f"normalisation window {low:g}-{high:g} um is empty")
        window = grid.bins(low, high)
        if window.stop <= window.start:
            raise TemplateError(f"normalisation window {low:g}-{high:g} um holds no bin of "
                                f"the {arm} grid ({grid.start_um:g}-{grid.stop_um:g} um)")
    rows_f, rows_e, used, left_out = [], [], [], []
    for cj_id, z, wave, flux, err in spectra:
        f, e = rest_frame(wave, flux, err, z, grid)
        if window is not None:
            fw, ew = f[window], e[window]
            ok = np.isfinite(fw) & np.isfinite(ew) & (ew > 0)
            scale = np.sum(fw[ok] / ew[ok] ** 2) / np.sum(1 / ew[ok] ** 2) if ok.any() \
                else np.nan
            if not (np.isfinite(scale) and scale > 0):
                left_out.append(cj_id)
                continue
            f, e = f / scale, e / scale
        rows_f.append(f)
        rows_e.append(e)
        used.append(cj_id)
    if not used:
        raise TemplateError("no spectrum of the selection can be stacked (none has a "
                            "positive flux in the normalisation window)" if left_out else
                            "the selection holds no spectrum of this arm")
    f = np.array(rows_f)
    e = np.array(rows_e)
    ok = np.isfinite(f) & np.isfinite(e) & (e > 0)
    n = ok.sum(0)
    fz = np.where(ok, f, 0.0)
    var = np.where(ok, e * e, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if statistic == "wmean":
            w = np.where(ok, 1.0 / np.where(ok, var, 1.0), 0.0)
            flux = (w * fz).sum(0) / w.sum(0)
            error = 1.0 / np.sqrt(w.sum(0))
        else:
            error = np.sqrt(var.sum(0)) / n
            if statistic == "median":
                flux = np.full(grid.n, np.nan)
                some = n > 0
                flux[some] = np.nanmedian(np.where(ok, f, np.nan)[:, some], axis=0)
                error = error * np.sqrt(np.pi / 2)
            else:
                flux = fz.sum(0) / n
    keep = n > 0
    return Template(arm, statistic, grid.centres_um[keep], flux[keep], error[keep],
                    n[keep].astype(np.int32), tuple(used), tuple(left_out),
                    None if norm_um is None else (float(norm_um[0]), float(norm_um[1])))
