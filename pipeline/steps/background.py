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
from .grouped import grouped_median

__all__ = ["contamination", "insitu_sky", "subtract"]


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
    level[:] = grouped_median(np.where(interior, pix.rows, 128), values, 129)[:128]
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


def insitu_sky(image, uncertainty, module, order: Order, centre_px: float,
               exclusion_fwhm: float = 2.5, width_arcsec: float = 0.0):
    """The sky under the source from the slit's own pixels (LR 'insitu').

    Per detector row, a straight line along the slit is fitted (weighted) to the pixels
    further than ``exclusion_fwhm`` times the source's FWHM (PSF combined with
    ``width_arcsec``) from the source, and evaluated on every pixel of the order. Returns
    an image holding that sky on the order's pixels (NaN elsewhere), or None when a row
    keeps fewer than 4 sky pixels on the whole order (a source filling the slit).
    """
    pix = order.pixels
    values = np.asarray(image, float).ravel()[pix.index]
    sigma = np.asarray(uncertainty, float).ravel()[pix.index]
    fwhm_px = np.hypot(module.psf_fwhm_arcsec(pix.wavelength_um), width_arcsec) \
        / module.plate_scale_arcsec
    half_px = 0.5 * module.slit_length_arcsec / module.plate_scale_arcsec
    sky = (np.abs(pix.slit_px - centre_px) > exclusion_fwhm * fwhm_px) \
        & (np.abs(pix.slit_px) < half_px - 1) & np.isfinite(values) & np.isfinite(sigma) \
        & (sigma > 0)
    rows, k = np.unique(pix.rows, return_inverse=True)
    n = len(rows)
    w = np.where(sky, 1.0 / np.where(sky, sigma, 1.0) ** 2, 0.0)
    x, y = pix.slit_px, np.where(sky, values, 0.0)
    s1, sx, sxx = (np.bincount(k, weights=w * t, minlength=n) for t in (1.0, x, x * x))
    sy, sxy = (np.bincount(k, weights=w * t, minlength=n) for t in (y, x * y))
    count = np.bincount(k, weights=sky.astype(float), minlength=n)
    if np.median(count) < 4:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        det = s1 * sxx - sx**2
        slope = np.where(count >= 4, (s1 * sxy - sx * sy) / det, 0.0)
        level = np.where(count >= 4, (sy - slope * sx) / s1,
                         np.where(count > 0, sy / s1, np.nan))
    out = np.full(np.size(image), np.nan)
    out[pix.index] = level[k] + slope[k] * x
    return out.reshape(np.shape(image))
