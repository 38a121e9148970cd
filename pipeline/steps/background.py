"""Background subtraction for low resolution (issue 3, step 4) and its contamination check.

* by nod: the other nod's image of the same sub-slit (the source moved by a third of the
  slit, the sky stayed);
* by order: the same nod's image taken with the target in the other sub-slit, where this
  sub-slit saw sky 78" (SL) or 192" (LL) away (irs.md 1.5).

Either background frame may hold another source. ``contamination`` looks for one in the
background frame at the place the target is extracted from: a significant peak there means
the subtraction would remove real flux, and the method is refused with that reason.
"""

from __future__ import annotations

import numpy as np

from pipeline.instrument import Order

from .extract import extract

__all__ = ["contamination", "subtract"]


def subtract(image, uncertainty, background, background_uncertainty):
    """Image minus background frame, uncertainties added in quadrature."""
    return (
        np.asarray(image, float) - np.asarray(background, float),
        np.hypot(uncertainty, background_uncertainty),
    )


def contamination(
    background,
    background_uncertainty,
    module,
    order: Order,
    centre_px: float,
    threshold_sigma: float = 5.0,
) -> str | None:
    """Why a background frame must not be used at ``centre_px``, or None if it is clean.

    The frame is extracted at the target's position with the tapered aperture and compared,
    row by row, with the frame's own sky level (the median of the row's pixels well inside
    the slit, since the zodiacal light changes with wavelength); a median excess above
    ``threshold_sigma`` (for the whole order) is a source in the background.
    """
    pix = order.pixels
    values = np.asarray(background, float).ravel()[pix.index]
    half_px = 0.5 * module.slit_length_arcsec / module.plate_scale_arcsec
    interior = np.abs(pix.slit_px) < half_px - 1
    level = np.full(128, np.nan)
    for row in np.unique(pix.rows):
        sel = interior & (pix.rows == row)
        if sel.any():
            level[row] = np.nanmedian(values[sel])
    flat = np.array(background, float, copy=True).ravel()
    flat[pix.index] = values - level[pix.rows]
    ext = extract(flat.reshape(np.shape(background)), background_uncertainty, module, order,
                  centre_px, "tapered")
    if not len(ext.counts):
        return "background frame has no usable pixels at the target position"
    excess = ext.counts / ext.counts_error
    finite = np.isfinite(excess)
    if not finite.any():
        return None
    significance = float(np.median(excess[finite]) * np.sqrt(finite.sum()))
    if significance > threshold_sigma:
        return (
            f"a source of {significance:.0f} sigma lies in the background frame at the "
            f"target position of {order.name}"
        )
    return None
