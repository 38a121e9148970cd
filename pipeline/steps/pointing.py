"""Slit losses of the pointing: how far across the slit each nod put the source.

A slit measures nothing across itself, but the exposures' headers say where the slit was:
``RA_SLT``/``DEC_SLT`` is the centre of the targeted sub-slit averaged over the DCE and
``PA_SLT`` the position angle of its long axis (irs.md 2.3), both from the reconstructed
pointing, while ``RA_RQST``/``DEC_RQST`` is the position the observer asked for. The
requested position's offset perpendicular to the slit axis is where the source sat across
the slit, up to the error of the observer's coordinates. A point source off the slit's
centre line loses more light at the slit's edges than the centred source the slit-loss
correction function (SLCF) describes.

Both the standards the responses come from and the science targets are pointed with the
same blind accuracy, so a response that ignores it is calibrated for the standards'
average loss: a well-centred target then comes out a few per cent too bright and a badly
centred one too faint (in SH, whose 4.7" slit holds a 3-4" PSF, 1.9 % of the flux is lost
on average for a 0.46" rms offset, and 9 % at 1"). Dividing every point-source extraction,
of the standards and of the targets, by its nods' mean transmission at their offsets
refers the responses to a centred source and corrects each target for its own pointing.

The transmission is the Gaussian core whose centred fraction is the SLCF
(``Module.slit_transmission``), the cross-slit shape the reduction already assumes for
partially extended sources. Measured on a simulated atlas whose true instrument renders
the SSC's measured SL PSF and Airy patterns: SH point sources' median |flux/true - 1|
fell from 2.6 % to 0.7 % with the correction from the headers (0.4 % with the true
offsets, which include the coordinates' errors no header knows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from pipeline.grouping import Dce
from pipeline.instrument import IRSModel, Module
from pipeline.instrument.astrometry import sky_offset

__all__ = ["CrossSlitOffsets", "cross_slit_offsets", "pointing_transmission",
           "slit_coordinates"]

#: {sub-slit: cross-slit offset (arcsec) of the requested position, one per nod}
CrossSlitOffsets = Mapping[str, tuple[float, ...]]

#: an offset larger than this (arcsec) is not a pointing error but a position the slit was
#: not meant to hold the target at (a mapping step, another cluster member's pointing):
#: no correction is made for it
LARGEST_POINTING_ERROR_ARCSEC = 3.0


def slit_coordinates(dce: Dce, ra_deg: float, dec_deg: float) -> tuple[float, float]:
    """(along, across) arcsec of a sky position from the centre of the DCE's targeted
    sub-slit; along the slit in the sense of the slit's pixel coordinate (a nod-1 target
    in SL sits at -9.5", in LL at +28"); NaN without the pointing keywords."""
    xi, eta = sky_offset(dce.ra_slt_deg, dce.dec_slt_deg, ra_deg, dec_deg)
    pa = math.radians(dce.pa_slt_deg)
    # along the slit axis is (sin PA, cos PA) in (east, north); across is perpendicular
    return (float(xi * math.sin(pa) + eta * math.cos(pa)),
            float(xi * math.cos(pa) - eta * math.sin(pa)))


def _cross_offset(dce: Dce) -> float:
    return slit_coordinates(dce, dce.ra_rqst_deg, dce.dec_rqst_deg)[1]


def cross_slit_offsets(dces: Sequence[Dce]) -> dict[str, tuple[float, ...]]:
    """Each targeted sub-slit's cross-slit offsets of the requested position, one per nod
    (the mean over the nod's DCEs); sub-slits whose headers lack the pointing keywords, or
    put the target further off than a pointing error, are left out."""
    by_nod: dict[str, dict[int, list[float]]] = {}
    for dce in dces:
        values = (dce.ra_slt_deg, dce.dec_slt_deg, dce.pa_slt_deg, dce.ra_rqst_deg,
                  dce.dec_rqst_deg)
        if not all(math.isfinite(v) for v in values):
            continue
        by_nod.setdefault(dce.subslit, {}).setdefault(dce.nod, []).append(_cross_offset(dce))
    out = {}
    for subslit, nods in by_nod.items():
        offsets = tuple(float(np.mean(v)) for _, v in sorted(nods.items()))
        if all(abs(x) <= LARGEST_POINTING_ERROR_ARCSEC for x in offsets):
            out[subslit] = offsets
    return out


def pointing_transmission(irs: IRSModel, order: str, wavelength_um,
                          offsets: CrossSlitOffsets | None,
                          source_fwhm_arcsec: float = 0.0) -> np.ndarray:
    """The nods' mean cross-slit transmission of a source of intrinsic FWHM
    ``source_fwhm_arcsec`` at their offsets, relative to a centred point source (1 where
    the offsets are unknown and the source is a point)."""
    spec = irs.order(order)
    module: Module = irs.module(spec.module)
    lam = np.asarray(wavelength_um, float)
    chosen = np.asarray((offsets or {}).get(spec.subslit) or (0.0,), float)
    # one call for every nod: wavelengths down, nods across
    inside = module.slit_transmission(lam[..., None], source_fwhm_arcsec, chosen)
    return inside.mean(axis=-1)
