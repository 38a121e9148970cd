"""Other sources along the slit: found, reported, and kept out of the target's fits.

A long LR slit (SL 57", LL 168") often holds more than the target: a cluster member, a
field star, a knot of the same galaxy. CASSIS extracts the target and leaves them be
(Lebouteiller et al. 2015 name neighbours as something no IRS pipeline handles); a
neighbour within the optimal profile's wings or the extent fit's reach adds its light to
the target's and, worse, makes it look wide (a neighbour 27" away in LL once made a point
source 25" wide, and its partial calibration 10-20x too bright).

``find_neighbours`` collapses the background-subtracted image of a sub-slit's orders along
the dispersion into an along-slit profile (1-pixel bins, the median over rows), and
reports every local maximum that

* lies more than ``MIN_SEPARATION_FWHM`` PSF widths from the target (else it is the
  target, or part of it),
* stands ``MIN_SNR`` sigma above zero and holds at least ``MIN_PEAK_RATIO`` of the target's
  peak, and
* is separated from the target by a dip (the profile falls below ``DIP`` of the
  neighbour's peak in between): a wide source's own shoulder is not a neighbour.

Two sources closer than about 2.5 pixels (13" in LL, 4.5" in SL) show no dip in 1-pixel
bins: they stay one blended target.

``consistent`` keeps the neighbours seen at the same offset from the target in both nods
(a source on the sky moves with the target; noise and detector defects do not).
``known_neighbours`` adds the sources the headers place in the slit (the other members
of a cluster AOR) wherever the profile shows their light, dip or no dip.

``neighbour_mask`` marks the pixels within ``MASK_FWHM`` PSF widths of each neighbour,
which the point-source extractions then leave out. ``wide_neighbour_mask`` reaches as far
as the neighbour's wings (the profile learned from the standards, scaled by its peak) stay
above ``WINGS_LEFT`` of the target's peak: a neighbour 40x brighter than the target still
puts a target's worth of light beyond 1.5 PSF widths (4-9 % of a point source's light lies
beyond 2 FWHM). The extent fit leaves those pixels out, and the whole-slit extraction of an
extended source fills them with its own light interpolated along the slit
(``steps.extract``), so that its in-slit flux is the target's, not the neighbour's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.instrument import Module, Order

from .extract import profile_fraction
from .grouped import grouped_median

__all__ = ["Neighbour", "consistent", "find_neighbours", "known_neighbours",
           "neighbour_mask", "wide_neighbour_mask"]

MIN_SEPARATION_FWHM = 1.5
MIN_SNR = 5.0
MIN_PEAK_RATIO = 0.03
DIP = 0.7
MASK_FWHM = 1.5
#: the wide mask ends where a neighbour's wings fall below this fraction of the target's
#: peak
WINGS_LEFT = 0.02
#: ... but reaches at most this fraction of the slit's length on either side of each
#: neighbour
WIDEST_MASK = 0.25


@dataclass(frozen=True)
class Neighbour:
    """A source along the slit besides the target: its position (pixels from the slit's
    centre) and its peak relative to the target's in the collapsed profile."""

    slit_px: float
    offset_arcsec: float
    peak_ratio: float


def _profile(image: np.ndarray, uncertainty: np.ndarray, orders: list[Order]):
    """Along-slit profile in 1-pixel bins: the median over the rows of the sub-slit's
    orders (a cosmic ray or rogue pixel in one row does not make a source), and its
    error (1.2533 x the mean pixel error / sqrt(rows))."""
    lo = min(np.floor(o.pixels.slit_px.min()) for o in orders)
    hi = max(np.ceil(o.pixels.slit_px.max()) for o in orders)
    edges = np.arange(lo - 0.5, hi + 1.0)
    n_bins = len(edges) - 1
    which, values, sigmas = [], [], []
    for order in orders:
        pix = order.pixels
        v = image.ravel()[pix.index]
        e = uncertainty.ravel()[pix.index]
        good = np.isfinite(v) & np.isfinite(e) & (e > 0)
        which.append(np.clip(np.digitize(pix.slit_px[good], edges) - 1, 0, n_bins - 1))
        values.append(v[good])
        sigmas.append(e[good])
    which, values, sigmas = (np.concatenate(x) for x in (which, values, sigmas))
    count = np.bincount(which, minlength=n_bins)
    profile = np.nan_to_num(grouped_median(which, values, n_bins))
    typical = np.bincount(which, sigmas, n_bins) / np.maximum(count, 1)
    error = 1.2533 * typical / np.sqrt(np.maximum(count, 1))
    return 0.5 * (edges[:-1] + edges[1:]), profile, np.where(count > 0, error, np.inf)


def _target_peak(centres: np.ndarray, profile: np.ndarray, module: Module,
                 orders: list[Order], centre_px: float) -> tuple[float, float]:
    """(PSF FWHM in pixels at the orders' reddest median wavelength, the profile's peak
    within half of it, at least a pixel, of the target; 0 where no bin is that near)."""
    lam = max(float(np.median(o.pixels.wavelength_um)) for o in orders)
    fwhm_px = float(module.psf_fwhm_arcsec(lam)) / module.plate_scale_arcsec
    near = np.abs(centres - centre_px) <= max(1.0, 0.5 * fwhm_px)
    return fwhm_px, float(np.max(profile[near])) if near.any() else 0.0


