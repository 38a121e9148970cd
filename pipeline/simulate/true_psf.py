"""The simulator's point-spread functions and the light of a source through a slit.

Part of the simulator's "true instrument" (:mod:`pipeline.simulate.true_instrument`), which
the reduction never imports: the reduction models the PSF as a Gaussian of FWHM
hypot(1.03 lambda/D, 0.9 px) (``pipeline.instrument.model``) and must learn better profiles
from standard stars; the images it reduces are rendered with the PSFs below.

* **SL**: the SSC's super-sampled SL PSF of the S18 pipeline (``data/sl_psf_s18_v1.npz``,
  converted from ``psf_0_18v1.fits``, see ``data/PROVENANCE.md``): for each order (SL1,
  SL2, SL3) and detector row, the along-slit response of a pixel to a point source at
  sub-pixel offsets (10 sub-columns per pixel, centre at sub-column 175) before the
  pixels integrate it, with its diffraction rings and wings out to +-17 pixels. Each
  row's profile is expanded into circular Gaussians (least squares with a small ridge, 10
  widths of 0.15-8 px; it matches the measured FWHM to 1 % and the light beyond two
  FWHM to about 1 % of the total), which gives the across-slit light of the same
  (assumed circular) PSF; rows are mapped to wavelength through the order's WAVSAMP
  trace, and pixels integrate the profile over their extent when an image is rendered.
* **LL, SH, LH**: the diffraction pattern of an 0.85 m aperture with a linear central
  obstruction of 0.32 (the obstructed Airy pattern, Born & Wolf sec. 8.5; Schroeder,
  Astronomical Optics, sec. 10.2), expanded into circular Gaussians in units of lambda/D
  through its line-spread function out to 20 lambda/D (the wings beyond, about 1.5 % of
  the light, are dropped), convolved with a Gaussian detector blur (charge diffusion and
  pointing jitter) of 0.5 px FWHM; pixels then integrate it over their area.

A source is a Gaussian mixture too (:mod:`pipeline.simulate.morphology`), so the light of a
source falling in any rectangle of the focal plane (the slit width times a pixel's extent
along the slit, or the whole slit) is a sum of products of error functions: the 2-D PSF is
applied exactly to the source for every PSF and source component.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from scipy.special import erf, j1

from pipeline.instrument import default_model

__all__ = [
    "AIRY_BLUR_FWHM_PX",
    "OBSTRUCTION",
    "SL_PSF_FILE",
    "TELESCOPE_DIAMETER_M",
    "airy_intensity",
    "airy_mixture",
    "light_in_box",
    "psf_mixture",
    "sl_psf_rows",
]

TELESCOPE_DIAMETER_M = 0.85
OBSTRUCTION = 0.32
AIRY_BLUR_FWHM_PX = 0.5
ARCSEC_PER_RAD = 206264.80624709636
FWHM_PER_SIGMA = 2.3548200450309493
SL_PSF_FILE = Path(__file__).parent / "data" / "sl_psf_s18_v1.npz"
#: widths (pixels) of the Gaussians the SL rows are expanded into
_SL_SIGMAS_PX = np.geomspace(0.15, 8.0, 10)
_SL_RIDGE = 1e-4
_SQRT2 = np.sqrt(2.0)


def airy_intensity(u: np.ndarray, obstruction: float = OBSTRUCTION) -> np.ndarray:
    """Intensity of the diffraction pattern of an annular aperture at angle u (in units of
    lambda/D), 1 at the centre: [2 J1(pi u)/(pi u) - e^2 2 J1(pi e u)/(pi e u)]^2 / (1 -
    e^2)^2 for a linear obstruction ratio e (Born & Wolf, Principles of Optics, 8.5.2)."""
    v = np.pi * np.asarray(u, float)
    safe = np.where(v == 0.0, 1.0, v)

    def jinc(x):  # 2 J1(x) / x, 1 at x = 0
        return np.where(v == 0.0, 1.0, 2.0 * j1(x) / x)

    field = jinc(safe)
    if obstruction:
        field = field - obstruction**2 * jinc(obstruction * safe)
    return (field / (1.0 - obstruction**2)) ** 2


@cache
def airy_mixture(obstruction: float = OBSTRUCTION) -> tuple[np.ndarray, np.ndarray]:
    """(weights, sigmas in lambda/D) of a circular Gaussian mixture of the obstructed Airy
    pattern, weights summing to 1: least squares with a small ridge on its line-spread
    function (the pattern integrated along one axis) over 0-20 lambda/D, 9 widths of
    0.15-8 lambda/D. Signed weights follow the pattern's flat core (a positive mixture is
    peaked and gives a 20 % narrower FWHM): the mixture's FWHM is within 2 % of the
    pattern's (0.975 lambda/D for an obstruction of 0.32) and its line-spread function
    stays positive."""
    x = np.concatenate([np.linspace(0.0, 4.0, 161), np.geomspace(4.0, 20.0, 80)[1:]])
    y = np.concatenate([np.arange(0.0, 8.0, 0.01), np.geomspace(8.0, 120.0, 1500)[1:]])
    dy = np.gradient(y)
    lsf = 2.0 * (airy_intensity(np.hypot(x[:, None], y[None, :]), obstruction) * dy).sum(1)
    sigmas = np.geomspace(0.15, 8.0, 9)
    design = np.exp(-0.5 * (x[:, None] / sigmas) ** 2) / (np.sqrt(2 * np.pi) * sigmas)
    system = np.vstack([design, np.sqrt(1e-3) * design.max() * np.eye(len(sigmas))])
    rhs = np.concatenate([lsf, np.zeros(len(sigmas))])
    weights = np.linalg.solve(system.T @ system, system.T @ rhs)
    return weights / weights.sum(), sigmas


def _pixel_gaussians(d_px: np.ndarray, sigmas_px: np.ndarray) -> np.ndarray:
    """Response of a one-pixel-wide box at offsets d to unit Gaussians of the given widths."""
    inv = 1.0 / (_SQRT2 * sigmas_px)
    return 0.5 * (erf((d_px[:, None] + 0.5) * inv) - erf((d_px[:, None] - 0.5) * inv))


@cache
def _sl_file() -> dict[str, np.ndarray]:
    with np.load(SL_PSF_FILE) as data:
        return {k: data[k] for k in data.files}


def _fwhm_px(profile: np.ndarray, step_px: float) -> float:
    """FWHM of a sampled single-peaked profile, interpolated at the half-maximum crossings."""
    peak = int(np.argmax(profile))
    half = 0.5 * profile[peak]
    left = peak - np.argmax(profile[peak::-1] < half)
    right = peak + np.argmax(profile[peak:] < half)
    x_left = left + (half - profile[left]) / (profile[left + 1] - profile[left])
    x_right = right - 1 + (profile[right - 1] - half) / (profile[right - 1] - profile[right])
    return float((x_right - x_left) * step_px)


@cache
def sl_psf_rows(order_number: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wavelength um per used row, Gaussian weights (rows, 10), measured profiles
    (rows, 350), each normalised to unit integral in pixels) of one SL order.

    The file's profile of a detector row is the point source's light along the slit at
    sub-pixel offsets d = (sub-column - CENTCOL) / SUBPIX pixels, before the pixels
    integrate it (its FWHM, 0.9 px at 6 um, is narrower than a pixel). Rows are used where
    their wavelength (WAVSAMP trace) lies in the order's WAVECUT range, except isolated rows
    whose FWHM is more than 30 % off the median of the 9 rows around them (SL2 row 75,
    SL3 row 127); elsewhere the nearest used row applies.
    """
    data = _sl_file()
    cube = data["profile"].astype(float)[order_number - int(data["minorder"])]
    subpix, centre = int(data["subpix"]), int(data["centcol"])
    d = (np.arange(cube.shape[1]) - centre) / subpix
    design = np.exp(-0.5 * (d[:, None] / _SL_SIGMAS_PX) ** 2) / (
        np.sqrt(2 * np.pi) * _SL_SIGMAS_PX)
    order = default_model().order(f"SL{order_number}")
    y, wave = order.geometry.centre[:, 1], order.geometry.wavelength_um
    sort = np.argsort(y)
    rows = np.nonzero(cube.sum(1) > 0.5)[0]
    lam = np.interp(rows + 0.5, y[sort], wave[sort])
    lo, hi = order.usable_range_um
    fwhm = np.array([_fwhm_px(cube[r], 1.0 / subpix) for r in rows])
    local = np.array([np.median(fwhm[max(k - 4, 0):k + 5]) for k in range(len(rows))])
    good = (lam >= lo) & (lam <= hi) & (np.abs(fwhm / local - 1.0) < 0.3)
    rows, lam = rows[good], lam[good]
    profiles = cube[rows] * subpix / cube[rows].sum(1, keepdims=True)
    # least squares with a small ridge: signed weights are needed for the flat-topped core
    # and the first ring (a positive mixture is always peaked and misses the FWHM by up to
    # 30 %); the ridge keeps them bounded (|w| < 3) and the fit's projection >= -0.3 % of
    # its peak
    ridge = np.sqrt(_SL_RIDGE) * design.max() * np.eye(len(_SL_SIGMAS_PX))
    system = np.vstack([design, ridge])
    rhs = np.zeros((len(rows), system.shape[0]))
    rhs[:, :len(d)] = profiles
    weights = np.linalg.solve(system.T @ system, system.T @ rhs.T).T
    weights /= weights.sum(1, keepdims=True)
    by_lam = np.argsort(lam)
    return lam[by_lam], weights[by_lam], profiles[by_lam]


