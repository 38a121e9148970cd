"""Combining the DCEs (cycles) of one nod position (issue 3, step 3).

A per-pixel inverse-variance weighted mean with outlier rejection: values further than
``clip_sigma`` uncertainties from the per-pixel median of the stack are dropped (cosmic
rays the BCD pipeline missed, rogue-pixel jumps). Pixels flagged fatal in the bit mask are
excluded; a pixel with nothing left becomes NaN and is flagged in the returned mask.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FATAL_BITS", "combine_exposures"]

#: bmask bits that make a pixel unusable: 7 flat questionable, 8 no flat, 12 only one
#: plane, 13 no planes, 14 fatal in pmask (SSC default BMASKFATAL 29056 = 7,8,12,13,14)
FATAL_BITS = (1 << 7) | (1 << 8) | (1 << 12) | (1 << 13) | (1 << 14)


def combine_exposures(images, uncertainties, masks=None, *, clip_sigma: float = 5.0,
                      fatal_bits: int = FATAL_BITS):
    """Combine a stack of DCEs of one nod.

    Parameters
    ----------
    images, uncertainties : array (n, ny, nx)
        Slope images and their 1-sigma uncertainties (e-/s).
    masks : array (n, ny, nx) of int, optional
        BCD bit masks.

    Returns
    -------
    image, uncertainty : ndarray (ny, nx)
    rejected : ndarray (ny, nx) of int
        How many DCEs were dropped at each pixel (fatal or outlier).
    """
    images = np.asarray(images, float)
    sigma = np.asarray(uncertainties, float)
    if images.ndim != 3 or images.shape != sigma.shape:
        raise ValueError(f"images {images.shape} and uncertainties {sigma.shape} must be "
                         "equal (n, ny, nx) stacks")
    good = np.isfinite(images) & np.isfinite(sigma) & (sigma > 0)
    if masks is not None:
        good &= (np.asarray(masks) & fatal_bits) == 0
    if images.shape[0] > 2:
        # pixels with no good value get a dummy 0 (they stay rejected): no all-NaN slice,
        # hence no warning (warnings.catch_warnings is not thread-safe under Dask threads)
        any_good = good.any(axis=0)
        stack = np.where(good, images, np.nan)
        stack[0][~any_good] = 0.0
        median = np.nanmedian(stack, axis=0)
        with np.errstate(invalid="ignore"):
            good &= np.abs(images - median) <= clip_sigma * sigma
    weight = np.where(good, 1.0 / np.where(good, sigma, 1.0) ** 2, 0.0)
    total = weight.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        image = np.where(total > 0, np.sum(weight * np.where(good, images, 0.0), axis=0)
                         / total, np.nan)
        uncertainty = np.where(total > 0, 1.0 / np.sqrt(total), np.nan)
    rejected = images.shape[0] - good.sum(axis=0)
    return image, uncertainty, rejected
