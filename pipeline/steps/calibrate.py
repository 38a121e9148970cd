"""Flux calibration from standard stars (issue 3, step 7).

The relative spectral response (RSRF) of an order and extraction method is derived by
running the same extraction on standard-star observations and dividing by the stars' model
spectra (``pipeline.instrument.standards``): counts per Jy against wavelength. Several
observations are combined by the median; the response is smoothed with a running median to
keep the noise of one star out of every calibrated spectrum. Nothing here knows the
conversion the simulator used: only the standards' models link the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

from pipeline.instrument.standards import StandardStar

from .extract import Extraction

__all__ = ["Response", "apply_response", "derive_response"]


@dataclass(frozen=True)
class Response:
    """Counts (e-/s per wavelength sample) per Jy for one order and extraction method."""

    order: str
    method: str
    wavelength_um: np.ndarray
    counts_per_jy: np.ndarray
    n_observations: int


def derive_response(observations: list[tuple[Extraction, StandardStar]],
                    smooth: int = 5) -> Response:
    """Median response of several standard-star extractions of one order and method."""
    if not observations:
        raise ValueError("no standard-star observation to derive a response from")
    first = observations[0][0]
    if {(e.order, e.method) for e, _ in observations} != {(first.order, first.method)}:
        raise ValueError("standard-star extractions of different orders or methods")
    grid = first.wavelength_um
    ratios = []
    for ext, star in observations:
        ratio = ext.counts / star.flux_jy(ext.wavelength_um)
        ratios.append(np.interp(grid, ext.wavelength_um, ratio))
    stack = np.vstack(ratios)
    usable = np.isfinite(stack).any(axis=0)  # samples no standard measured are dropped
    grid, response = grid[usable], np.nanmedian(stack[:, usable], axis=0)
    if not len(grid):
        raise ValueError(f"no usable standard-star sample in {first.order}")
    if smooth > 1 and len(response) > smooth:
        response = median_filter(response, size=smooth, mode="nearest")
    return Response(first.order, first.method, grid, response, len(observations))


def apply_response(ext: Extraction, response: Response):
    """Flux density (Jy) and its uncertainty for an extraction of the same order/method."""
    if (ext.order, ext.method) != (response.order, response.method):
        raise ValueError(f"response of {response.order}/{response.method} cannot calibrate "
                         f"{ext.order}/{ext.method}")
    per_jy = np.interp(ext.wavelength_um, response.wavelength_um, response.counts_per_jy)
    return ext.counts / per_jy, ext.counts_error / per_jy
