"""Reading the DCEs of one nod from disk and combining them (the reduction's only reader of
raw exposures).

Both arms start the same way: the BCD, its uncertainty (``func``) and bit mask of every DCE
of one sub-slit and nod are read and combined (``steps.combine``). Low and high resolution
call :func:`load_nod` so that cleaning and combination are one code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from .grouping import Dce
from .steps.combine import combine_exposures

__all__ = ["NodImage", "load_nod"]


@dataclass(frozen=True)
class NodImage:
    """The combined image of one nod (e-/s), its 1-sigma uncertainty, and per pixel how many
    DCEs were rejected."""

    image: np.ndarray
    uncertainty: np.ndarray
    rejected: np.ndarray
    n_dce: int


def load_nod(dces: Sequence[Dce]) -> NodImage:
    """Read and combine the DCEs of one sub-slit and nod."""
    if not dces:
        raise ValueError("no DCE to combine")
    images, uncs, masks = [], [], []
    for dce in dces:
        image = fits.getdata(dce.path).astype(float)
        images.append(image)
        if dce.func_path is not None:
            uncs.append(fits.getdata(dce.func_path).astype(float))
        else:  # no uncertainty file: robust scatter of the image as a floor
            uncs.append(np.full_like(image, 1.4826 * np.nanmedian(np.abs(image))))
        masks.append(fits.getdata(dce.bmask_path) if dce.bmask_path is not None
                     else np.zeros(image.shape, int))
    image, unc, rejected = combine_exposures(images, uncs, masks)
    return NodImage(image, unc, rejected, len(dces))
