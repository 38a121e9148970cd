"""Rogue and hot pixels found and replaced (issue 3, step 2; IRSCLEAN-like; irs.md 1.9).

A rogue pixel's excess dark current is there in every exposure, wherever the source is:
a pixel is rogue when, in *every* combined nod image of a module (both nods, both
sub-slits), it exceeds the mean of its two neighbours along the dispersion (the rows above
and below, same column) by ``threshold`` sigma, while its neighbours along the slit (same
row) do not: a source moves between nods, and an emission line of an extended source
spans the whole row, so neither is taken for a rogue. Pixels the SSC permanent mask marks
hot or dead are added. Each flagged pixel is replaced by the mean of its dispersion
neighbours (the along-slit profile changes slowly from row to row) and flagged, so the
extraction can mark the spectral points that used it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["PMASK_REPLACE_BITS", "find_rogues", "replace_pixels"]

#: PMASK bits replaced besides the detected rogues: 6, 7 hot/rogue, 8 dead (SSC pmask)
PMASK_REPLACE_BITS = (1 << 6) | (1 << 7) | (1 << 8)


def _excess(image: np.ndarray, unc: np.ndarray) -> np.ndarray:
    """(pixel - mean of the rows above and below) / uncertainty, NaN at the edges."""
    out = np.full(image.shape, np.nan)
    neighbours = 0.5 * (image[:-2] + image[2:])
    sigma = np.sqrt(unc[1:-1] ** 2 + 0.25 * (unc[:-2] ** 2 + unc[2:] ** 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[1:-1] = (image[1:-1] - neighbours) / sigma
    return out


def find_rogues(images: Sequence[np.ndarray], uncertainties: Sequence[np.ndarray],
                pmask: np.ndarray | None = None, threshold: float = 5.0) -> np.ndarray:
    """Boolean mask of the pixels to replace (see the module docstring)."""
    deviant = None
    for image, unc in zip(images, uncertainties, strict=True):
        z = _excess(np.asarray(image, float), np.asarray(unc, float))
        high = np.nan_to_num(z, nan=0.0) > threshold
        left = np.zeros_like(high)
        right = np.zeros_like(high)
        left[:, 1:], right[:, :-1] = high[:, :-1], high[:, 1:]
        isolated = high & ~left & ~right
        deviant = isolated if deviant is None else deviant & isolated
    mask = np.zeros(np.shape(images[0]), bool) if deviant is None or len(images) < 2 \
        else deviant
    if pmask is not None:
        mask = mask | ((np.asarray(pmask) & PMASK_REPLACE_BITS) != 0)
    return mask


def replace_pixels(image: np.ndarray, uncertainty: np.ndarray, mask: np.ndarray):
    """The image with masked pixels replaced by the mean of their dispersion neighbours
    (the one available at an edge); their uncertainty is that of the mean, doubled."""
    image = np.array(image, float, copy=True)
    unc = np.array(uncertainty, float, copy=True)
    rows, cols = np.nonzero(mask)
    above, below = (rows - 1).clip(0), (rows + 1).clip(max=image.shape[0] - 1)
    values = np.vstack([image[above, cols], image[below, cols]])
    sigmas = np.vstack([unc[above, cols], unc[below, cols]])
    usable = ~np.vstack([mask[above, cols], mask[below, cols]]) & np.isfinite(values)
    n = usable.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        image[rows, cols] = np.where(n > 0, np.where(usable, values, 0).sum(axis=0) / n,
                                     np.nan)
        unc[rows, cols] = np.where(n > 0, 2 * np.sqrt(np.where(usable, sigmas**2, 0).sum(
            axis=0)) / n, np.nan)
    return image, unc
