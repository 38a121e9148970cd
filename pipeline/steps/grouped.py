"""Vectorised per-group statistics (a median per detector row or per slit bin, without a
Python loop over the groups)."""

from __future__ import annotations

import numpy as np

__all__ = ["grouped_median"]


def grouped_median(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` in each group ``0..n_groups-1`` (NaN values ignored; NaN for an
    empty group). ``groups`` are non-negative integers."""
    groups = np.asarray(groups)
    values = np.asarray(values, float)
    keep = np.isfinite(values)
    groups, values = groups[keep], values[keep]
    out = np.full(n_groups, np.nan)
    if not len(values):
        return out
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    present = counts > 0
    lo = starts[present] + (counts[present] - 1) // 2
    hi = starts[present] + counts[present] // 2
    out[present] = 0.5 * (values[lo] + values[hi])
    return out
