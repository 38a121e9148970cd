"""Combining the two nod positions' spectra of one order (issue 3, step 6).

* ``common``: the second nod interpolated onto the first nod's wavelengths, then averaged
  (errors added in quadrature and halved), so the result keeps one sample per detector row;
* ``interleaved``: the two nods keep their own wavelengths (the tilted slit image puts the
  two nod positions at slightly different wavelengths on each row) and are merged into one
  spectrum sampled about twice as finely; samples at identical wavelengths are averaged.

With one nod only (the other refused), both give that nod's spectrum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .extract import Extraction

__all__ = ["common_grid", "interleave", "merged_flags"]


def common_grid(per_nod: Sequence[Extraction]) -> Extraction:
    """Mean of the nods on the first nod's grid."""
    if len(per_nod) == 1:
        return per_nod[0]
    a, b = per_nod
    inside = (a.wavelength_um >= b.wavelength_um[0]) & (a.wavelength_um <= b.wavelength_um[-1])
    counts_b = np.interp(a.wavelength_um, b.wavelength_um, b.counts)
    error_b = np.interp(a.wavelength_um, b.wavelength_um, b.counts_error)
    counts = np.where(inside, 0.5 * (a.counts + counts_b), a.counts)
    errors = np.where(inside, 0.5 * np.hypot(a.counts_error, error_b), a.counts_error)
    return Extraction(a.order, a.method, a.wavelength_um, counts, errors, a.rows,
                      merged_flags(a, b))


def merged_flags(a: Extraction, b: Extraction) -> np.ndarray | None:
    """``replaced`` flags of ``a``'s samples after adding ``b`` on ``a``'s grid: set if
    either nod's nearest sample used a replaced pixel."""
    if a.replaced is None and b.replaced is None:
        return None
    mine = np.zeros(len(a.wavelength_um), bool) if a.replaced is None else a.replaced
    if b.replaced is None or not len(b.wavelength_um):
        return mine
    nearest = np.abs(b.wavelength_um[None, :] - a.wavelength_um[:, None]).argmin(axis=1)
    return mine | b.replaced[nearest]


def interleave(per_nod: Sequence[Extraction]) -> Extraction:
    """Both nods' samples merged by wavelength (strictly increasing)."""
    if len(per_nod) == 1:
        return per_nod[0]
    lam = np.concatenate([e.wavelength_um for e in per_nod])
    counts = np.concatenate([e.counts for e in per_nod])
    var = np.concatenate([e.counts_error for e in per_nod]) ** 2
    rows = np.concatenate([e.rows for e in per_nod])
    grid, index, n = np.unique(lam, return_inverse=True, return_counts=True)
    merged = np.bincount(index, weights=counts) / n
    error = np.sqrt(np.bincount(index, weights=var)) / n
    first = np.zeros(len(grid), int)
    first[index[::-1]] = np.arange(len(lam))[::-1]
    flags = None
    if any(e.replaced is not None for e in per_nod):
        used = np.concatenate([np.zeros(len(e.wavelength_um), bool) if e.replaced is None
                               else e.replaced for e in per_nod])
        flags = np.bincount(index, weights=used.astype(float)) > 0
    return Extraction(per_nod[0].order, per_nod[0].method, grid, merged, error, rows[first],
                      flags)
