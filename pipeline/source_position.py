"""The measured sky position of a position's source: where the slit was (the nods' headers)
plus where along it the source sat (a profile fit).

Each DCE header gives the sky position of the centre of the targeted sub-slit
(``RA_SLT``/``DEC_SLT``, averaged over the DCE) and the position angle of the slit's axis
(``PA_SLT``, east of north; irs.md 2.3). The source's along-slit position in pixels from
the slit centre is fitted on the nod images (``steps.extract.find_source``, refined by the
profile fit ``refine_centre``, the same fit the arm reductions centre their extractions
with); along the slit axis (the direction of increasing slit fraction, ``SubSlit.axis``,
whose position angle is ``PA_SLT``) that offset moves the slit centre onto the source. A
slit measures nothing across itself, so the cross-slit coordinate is the pointing's.

One module per position is enough: SL where observed (the narrowest PSF along its slit),
else LL, SH, LH; the targeted sub-slit with both nods, whose positions are averaged. Each
nod image is fitted as it is, the profile with a sky term following the slit's
illumination: a nod difference would put the other nod's negative image beside a wide
source and pull its centre (2" for a 10" source in SL). The arm reductions fit the same
centres; where they report them (``ArmResult.source_centres_px``) no image is read again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .exposures import clean_nods, load_nod
from .grouping import Dce, Position
from .instrument import IRSModel, Module
from .instrument.astrometry import offset_position, sky_offset
from .steps.extract import find_source, refine_centre

__all__ = ["MeasuredPosition", "measure_position", "slit_to_sky"]

_MODULE_PREFERENCE = ("SL", "LL", "SH", "LH")
#: the two nods' fitted centres must be as far apart as the nod positions are, within
#: this (arcsec): the pointing repeats to a few tenths of an arcsec per nod, so a larger
#: disagreement is the fit's (a faint source in noise) and the nod positions are kept
NOD_AGREEMENT_ARCSEC = 1.5


@dataclass(frozen=True)
class MeasuredPosition:
    """ICRS degrees of the source, how it was measured, and each nod's along-slit offset
    (arcsec from the slit centre)."""

    ra_deg: float
    dec_deg: float
    module: str
    subslit: str
    along_arcsec: tuple[float, ...]

    fitted: bool = True
    why_not_fitted: str = ""

    def as_metadata(self) -> dict[str, object]:
        return {"method": "RA_SLT/DEC_SLT + fitted along-slit offset (PA_SLT)" if self.fitted
                else f"RA_SLT/DEC_SLT + nod positions ({self.why_not_fitted})",
                "module": self.module, "subslit": self.subslit,
                "along_slit_arcsec": [round(a, 3) for a in self.along_arcsec]}


def slit_to_sky(dces: Sequence[Dce], along_arcsec: float) -> tuple[float, float]:
    """Sky position of a point ``along_arcsec`` along the slit axis from the centre of the
    slit the ``dces`` targeted (their mean RA_SLT/DEC_SLT and PA_SLT)."""
    ra0, dec0 = dces[0].ra_slt_deg, dces[0].dec_slt_deg
    xi, eta = sky_offset(ra0, dec0, np.array([d.ra_slt_deg for d in dces]),
                         np.array([d.dec_slt_deg for d in dces]))
    pa = np.radians([d.pa_slt_deg for d in dces])
    # mean position angle as a mean direction (PA wraps at 360)
    angle = math.atan2(float(np.mean(np.sin(pa))), float(np.mean(np.cos(pa))))
    ra, dec = offset_position(ra0, dec0, float(np.mean(xi)) + along_arcsec * math.sin(angle),
                              float(np.mean(eta)) + along_arcsec * math.cos(angle))
    return float(ra), float(dec)


def _usable(dces: Sequence[Dce]) -> bool:
    return bool(dces) and all(math.isfinite(v) for d in dces
                              for v in (d.ra_slt_deg, d.dec_slt_deg, d.pa_slt_deg))


def _centres(module: Module, subslit: str, nods: dict[int, list[Dce]]) -> dict[int, float]:
    """Fitted along-slit centre (pixels) of the source in each nod of ``subslit``."""
    images = clean_nods({nod: load_nod(dces) for nod, dces in nods.items()}, module.pmask)
    orders = list(module.orders_in(subslit))
    out = {}
    for nod, img in images.items():
        expected = float(module.fraction_to_slit_px(module.subslits[subslit].nod_fraction[nod]))
        image, sigma = img.image, img.uncertainty
        start = float(np.median([find_source(image, o, expected, search_px=1.5)
                                 for o in orders]))
        centre = refine_centre(image, sigma, module, orders, start)
        if math.isfinite(centre):
            out[nod] = centre
    return out


def measure_position(position: Position, irs: IRSModel, *, extended: bool = False,
                     centres_px: Mapping[tuple[str, int], float] | None = None,
                     ) -> MeasuredPosition | None:
    """The source's measured sky position, or None when no module has both nods of a
    sub-slit with complete pointing keywords (or no fit converged).

    ``extended``: the source fills the slit, so it has no along-slit centre to fit; the
    nod positions themselves (where the observer put the target) are taken.
    ``centres_px``: along-slit centres an arm reduction already fitted, by (sub-slit,
    nod) (``ArmResult.source_centres_px``); the nod images are read and fitted only for
    a sub-slit they do not cover."""
    centres_px = centres_px or {}
    for module_name in _MODULE_PREFERENCE:
        by_subslit: dict[str, dict[int, list[Dce]]] = {}
        for d in position.dces:
            if d.module == module_name and d.nod in (1, 2):
                by_subslit.setdefault(d.subslit, {}).setdefault(d.nod, []).append(d)
        for subslit, nods in sorted(by_subslit.items()):
            if set(nods) != {1, 2} or not all(_usable(v) for v in nods.values()):
                continue
            module = irs.module(module_name)
            nominal = {nod: float(module.fraction_to_slit_px(
                module.subslits[subslit].nod_fraction[nod])) for nod in nods}
            why = "extended source: no centre to fit" if extended else ""
            if extended:
                centres = nominal
            elif all((subslit, nod) in centres_px for nod in nods):
                centres = {nod: centres_px[(subslit, nod)] for nod in nods
                           if math.isfinite(centres_px[(subslit, nod)])}
            else:
                centres = _centres(module, subslit, nods)
            if not centres:
                continue
            if len(centres) == 2 and not extended:
                gap = ((centres[2] - centres[1]) - (nominal[2] - nominal[1])
                       ) * module.plate_scale_arcsec
                if abs(gap) > NOD_AGREEMENT_ARCSEC:
                    why = (f"the nods' fitted centres disagree by {gap:+.1f}\" with the nod "
                           "throw")
                    centres = nominal
            along = {nod: c * module.plate_scale_arcsec for nod, c in centres.items()}
            points = [slit_to_sky(nods[nod], a) for nod, a in sorted(along.items())]
            xi, eta = sky_offset(points[0][0], points[0][1], np.array([p[0] for p in points]),
                                 np.array([p[1] for p in points]))
            ra, dec = offset_position(points[0][0], points[0][1], float(np.mean(xi)),
                                      float(np.mean(eta)))
            return MeasuredPosition(float(ra), float(dec), module_name, subslit,
                                    tuple(along[n] for n in sorted(along)), not why, why)
    return None
