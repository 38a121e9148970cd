"""Synthetic photometry of a spectrum in the Spitzer and WISE mid-infrared bands.

No measured response curve of these bands is in the project's data (``../shared/data``
has none), so each band is approximated by a trapezoid: flat between its published
half-power wavelengths, with linear edges 0.3 um wide on either side. The half-power
ranges: IRAC 8.0 um 6.44-9.30 um (IRAC Instrument Handbook v2.1, Table 2.1); IRS blue
peak-up 13.3-18.7 um and red peak-up 18.5-26.0 um (IRS Instrument Handbook v5.0,
sec. 4.3.1); MIPS 24 um 20.8-26.1 um (MIPS Instrument Handbook v3.0, Table 2.1); WISE W3
and W4 as rectangles of the equivalent widths about the isophotal wavelengths of Jarrett
et al. 2011 (ApJ 735, 112, Table 1: W3 11.56 um x 5.50 um; W4 22.09 um x 4.10 um).

The value is the photon-weighted mean F_nu, sum(F_nu R / lambda dlambda) / sum(R / lambda
dlambda), in the observed frame, without a colour correction to the bands' reference
spectra: for steep spectra it differs from the archives' catalogued photometry by up to
several per cent (the colour corrections of the handbooks), and the trapezoids add about
as much again. A band is measured only when the spectrum covers all of it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BANDS", "synthetic_photometry"]

#: band -> (blue half-power um, red half-power um)
BANDS: dict[str, tuple[float, float]] = {
    "irac8": (6.44, 9.30),
    "pu16": (13.3, 18.7),
    "pu22": (18.5, 26.0),
    "mips24": (20.8, 26.1),
    "w3": (11.56 - 2.75, 11.56 + 2.75),
    "w4": (22.09 - 2.05, 22.09 + 2.05),
}
_EDGE_UM = 0.3


def response(band: str, wavelength_um: np.ndarray) -> np.ndarray:
    """The trapezoid response of ``band`` (peak 1) at the given wavelengths."""
    lo, hi = BANDS[band]
    lam = np.asarray(wavelength_um, float)
    rise = np.clip((lam - (lo - _EDGE_UM / 2)) / _EDGE_UM, 0.0, 1.0)
    fall = np.clip(((hi + _EDGE_UM / 2) - lam) / _EDGE_UM, 0.0, 1.0)
    return np.minimum(rise, fall)


def synthetic_photometry(wavelength_um, flux_jy, error_jy) -> dict[str, tuple[float, float]]:
    """Band -> (mean F_nu in Jy, its uncertainty) for the bands the spectrum covers.

    The samples are weighted by R / lambda times the wavelength interval each stands for
    (half the distance to its neighbours), so the errors of independent samples
    propagate as sqrt(sum w^2 sigma^2) / sum w. A band is left out when a gap in the
    spectrum inside it is wider than 0.5 um or the spectrum stops inside it.
    """
    lam = np.asarray(wavelength_um, float)
    flux = np.asarray(flux_jy, float)
    err = np.asarray(error_jy, float)
    good = np.isfinite(lam) & np.isfinite(flux) & np.isfinite(err)
    order = np.argsort(lam[good], kind="stable")
    lam, flux, err = lam[good][order], flux[good][order], err[good][order]
    out: dict[str, tuple[float, float]] = {}
    if lam.size < 3:
        return out
    step = np.empty_like(lam)
    step[1:-1] = 0.5 * (lam[2:] - lam[:-2])
    step[0], step[-1] = lam[1] - lam[0], lam[-1] - lam[-2]
    for band, (lo, hi) in BANDS.items():
        a, b = lo - _EDGE_UM / 2, hi + _EDGE_UM / 2
        if lam[0] > a or lam[-1] < b:
            continue
        inside = (lam >= a) & (lam <= b)
        edges = np.concatenate([[a], lam[inside], [b]])
        if np.max(np.diff(edges)) > 0.5:
            continue
        weight = response(band, lam[inside]) / lam[inside] * step[inside]
        total = float(weight.sum())
        if total <= 0.0:
            continue
        out[band] = (float(weight @ flux[inside]) / total,
                     float(np.sqrt((weight * err[inside]) @ (weight * err[inside]))) / total)
    return out
