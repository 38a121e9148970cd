"""Low-resolution (SL, LL) reduction of one position: every method variant (issue 3).

For every targeted LR sub-slit and each of its orders, for each nod:

* backgrounds: ``bynod`` (the other nod's image of the same sub-slit), ``byorder`` (the
  same nod's image taken with the target in the module's other sub-slit, where this
  sub-slit saw sky 78" (SL) or 192" (LL) away; irs.md 1.5) and ``insitu`` (a line fitted
  per row to the slit's own pixels away from the source); a background frame holding a
  source at the target's place is refused with the reason (``steps.background``);
* the source is found near the nod position, once per sub-slit and nod: the centroid in
  the first background-subtracted image, refined by the profile fit over the sub-slit's
  orders (``steps.extract.refine_centre``);
* extractions: ``optimal``, ``tapered`` and ``extended`` (the whole slit);
* nods: ``common`` and ``interleaved`` (``steps.nods``).

Other sources along the slit (``steps.neighbours``) are found on the first
background-subtracted image of each sub-slit and nod, listed in
``diagnostics['neighbours']``, and their pixels left out of the optimal and tapered
extractions and of the extent fit.

``insitu`` is refused for an extended source (its light fills the slit's sky pixels); for
a source with a measured width, ``diagnostics['byorder_source_share']`` estimates, per
sub-slit, how much of it the by-order sky frame held (``byorder_source_share``): a source
wider than the throw loses that part in any by-order background.

The intrinsic along-slit FWHM of the source is measured on the cleanest difference image
(``steps.extent``). Results are in e-/s; calibration and selection follow in
``pipeline.position``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from .exposures import NodImage, clean_nods, load_nod
from .extracted import ArmResult, MethodSpectra
from .grouping import Position
from .instrument import IRSModel, Module, Order, default_model
from .select import EXTENDED_MIN_ARCSEC
from .steps.background import contamination, insitu_sky, subtract
from .steps.extent import intrinsic_fwhm_arcsec
from .steps.extract import Extraction, extract, find_source, refine_centre
from .steps.neighbours import (
    consistent,
    find_neighbours,
    known_neighbours,
    neighbour_mask,
    wide_neighbour_mask,
)
from .steps.nods import common_grid, interleave
from .steps.pointing import slit_coordinates
from .steps.profile import ProfileSample

__all__ = ["LR_EXTRACTIONS", "profile_samples", "reduce_lowres"]

log = logging.getLogger(__name__)

#: product extraction name -> ``steps.extract`` method
LR_EXTRACTIONS = {"optimal": "optimal", "tapered": "tapered", "extended": "full"}
_NODS: dict[str, Callable[[list[Extraction]], Extraction]] = {
    "common": common_grid, "interleaved": interleave}


def _other_subslit(module: Module, subslit: str) -> str | None:
    others = [name for name in module.subslits if name != subslit]
    return others[0] if others else None


def _backgrounds(images: dict, module: Module, order: Order, subslit: str, nod: int,
                 expected: float, refused: list[str]):
    """(name, difference image, its uncertainty) of every usable background."""
    target = images[(subslit, nod)]
    candidates = {"bynod": images.get((subslit, 3 - nod)),
                  "byorder": images.get((_other_subslit(module, subslit), nod))}
    out = []
    for name, sky in candidates.items():
        if sky is None:
            refused.append(f"{order.name} nod {nod} {name}: no background frame observed")
            continue
        why = contamination(sky.image, sky.uncertainty, module, order, expected)
        if why:
            refused.append(f"{order.name} nod {nod} {name}: {why}")
            continue
        out.append((name, *subtract(target.image, target.uncertainty, sky.image,
                                    sky.uncertainty)))
    sky = insitu_sky(target.image, target.uncertainty, module, order, expected)
    if sky is None:
        refused.append(f"{order.name} nod {nod} insitu: no sky pixels left in the slit")
    else:
        out.append(("insitu", target.image - sky, target.uncertainty))
    return out


def byorder_source_share(module: Module, subslit: str, fwhm_arcsec: float) -> float:
    """Fraction of a Gaussian source's in-slit flux (intrinsic FWHM ``fwhm_arcsec``) that
    the by-order sky frame of ``subslit`` also holds, at the middle of its first order,
    averaged over the nods: a by-order background removes that much of a source wider
    than the throw (79" SL, 192" LL)."""
    other = _other_subslit(module, subslit)
    if other is None or not fwhm_arcsec:
        return 0.0
    lo, hi = module.orders_in(subslit)[0].usable_range_um
    lam = np.array([0.5 * (lo + hi)])
    shares = []
    for nod in (1, 2):
        own = module.in_slit_fraction(lam, fwhm_arcsec,
                                      module.nod_offset_arcsec(subslit, nod, subslit)[0])
        sky = module.in_slit_fraction(lam, fwhm_arcsec,
                                      *module.nod_offset_arcsec(other, nod, subslit))
        shares.append(float(sky[0] / own[0]))
    return float(np.mean(shares))


def _snr(ext: Extraction) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = ext.counts / ext.counts_error
    ratio = ratio[np.isfinite(ratio)]
    return float(np.median(ratio)) if len(ratio) else float("nan")


def _nod_images(position: Position, module: Module) -> dict[tuple[str, int], NodImage]:
    images: dict[tuple[str, int], NodImage] = {}
    for d_sub in module.subslits:
        for nod in (1, 2):
            dces = [d for d in position.dces if d.subslit == d_sub and d.nod == nod]
            if dces:
                images[(d_sub, nod)] = load_nod(dces)
    return clean_nods(images, module.pmask)


def profile_samples(position: Position, irs: IRSModel | None = None) -> list[ProfileSample]:
    """A standard star's images for learning the along-slit profile (``steps.profile``):
    each targeted sub-slit and nod minus the other nod (the by-nod background, which
    leaves no sky), with the star's position fitted over the sub-slit's orders."""
    irs = irs or default_model()
    out = []
    for module_name in ("SL", "LL"):
        module = irs.module(module_name)
        if not any(d.module == module_name for d in position.dces):
            continue
        images = _nod_images(position, module)
        for (subslit, nod), target in sorted(images.items()):
            sky = images.get((subslit, 3 - nod))
            if sky is None:
                continue
            orders = list(module.orders_in(subslit))
            diff, unc = target.image - sky.image, np.hypot(target.uncertainty,
                                                           sky.uncertainty)
            expected = float(module.fraction_to_slit_px(module.subslits[subslit]
                                                        .nod_fraction[nod]))
            centre = refine_centre(diff, unc, module, orders,
                                   find_source(diff, orders[0], expected))
            out += [ProfileSample(order, diff, unc, centre, False) for order in orders]
    return out


def _known_in_slit(position: Position, module: Module, subslit: str) -> dict[int, list[float]]:
    """Per nod, the along-slit pixel of each of the AOR's other pointings that the nod's
    slit held (across the slit within half its width plus the PSF's FWHM), from the
    exposures' pointing keywords (``steps.pointing.slit_coordinates``)."""
    out: dict[int, list[float]] = {}
    reach = 0.5 * module.slit_width_arcsec + float(module.psf_fwhm_arcsec(
        np.array([max(o.usable_range_um[1] for o in module.orders_in(subslit))]))[0])
    for nod in (1, 2):
        dce = next((d for d in position.dces if d.subslit == subslit and d.nod == nod
                    and np.isfinite([d.ra_slt_deg, d.dec_slt_deg, d.pa_slt_deg]).all()), None)
        if dce is None:
            continue
        for ra, dec in position.siblings:
            along, across = slit_coordinates(dce, ra, dec)
            if abs(across) <= reach and abs(along) <= 0.5 * module.slit_length_arcsec:
                out.setdefault(nod, []).append(along / module.plate_scale_arcsec)
    return out


def _locate(images: dict, module: Module, subslit: str, centres: dict, masks: dict,
            neighbours: list[dict], refused: list[str], backgrounds: dict,
            known: dict[int, list[float]] | None = None) -> None:
    """The source's position in each nod of a sub-slit, fitted over its orders on the
    first background-subtracted image (a centroid's bias makes a point source look wider
    and loses optimal flux), and the other sources along the slit found on the same
    images, kept where both nods see them, and those ``known`` to be there (the AOR's
    other pointings, per nod) where their light shows (``steps.neighbours``)."""
    orders = list(module.orders_in(subslit))
    found = {}
    images_for_known = {}
    for nod in (1, 2):
        if (subslit, nod) not in images:
            continue
        expected = float(module.fraction_to_slit_px(module.subslits[subslit].nod_fraction[nod]))
        usable = _backgrounds(images, module, orders[0], subslit, nod, expected, refused)
        backgrounds[(orders[0].name, nod)] = usable  # the first order's, kept for it
        if not usable:
            centres[(subslit, nod)] = expected
            continue
        _, diff, unc = usable[0]
        centres[(subslit, nod)] = refine_centre(diff, unc, module, orders,
                                                find_source(diff, orders[0], expected))
        found[nod] = find_neighbours(diff, unc, module, orders, centres[(subslit, nod)])
        images_for_known[nod] = (diff, unc)
    lam = max(float(np.median(o.pixels.wavelength_um)) for o in orders)
    tolerance = max(1.5 * float(module.psf_fwhm_arcsec(lam)), module.plate_scale_arcsec)
    for nod, kept in consistent(found, tolerance).items():
        if (known or {}).get(nod):
            kept = kept + known_neighbours(*images_for_known[nod], module, orders,
                                           centres[(subslit, nod)], known[nod], kept)
        masks[(subslit, nod)] = neighbour_mask(module, orders, kept)
        masks[(subslit, nod, "wide")] = wide_neighbour_mask(module, orders, kept)
        neighbours += [{"subslit": subslit, "nod": nod,
                        "offset_arcsec": round(n.offset_arcsec, 1),
                        "peak_ratio": round(n.peak_ratio, 3)} for n in kept]


def reduce_lowres(position: Position, irs: IRSModel | None = None) -> ArmResult:
    """Every LR variant of one position (see the module docstring)."""
    irs = irs or default_model()
    refused: list[str] = []
    per_nod: dict[tuple[str, str], list[Extraction]] = {}
    candidates: list[tuple[float, int, tuple]] = []  # (SNR, tie-break, fit arguments)
    centres: dict[tuple[str, int], float] = {}
    # by (sub-slit, nod): the neighbours' pixels; by (sub-slit, nod, "wide"): as far as
    # their wings reach (steps.neighbours)
    masks: dict[tuple, np.ndarray | None] = {}
    neighbours: list[dict] = []
    subslits = sorted({(d.module, d.subslit) for d in position.dces if d.module in ("SL", "LL")})
    for module_name in sorted({m for m, _ in subslits}, key="SLLL".index):
        module = irs.module(module_name)
        images = _nod_images(position, module)
        for _, subslit in (s for s in subslits if s[0] == module_name):
            sub = module.subslits[subslit]
            backgrounds: dict[tuple[str, int], list] = {}
            _locate(images, module, subslit, centres, masks, neighbours, refused, backgrounds,
                    _known_in_slit(position, module, subslit) if position.siblings else None)
            for order in module.orders_in(subslit):
                for nod in (1, 2):
                    if (subslit, nod) not in images:
                        refused.append(f"{order.name} nod {nod}: not observed")
                        continue
                    expected = float(module.fraction_to_slit_px(sub.nod_fraction[nod]))
                    usable = backgrounds.pop((order.name, nod), None)
                    if usable is None:
                        usable = _backgrounds(images, module, order, subslit, nod, expected,
                                              refused)
                    for background, diff, unc in usable:
                        centre = centres[(subslit, nod)]
                        mask = masks.get((subslit, nod))
                        wide = masks.get((subslit, nod, "wide"))
                        for name, method in LR_EXTRACTIONS.items():
                            if background == "bynod" and method == "full":
                                continue  # the other nod's image holds the source too
                            # a neighbour's pixels stay out of the point-source extractions;
                            # the whole slit of an extended source gets its own light
                            # interpolated over them, as far as the neighbour's wings reach
                            ext = extract(diff, unc, module, order, centre, method,
                                          bad=wide if method == "full" else mask,
                                          replaced=images[(subslit, nod)].cleaned)
                            if len(ext.counts) >= 2:
                                per_nod.setdefault((background, name), []).append(ext)
                        if background == "byorder" and order.name[-1] != "3":
                            snr = _snr(per_nod[(background, "tapered")][-1])
                            candidates.append((np.nan_to_num(snr, nan=-1.0), len(candidates),
                                               (diff, unc, module, order, centre), wide))
    if any(b == "bynod" for b, _ in per_nod):
        refused.append("bynod extended: the other nod's image holds the source in the same "
                       "slit, so the whole slit of their difference sums to zero")
    variants = []
    snrs = {}
    for (background, extraction), exts in sorted(per_nod.items()):
        by_order: dict[str, list[Extraction]] = {}
        for ext in exts:
            by_order.setdefault(ext.order, []).append(ext)
        for nods, combine in _NODS.items():
            orders = tuple(combine(group) for group in by_order.values())
            variants.append(MethodSpectra(background, extraction, nods, orders))
            snrs[f"{background}/{extraction}/{nods}"] = float(np.nanmedian(
                [_snr(o) for o in orders]))
    # the extent is measured on the by-order image of highest SNR (a free sky level
    # absorbs what the sky 78"/192" away left); the next one if that is too faint
    extent = None
    for _, _, args, mask in sorted(candidates, key=lambda c: (-c[0], c[1])):
        extent = intrinsic_fwhm_arcsec(*args, with_sky=True, bad=mask)
        if extent is not None:
            break
    diagnostics: dict[str, object] = {"snr": snrs, "n_extent_candidates": len(candidates),
                                      "neighbours": neighbours}
    if extent is not None and extent > EXTENDED_MIN_ARCSEC:
        variants = [v for v in variants if v.background != "insitu"]
        refused.append("insitu: the source is extended, its own light fills the slit's sky "
                       "pixels")
    if extent:
        diagnostics["byorder_source_share"] = {
            subslit: round(byorder_source_share(irs.module(module_name), subslit, extent), 4)
            for module_name, subslit in subslits}
    return ArmResult("LR", tuple(variants), tuple(refused), extent, diagnostics,
                     source_centres_px=dict(centres))
