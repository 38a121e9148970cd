"""Combining the two nod positions' spectra of one order (issue 3, step 6).

* ``common``: the second nod interpolated onto the first nod's wavelengths, then averaged
  (errors added in quadrature and halved), so the result keeps one sample per detector row;
* ``interleaved``: the two nods keep their own wavelengths (the tilted slit image puts the
  two nod positions at slightly different wavelengths on each row) and are merged into one
  spectrum sampled about twice as finely; samples at identical wavelengths are averaged.

With one nod only (the other refused), both give that nod's spectrum.

A sample where the nods disagree by ``NOD_SPIKE_SIGMA`` holds a spike (a cosmic ray or an
unstable rogue pixel that no stack of exposures removed) in the nod that departs from its
own running median twice as far as the other (``nod_spikes``): that nod's value is
replaced by the other's and the sample flagged (CASSIS's cleaned nod combination).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import median_filter

from .extract import Extraction

__all__ = ["NOD_SPIKE_SIGMA", "common_grid", "interleave", "merged_flags", "nod_spikes"]

#: a sample where the nods differ by more than this many sigma holds a spike in one nod
NOD_SPIKE_SIGMA = 5.0


def nod_spikes(a: np.ndarray, error_a: np.ndarray, b: np.ndarray, error_b: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the samples (on one grid) where nod ``a`` or nod ``b`` holds a spike: the
    nods differ by ``NOD_SPIKE_SIGMA`` and that nod departs from its own 5-sample running
    median twice as far as the other (a real feature both nods see departs in both)."""
    none = np.zeros(len(a), bool)
    if len(a) < 5:
        return none, none
    with np.errstate(invalid="ignore"):
        spike = np.abs(a - b) > NOD_SPIKE_SIGMA * np.hypot(error_a, error_b)
    if not spike.any():
        return none, none
    off_a = np.abs(a - median_filter(a, 5, mode="nearest"))
    off_b = np.abs(b - median_filter(b, 5, mode="nearest"))
    return spike & (off_a > 2.0 * off_b), spike & (off_b > 2.0 * off_a)


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
    in_a, in_b = nod_spikes(a.counts, a.counts_error, counts_b, error_b)
    in_a, in_b = in_a & inside, in_b & inside
    counts = np.where(in_a, counts_b, np.where(in_b, a.counts, counts))
    errors = np.where(in_a, error_b, np.where(in_b, a.counts_error, errors))
    flags = merged_flags(a, b)
    if (in_a | in_b).any():
        flags = (in_a | in_b) if flags is None else (np.asarray(flags, bool) | in_a | in_b)
    return Extraction(a.order, a.method, a.wavelength_um, counts, errors, a.rows, flags)


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
    per_nod = _despiked(per_nod)
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


def _despiked(per_nod: Sequence[Extraction]) -> list[Extraction]:
    """Each nod with its spikes (``nod_spikes`` against the other nod, interpolated onto
    its grid) replaced by the other nod's value and flagged."""
    from dataclasses import replace

    out = []
    for mine, other in ((per_nod[0], per_nod[1]), (per_nod[1], per_nod[0])):
        if len(other.wavelength_um) < 2:
            out.append(mine)
            continue
        theirs = np.interp(mine.wavelength_um, other.wavelength_um, other.counts)
        their_error = np.interp(mine.wavelength_um, other.wavelength_um, other.counts_error)
        spiked, _ = nod_spikes(mine.counts, mine.counts_error, theirs, their_error)
        if not spiked.any():
            out.append(mine)
            continue
        flags = spiked if mine.replaced is None else (np.asarray(mine.replaced, bool) | spiked)
        out.append(replace(mine, counts=np.where(spiked, theirs, mine.counts),
                           counts_error=np.where(spiked, their_error, mine.counts_error),
                           replaced=flags))
    return out
