"""Zodiacal light, the background of every IRS exposure: the reduction's expectation.

The SSC wrote its estimate of the zodiacal light at each pointing into the BCD headers
(``ZODY_EST``, MJy/sr, from its background model at the date and position of the
observation) at one reference wavelength per module (``ZODY_REFERENCE_UM``). The reduction
scales the spectral shape below to that estimate (``zody_sky_mjy_sr``) to subtract the
zodiacal light from HR full-aperture spectra of extended sources and to tell a source that
fills the short HR slits from the zodiacal light alone (``pipeline.highres``). The
simulator renders zodiacal light of its own (``pipeline.simulate``), not this model.

The shape: a grey-body of 275 K whose brightness at 12 um falls from about 40 MJy/sr in
the ecliptic plane to about 8 MJy/sr at the ecliptic poles (the range COBE/DIRBE and the
Spitzer background estimator give at solar elongations near 90 deg). ``ZODY_ESTIMATE_ERROR``
is the fractional uncertainty the reduction gives the scaled estimate: the background
model's quoted accuracy of a few per cent at its reference wavelength plus the shape's
error away from it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ZODY_ESTIMATE_ERROR", "ZODY_REFERENCE_UM", "ecliptic_latitude_deg",
           "zodi_jy_per_arcsec2", "zodi_mjy_sr", "zody_sky_mjy_sr"]

#: the wavelength (um) at which each module's BCD headers give ZODY_EST
ZODY_REFERENCE_UM = {"SL": 10.0, "LL": 22.0, "SH": 15.0, "LH": 27.0}
#: fractional uncertainty of the zodiacal light scaled to ZODY_EST
ZODY_ESTIMATE_ERROR = 0.08

_T_K = 275.0
_OBLIQUITY = np.radians(23.4392911)
_H_OVER_K = 6.62607015e-34 / 1.380649e-23
_C_UM_HZ = 2.99792458e14
JY_PER_ARCSEC2_PER_MJY_SR = 1e6 / 206264.80624709636**2


def ecliptic_latitude_deg(ra_deg, dec_deg) -> np.ndarray:
    """Ecliptic latitude of ICRS positions (vectorised; J2000 mean obliquity).

    sin(beta) = sin(dec) cos(eps) - cos(dec) sin(eps) sin(ra); good to well under an
    arcminute, plenty for a zodiacal-light model (astropy's frame transform gives the same
    within 0.01 deg at ~1000x the cost per call).
    """
    ra = np.radians(np.atleast_1d(ra_deg))
    dec = np.radians(np.atleast_1d(dec_deg))
    sin_beta = np.sin(dec) * np.cos(_OBLIQUITY) - np.cos(dec) * np.sin(_OBLIQUITY) * np.sin(ra)
    return np.degrees(np.arcsin(np.clip(sin_beta, -1.0, 1.0)))


def _planck_shape(wavelength_um: np.ndarray) -> np.ndarray:
    nu = _C_UM_HZ / wavelength_um
    return nu**3 / np.expm1(_H_OVER_K * nu / _T_K)


def zodi_mjy_sr(wavelength_um, ecliptic_lat_deg: float, scale: float = 1.0) -> np.ndarray:
    """Zodiacal surface brightness in MJy/sr at the given wavelengths."""
    wavelength_um = np.asarray(wavelength_um, float)
    level_12um = 8.0 + 32.0 * np.exp(-((ecliptic_lat_deg / 28.0) ** 2))
    shape = _planck_shape(wavelength_um) / _planck_shape(np.array(12.0))
    return scale * level_12um * shape


def zodi_jy_per_arcsec2(wavelength_um, ecliptic_lat_deg: float, scale: float = 1.0):
    """Zodiacal surface brightness in Jy per square arcsec."""
    return zodi_mjy_sr(wavelength_um, ecliptic_lat_deg, scale) * JY_PER_ARCSEC2_PER_MJY_SR


def zody_sky_mjy_sr(wavelength_um, zody_est_mjy_sr: float, module: str) -> np.ndarray:
    """The zodiacal light at ``wavelength_um`` (MJy/sr): the model's shape through the
    header's ``ZODY_EST`` at the module's reference wavelength."""
    wavelength_um = np.asarray(wavelength_um, float)
    ref = np.array(ZODY_REFERENCE_UM[module])
    return zody_est_mjy_sr * _planck_shape(wavelength_um) / _planck_shape(ref)