def find_neighbours(image: np.ndarray, uncertainty: np.ndarray, module: Module,
                    orders: list[Order], centre_px: float) -> list[Neighbour]:
    """The sources along the slit besides the one at ``centre_px`` (module docstring)."""
    centres, profile, error = _profile(image, uncertainty, orders)
    if len(profile) < 5:
        return []
    fwhm_px, peak_target = _target_peak(centres, profile, module, orders, centre_px)
    target = int(np.argmin(np.abs(centres - centre_px)))
    if not peak_target > 0:
        return []
    found = []
    for j in range(1, len(profile) - 1):
        p = profile[j]
        if not (p > profile[j - 1] and p >= profile[j + 1]):
            continue
        if abs(centres[j] - centre_px) < max(MIN_SEPARATION_FWHM * fwhm_px, 2.0):
            continue
        if p < MIN_SNR * error[j] or p < MIN_PEAK_RATIO * peak_target:
            continue
        between = profile[min(j, target) + 1:max(j, target)]
        if not len(between) or between.min() > DIP * p:
            continue
        w = np.clip(profile[j - 1:j + 2], 0.0, None)
        where = float(np.sum(w * centres[j - 1:j + 2]) / np.sum(w))
        found.append(Neighbour(where, (where - centre_px) * module.plate_scale_arcsec,
                               float(p / peak_target)))
    return found


def known_neighbours(image: np.ndarray, uncertainty: np.ndarray, module: Module,
                     orders: list[Order], centre_px: float, where_px: list[float],
                     found: list[Neighbour]) -> list[Neighbour]:
    """Sources known to lie in the slit at ``where_px`` (the other pointings of a cluster
    AOR, from the headers: ``steps.pointing.slit_coordinates``) that ``find_neighbours``
    missed (no dip between them and the target, or a wide target's nod-difference copy on
    top): kept where the along-slit profile holds at least ``MIN_PEAK_RATIO`` of the
    target's peak at ``MIN_SNR`` sigma within a pixel of the position, and the position is
    not the target's own (``MIN_SEPARATION_FWHM``) nor a neighbour already ``found``."""
    centres, profile, error = _profile(image, uncertainty, orders)
    if len(profile) < 5:
        return []
    fwhm_px, peak_target = _target_peak(centres, profile, module, orders, centre_px)
    if not peak_target > 0:
        return []
    out = []
    for px in where_px:
        if (abs(px - centre_px) < max(MIN_SEPARATION_FWHM * fwhm_px, 2.0)
                or any(abs(px - n.slit_px) < max(fwhm_px, 1.0) for n in found + out)):
            continue
        close = np.abs(centres - px) <= 1.0
        if not close.any():
            continue  # beyond the slit's ends
        j = np.nonzero(close)[0][np.argmax(profile[close])]
        if profile[j] >= MIN_SNR * error[j] and profile[j] >= MIN_PEAK_RATIO * peak_target:
            out.append(Neighbour(float(px), (px - centre_px) * module.plate_scale_arcsec,
                                 float(profile[j] / peak_target)))
    return out


def neighbour_mask(module: Module, orders: list[Order], neighbours: list[Neighbour]
                   ) -> np.ndarray | None:
    """Boolean 128 x 128 image of the pixels of ``orders`` (those of the sub-slit the
    neighbours were found in) within ``MASK_FWHM`` PSF widths of any neighbour; None
    without neighbours."""
    if not neighbours:
        return None
    mask = np.zeros(128 * 128, bool)
    for order in orders:
        pix = order.pixels
        half = MASK_FWHM * module.psf_fwhm_arcsec(pix.wavelength_um) / module.plate_scale_arcsec
        for n in neighbours:
            mask[pix.index[np.abs(pix.slit_px - n.slit_px) <= np.maximum(half, 1.0)]] = True
    return mask.reshape(128, 128)


def _wing_reach_px(module: Module, order: Order, peak_ratio: float) -> float:
    """Distance (pixels) beyond which a point source ``peak_ratio`` times the target's peak
    adds less than ``WINGS_LEFT`` of that peak per pixel, through the profile the module
    carries (learned from the standards) at the order's central wavelength."""
    lam = float(np.median(order.pixels.wavelength_um))
    half_length = 0.5 * module.slit_length_arcsec / module.plate_scale_arcsec
    offsets = np.arange(0.0, WIDEST_MASK * 2.0 * half_length + 1.0, 0.25)
    profile = profile_fraction(module, np.full(len(offsets), lam), offsets, 0.0)
    above = np.nonzero(profile * peak_ratio >= WINGS_LEFT * profile[0])[0]
    return float(offsets[above[-1]]) if len(above) else 0.0


def wide_neighbour_mask(module: Module, orders: list[Order], neighbours: list[Neighbour]
                        ) -> np.ndarray | None:
    """As ``neighbour_mask``, but each neighbour's pixels as far as its wings matter to the
    target (``WINGS_LEFT``), at least ``MASK_FWHM`` PSF widths and at most ``WIDEST_MASK``
    of the slit's length on either side; None without neighbours."""
    if not neighbours:
        return None
    mask = np.zeros(128 * 128, bool)
    for order in orders:
        pix = order.pixels
        half = np.maximum(MASK_FWHM * module.psf_fwhm_arcsec(pix.wavelength_um)
                          / module.plate_scale_arcsec, 1.0)
        for n in neighbours:
            reach = np.maximum(half, _wing_reach_px(module, order, n.peak_ratio))
            mask[pix.index[np.abs(pix.slit_px - n.slit_px) <= reach]] = True
    return mask.reshape(128, 128)


def consistent(found: dict[int, list[Neighbour]], tolerance_arcsec: float
               ) -> dict[int, list[Neighbour]]:
    """Per nod, the neighbours the other nod also saw within ``tolerance_arcsec`` of the
    same offset from the target; with one nod only, all of them."""
    if len(found) < 2:
        return found
    out = {}
    for nod, mine in found.items():
        others = [n for other, theirs in found.items() if other != nod for n in theirs]
        out[nod] = [n for n in mine if any(abs(n.offset_arcsec - o.offset_arcsec)
                                           <= tolerance_arcsec for o in others)]
    return out