@cache
def _module_scale(module_name: str) -> float:
    return default_model().module(module_name).plate_scale_arcsec


def psf_mixture(order_name: str, wavelength_um) -> tuple[np.ndarray, np.ndarray]:
    """The PSF of an order at the given wavelengths as a circular Gaussian mixture:
    (weights (n, K) summing to 1 per row, sigmas arcsec (n, K))."""
    lam = np.atleast_1d(np.asarray(wavelength_um, float))
    module = order_name[:2]
    scale = _module_scale(module)
    if module == "SL":
        rows_lam, rows_w, _ = sl_psf_rows(int(order_name[2:]))
        weights = np.column_stack([np.interp(lam, rows_lam, rows_w[:, k])
                                   for k in range(rows_w.shape[1])])
        weights /= weights.sum(1, keepdims=True)
        sigmas = np.broadcast_to(_SL_SIGMAS_PX * scale, weights.shape)
        return weights, sigmas
    w, s = airy_mixture()
    diffraction = lam[:, None] * 1e-6 / TELESCOPE_DIAMETER_M * ARCSEC_PER_RAD * s[None, :]
    blur = AIRY_BLUR_FWHM_PX * scale / FWHM_PER_SIGMA
    return np.broadcast_to(w, diffraction.shape), np.hypot(diffraction, blur)


