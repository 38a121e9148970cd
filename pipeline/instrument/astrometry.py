"""Small-field astrometry: tangent-plane offsets and the IRS focal plane on the sky.

Offsets are gnomonic (TAN) projections about a reference position, in arcsec, with xi
towards east and eta towards north. The focal plane uses the SSC FRAMETABLE axes
(theta_Y, theta_Z, arcsec); a pointing maps it onto the sky by a rotation through the roll
angle, the position angle (east of north) of the focal-plane +Z axis.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "focal_to_sky_offset",
    "offset_position",
    "position_angle_deg",
    "sky_offset",
    "sky_to_focal_offset",
]

ARCSEC_PER_RAD = 206264.80624709636


def sky_offset(ra0_deg, dec0_deg, ra_deg, dec_deg):
    """Tangent-plane offsets (xi east, eta north; arcsec) of positions about a reference."""
    a0, d0 = np.radians(ra0_deg), np.radians(dec0_deg)
    a, d = np.radians(ra_deg), np.radians(dec_deg)
    cosc = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a - a0)
    xi = np.cos(d) * np.sin(a - a0) / cosc
    eta = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(a - a0)) / cosc
    return xi * ARCSEC_PER_RAD, eta * ARCSEC_PER_RAD


def offset_position(ra0_deg, dec0_deg, xi_arcsec, eta_arcsec):
    """The position at tangent-plane offsets (arcsec) from a reference (inverse gnomonic)."""
    xi = np.asarray(xi_arcsec, float) / ARCSEC_PER_RAD
    eta = np.asarray(eta_arcsec, float) / ARCSEC_PER_RAD
    a0, d0 = np.radians(ra0_deg), np.radians(dec0_deg)
    denom = np.cos(d0) - eta * np.sin(d0)
    ra = a0 + np.arctan2(xi, denom)
    dec = np.arctan2(np.sin(d0) + eta * np.cos(d0), np.hypot(xi, denom))
    return np.degrees(ra) % 360.0, np.degrees(dec)


def sky_to_focal_offset(xi_arcsec, eta_arcsec, roll_deg: float):
    """Sky offsets to focal-plane (Y, Z) offsets for a given roll (PA of +Z, deg)."""
    # +Z lies at position angle roll and a focal-plane direction (dY, dZ) at position angle
    # roll + atan2(dY, dZ), the parity of real IRS headers (PA_SLT = PA_RQST - slit angle)
    xi, eta = np.asarray(xi_arcsec, float), np.asarray(eta_arcsec, float)
    r = np.radians(roll_deg)
    y = xi * np.cos(r) - eta * np.sin(r)
    z = xi * np.sin(r) + eta * np.cos(r)
    return y, z


def focal_to_sky_offset(y_arcsec, z_arcsec, roll_deg: float):
    """Inverse of :func:`sky_to_focal_offset`."""
    y, z = np.asarray(y_arcsec, float), np.asarray(z_arcsec, float)
    r = np.radians(roll_deg)
    xi = y * np.cos(r) + z * np.sin(r)
    eta = -y * np.sin(r) + z * np.cos(r)
    return xi, eta


def position_angle_deg(y_dir: float, z_dir: float, roll_deg: float) -> float:
    """Position angle (east of north, 0-360) on the sky of a focal-plane direction."""
    xi, eta = focal_to_sky_offset(y_dir, z_dir, roll_deg)
    return float(np.degrees(np.arctan2(xi, eta)) % 360.0)