def light_in_box(psf_w: np.ndarray, psf_s: np.ndarray, src_w: np.ndarray, src_s: np.ndarray,
                 x_lo, x_hi, y_lo, y_hi, x_blur_arcsec: float = 0.0) -> np.ndarray:
    """Fraction of a source's flux, seen through the PSF, inside rectangles of the focal
    plane (one per row of ``psf_w``): x across the slit, y along it, edges in arcsec
    relative to the source centre.

    Parameters
    ----------
    psf_w, psf_s : ndarray (n, K)
        PSF mixture per rectangle (:func:`psf_mixture`).
    src_w, src_s : ndarray (J,)
        Source mixture (``Morphology.gaussians``), sigmas arcsec (0 for a point).
    x_lo, x_hi, y_lo, y_hi : float or ndarray (n,)
    x_blur_arcsec : float
        Gaussian sigma of an extra blur across the slit only.
    """
    keep = np.abs(src_w) > 1e-5
    src_w, src_s = src_w[keep], src_s[keep]
    var = psf_s[:, :, None] ** 2 + src_s[None, None, :] ** 2
    inv_y = 1.0 / np.sqrt(2.0 * var)
    inv_x = 1.0 / np.sqrt(2.0 * (var + x_blur_arcsec**2)) if x_blur_arcsec else inv_y
    weight = psf_w[:, :, None] * src_w[None, None, :]

    def band(lo, hi, inv):
        lo = np.asarray(lo, float).reshape(-1, 1, 1)
        hi = np.asarray(hi, float).reshape(-1, 1, 1)
        return 0.5 * (erf(hi * inv) - erf(lo * inv))

    return (weight * band(x_lo, x_hi, inv_x) * band(y_lo, y_hi, inv_y)).sum((1, 2))
