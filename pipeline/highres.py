"""High-resolution (SH, LH) reduction of one position: every method variant (issue 3).

The HR slits (SH 11.3" x 4.7", LH 22.3" x 11.1") are too short to hold sky pixels, so
(irs.md; the CASSIS HR products):

* background ``none`` with the ``fullap`` extraction: the whole slit, sky included (the
  only choice for extended sources);
* background ``localcont`` with the ``optimal`` extraction: per detector row the PSF
  profile at the source's position is fitted together with a constant local continuum
  (sky plus any flat emission), and the profile's amplitude is the source;
* background ``zodi`` with the ``fullap`` extraction: the full aperture minus the
  zodiacal light the SSC estimated for the pointing (BCD keyword ``ZODY_EST`` through the
  shape of ``instrument.zodi``, turned into counts with the full aperture's response from
  the standards and scaled by what the calibration's blank-sky fields measured of a
  uniform sky in the full aperture, ``zodi_counts``); its ``ZODY_ESTIMATE_ERROR`` is
  added to the errors. For extended
  sources, which no local continuum separates from the sky; CASSIS has no such variant;
* background ``diff`` with ``optimal`` extraction and ``diff`` nods: the nod 1 - nod 2
  image, in which the sky cancels, fitted with the positive and the negative PSF at the two
  nod positions at once (point sources only: an extended source cancels too).

The source's slit position in each nod is one for all orders of a module: the orders'
centroids near the nod position, refined by the profile fit over every order (the LH PSF
is undersampled, and a centroid's bias costs an optimal fit up to 10 % of the flux).
Profile fits drop a cosmic ray per row (``steps.extract.reject_outliers``).

Nods: ``nodcomb`` extracts each nod and averages them (their disagreement kept as an
uncertainty floor, a spike of one nod replaced by the other nod's value and flagged);
``nods`` uses both nod images at once (their mean image for ``fullap``, a two-position
profile fit for ``optimal``). Every order is defringed (``steps.defringe``:
the fringe fitted on the full aperture, divided out of every variant).
The source's intrinsic FWHM is fitted (``steps.extent``, with a free sky level per row)
on both nod images of each module's order of highest signal-to-noise ratio. A source that
fills the slit has no width to fit; it shows as a sky far above the zodiacal light
expected from ZODY_EST that outshines the point-like part (``large_scale_emission``), and
is then extended.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from .exposures import NodImage, clean_nods, load_nod
from .extracted import ArmResult, MethodSpectra
from .grouping import Position
from .instrument import IRSModel, Module, Order, default_model
from .instrument.zodi import ZODY_ESTIMATE_ERROR, zody_point_equivalent_jy
from .select import EXTENDED_MIN_ARCSEC
from .steps.calibrate import Response
from .steps.defringe import apply_fringe, defringe
from .steps.extent import intrinsic_fwhm_arcsec
from .steps.extract import (
    Extraction,
    extract,
    find_source,
    fit_profile,
    refine_centre,
    slit_coverage,
)
from .steps.nods import merged_flags, nod_spikes
from .steps.profile import ProfileSample

__all__ = ["profile_samples", "reduce_highres", "row_coverage", "zodi_counts", "zody_est"]

log = logging.getLogger(__name__)


def _nodcomb(per_nod: list[Extraction]) -> Extraction:
    """Mean of the nods on the first nod's grid; the nods' half-difference as an
    uncertainty floor; a spike of one nod (``steps.nods.nod_spikes``) replaced by the
    other nod's value and flagged (CASSIS's cleaned nod combination, ``nodcomb_cl``)."""
    if len(per_nod) == 1:
        return per_nod[0]
    a, b = per_nod
    counts_b = np.interp(a.wavelength_um, b.wavelength_um, b.counts)
    error_b = np.interp(a.wavelength_um, b.wavelength_um, b.counts_error)
    mean = 0.5 * (a.counts + counts_b)
    error = np.maximum(0.5 * np.hypot(a.counts_error, error_b), 0.5 * np.abs(a.counts -
                                                                             counts_b))
    flags = merged_flags(a, b)
    in_a, in_b = nod_spikes(a.counts, a.counts_error, counts_b, error_b)
    if (in_a | in_b).any():
        mean = np.where(in_a, counts_b, np.where(in_b, a.counts, mean))
        error = np.where(in_a, error_b, np.where(in_b, a.counts_error, error))
        fixed = in_a | in_b
        flags = fixed if flags is None else (np.asarray(flags, bool) | fixed)
    sky = None
    if a.sky is not None and b.sky is not None:
        sky = 0.5 * (a.sky + np.interp(a.wavelength_um, b.wavelength_um, b.sky))
    return Extraction(a.order, a.method, a.wavelength_um, mean, error, a.rows, flags, sky)


def _with_sky(full: Extraction, local: Extraction) -> Extraction:
    """The full aperture with the sky counts the local-continuum fit of the same image
    measured in each of its rows (NaN where that fit has no row)."""
    if local.sky is None or not len(local.rows):
        return full
    by_row = np.argsort(local.rows)
    rows = local.rows[by_row]
    at = np.searchsorted(rows, full.rows).clip(0, len(rows) - 1)
    found = rows[at] == full.rows
    return replace(full, sky=np.where(found, local.sky[by_row][at], np.nan))


def _snr(ext: Extraction) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = ext.counts / ext.counts_error
    ratio = ratio[np.isfinite(ratio)]
    return float(np.median(ratio)) if len(ratio) else -1.0


def _modules(position: Position, irs: IRSModel):
    """Per observed HR module: (its DCEs, the module, its cleaned nod images, the source's
    along-slit position in each nod)."""
    for module_name in ("SH", "LH"):
        dces = [d for d in position.dces if d.module == module_name]
        if not dces:
            continue
        module = irs.module(module_name)
        images = clean_nods({nod: load_nod([d for d in dces if d.nod == nod])
                             for nod in (1, 2) if any(d.nod == nod for d in dces)},
                            module.pmask)
        yield dces, module, images, _source_centres(module, images)


def profile_samples(position: Position, irs: IRSModel | None = None) -> list[ProfileSample]:
    """A standard star's images for learning the along-slit profile (``steps.profile``):
    each nod image of every order, whose sky (the slit is too short for sky pixels) is
    fitted with the profile, and the star's position fitted over the module's orders."""
    return [ProfileSample(order, img.image, img.uncertainty, centres[nod], True)
            for _, module, images, centres in _modules(position, irs or default_model())
            for nod, img in sorted(images.items()) for order in module.orders]


def _source_centres(module: Module, images: dict[int, NodImage]) -> dict[int, float]:
    """The source's along-slit position (pixels) in each nod image, one for all orders of
    the module: the median of the orders' centroids near the nod position, refined by the
    profile fit over every order (``steps.extract.refine_centre``)."""
    centres = {}
    for nod, img in sorted(images.items()):
        found = []
        for order in module.orders:
            expected = float(module.fraction_to_slit_px(
                module.subslits[order.subslit].nod_fraction[nod]))
            found.append(find_source(img.image, order, expected, search_px=1.5))
        centres[nod] = refine_centre(img.image, img.uncertainty, module, list(module.orders),
                                     float(np.median(found)))
    return centres


def _order_variants(module: Module, order: Order, images: dict[int, NodImage],
                    centres: dict[int, float], refused: list[str]) -> dict:
    """{(background, extraction, nods): Extraction} for one order."""
    out: dict[tuple[str, str, str], Extraction] = {}
    per_nod: dict[tuple[str, str], list[Extraction]] = {}
    for nod, img in sorted(images.items()):
        full = extract(img.image, img.uncertainty, module, order, centres[nod], "full",
                       replaced=img.cleaned)
        local = fit_profile(img.image, img.uncertainty, module, order, (centres[nod],),
                            with_sky=True)
        full = _with_sky(full, local)
        if len(full.counts) >= 2:
            per_nod.setdefault(("none", "fullap"), []).append(full)
        if len(local.counts) >= 2:
            per_nod.setdefault(("localcont", "optimal"), []).append(local)
    for key, exts in per_nod.items():
        out[(*key, "nodcomb")] = _nodcomb(exts)
    if set(images) == {1, 2}:
        a, b = images[1], images[2]
        mean = 0.5 * (a.image + b.image)
        mean_unc = 0.5 * np.hypot(a.uncertainty, b.uncertainty)
        fit = fit_profile(mean, mean_unc, module, order, (centres[1], centres[2]),
                          (0.5, 0.5), with_sky=True)
        both = _with_sky(extract(mean, mean_unc, module, order, centres[1], "full"), fit)
        if len(both.counts) >= 2:
            out[("none", "fullap", "nods")] = both
        if len(fit.counts) >= 2:
            out[("localcont", "optimal", "nods")] = fit
        diff = fit_profile(a.image - b.image, np.hypot(a.uncertainty, b.uncertainty), module,
                           order, (centres[1], centres[2]), (1.0, -1.0))
        if len(diff.counts) >= 2:
            out[("diff", "optimal", "diff")] = diff
    else:
        refused.append(f"{order.name}: only nod {sorted(images)} observed, no nod "
                       "difference (diff) and no two-nod fit (nods)")
    return out


def _extent(module: Module, images: dict[int, NodImage], best: tuple[Order, dict] | None):
    """Intrinsic FWHMs measured on both nods of the given order."""
    if best is None:
        return []
    order, centres = best
    found = [intrinsic_fwhm_arcsec(img.image, img.uncertainty, module, order, centres[nod],
                                   with_sky=True) for nod, img in images.items()]
    return [f for f in found if f is not None]


#: a source fills the HR slit when the local-continuum fits' sky exceeds the zodiacal
#: light expected from ZODY_EST by this fraction ...
LARGE_SCALE_OVER_ZODI = 0.1
#: ... and that excess outshines the point-like part this many times. On atlases rendered
#: with the simulator's true PSF (seeds 3 and 5), point sources' excess stays below 0.4 of
#: their amplitude (the part of their wings beyond the learned profile), extended sources
#: reach a median of 5.6 and partially extended ones 2.0: the limit keeps every point
#: source and leaves partial and extended sources overlapping, which the LR width, when
#: measured, settles
LARGE_SCALE_OVER_POINT = 2.2


def zodi_counts(module: Module, ext: Extraction, zody_mjy_sr: float,
                response: Response, scale: float = 1.0) -> np.ndarray:
    """The zodiacal light's counts in the full aperture of each row of ``ext``: the SSC's
    estimate (``ZODY_EST`` through the reduction's spectral shape) as the point source
    that gives the same counts (``instrument.zodi.zody_point_equivalent_jy``) times the
    full aperture's response from the standards, for the row's illuminated pixels, times
    ``scale``: how much more a uniform sky gives than that in this order, measured on the
    calibration programme's blank-sky fields (``Calibration.zodi_scale``: the SLCF's
    point-source slit fraction is the SSC's model, not the instrument's)."""
    lam = ext.wavelength_um
    per_jy = np.interp(lam, response.wavelength_um, response.counts_per_jy,
                       left=np.nan, right=np.nan)
    return (zody_point_equivalent_jy(module, lam, zody_mjy_sr) * per_jy * scale
            * row_coverage(module, ext))


def row_coverage(module: Module, ext: Extraction) -> np.ndarray:
    """The fraction of the slit's length each row of a full-aperture extraction ``ext``
    holds: its pixels' illuminated parts (``steps.extract.slit_coverage``) over the slit
    length. A uniform sky puts that fraction of the slit's light into the row; the slit's
    ends are partly on pixels the order's extraction does not take (3-5 % of SH and LH)."""
    order = next(o for o in module.orders if o.name == ext.order)
    pix = order.pixels
    rows, index = np.unique(pix.rows, return_inverse=True)
    lit = np.bincount(index, slit_coverage(module, pix.slit_px), len(rows))
    per_row = lit[np.searchsorted(rows, ext.rows).clip(0, len(rows) - 1)]
    return per_row * module.plate_scale_arcsec / module.slit_length_arcsec


def zody_est(dces, module: str) -> float | None:
    """The module's ZODY_EST (median over its exposures), None if the headers lack it."""
    values = [d.zody_est_mjy_sr for d in dces if d.module == module]
    values = [v for v in values if np.isfinite(v) and v > 0]
    return float(np.median(values)) if values else None


def _without_zodi(full: Extraction, zodi: np.ndarray) -> Extraction:
    """The full aperture minus the zodiacal light estimate, whose uncertainty
    (``ZODY_ESTIMATE_ERROR``) joins the errors in quadrature."""
    return replace(full, method=full.method, counts=full.counts - zodi,
                   counts_error=np.hypot(full.counts_error, ZODY_ESTIMATE_ERROR * zodi),
                   sky=None)


def large_scale_emission(local: list[tuple[Module, Extraction, np.ndarray]]
                         ) -> dict[str, float] | None:
    """How the sky the local-continuum fits found compares with the zodiacal light
    expected from ZODY_EST (``over_zodi``: sky / zodi - 1) and with the point-like
    amplitude (``over_point``: (sky - zodi) / amplitude), medians over every row. A source
    filling the HR slit has no profile to fit (the extent fit calls it a point) but adds
    to the sky: this is how the reduction sees it, as CASSIS's 'large-scale emission'
    diagnostic does."""
    over_zodi, over_point = [], []
    for _, ext, zodi in local:
        if ext.sky is None:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            over_zodi.append(ext.sky / zodi - 1.0)
            over_point.append((ext.sky - zodi) / np.abs(ext.counts))
    if not over_zodi:
        return None
    z, p = np.concatenate(over_zodi), np.concatenate(over_point)
    z, p = z[np.isfinite(z)], p[np.isfinite(p)]
    if not len(z) or not len(p):
        return None
    return {"over_zodi": round(float(np.median(z)), 3),
            "over_point": round(float(np.median(p)), 3)}


def reduce_highres(position: Position, irs: IRSModel | None = None,
                   responses: Mapping[str, Response] | None = None,
                   zodi_scale: Mapping[str, float] | None = None) -> ArmResult:
    """Every HR variant of one position (see the module docstring); ``responses`` (the
    full aperture's, per order) and ``zodi_scale`` (``Calibration.zodi_scale``) turn
    ZODY_EST into counts."""
    irs = irs or default_model()
    refused: list[str] = []
    collected: dict[tuple[str, str, str], list[Extraction]] = {}
    extents: list[float] = []
    fringes: dict[str, dict] = {}
    local: list[tuple[Module, Extraction, np.ndarray]] = []
    zodi_share: list[float] = []
    fitted: dict[tuple[str, int], float] = {}
    for dces, module, images, centres in _modules(position, irs):
        module_name = module.name
        best, best_snr = None, -np.inf
        fitted.update({(module_name, nod): c for nod, c in centres.items()})
        estimate = zody_est(dces, module_name)
        for order in module.orders:
            variants = _order_variants(module, order, images, centres, refused)
            full = variants.get(("none", "fullap", "nodcomb"))
            if full is not None and _snr(full) > best_snr:
                best, best_snr = (order, centres), _snr(full)
            # the fringe is fitted once per order, on the full aperture (the highest SNR,
            # no profile model), and divided out of every variant of the order
            reference = variants.get(("none", "fullap", "nodcomb"))
            info = defringe(reference)[1] if reference is not None else {"applied": False}
            fringes[order.name] = info
            variants = {key: apply_fringe(ext, info) for key, ext in variants.items()}
            response = (responses or {}).get(order.name)
            scale = (zodi_scale or {}).get(order.name, 1.0)
            if response is not None and estimate is not None and reference is not None:
                # the zodiacal light is subtracted after the fringe is divided out: it
                # passed the same fringing optics as the source
                zodi = {nods: zodi_counts(module, variants[("none", "fullap", nods)],
                                          estimate, response, scale)
                        for nods in ("nodcomb", "nods") if ("none", "fullap", nods) in variants}
                for nods, z in zodi.items():
                    variants[("zodi", "fullap", nods)] = _without_zodi(
                        variants[("none", "fullap", nods)], z)
                zodi_share.append(np.nanmedian(zodi["nodcomb"] / reference.counts))
                if ("localcont", "optimal", "nodcomb") in variants:
                    local.append((module, variants[("localcont", "optimal", "nodcomb")],
                                  zodi_counts(module, variants[("localcont", "optimal",
                                                                "nodcomb")], estimate,
                                              response, scale)))
            for key, ext in variants.items():
                collected.setdefault(key, []).append(ext)
        extents += _extent(module, images, best)
    extent = float(np.median(extents)) if extents else None
    emission = large_scale_emission(local)
    filled = emission is not None and (emission["over_zodi"] > LARGE_SCALE_OVER_ZODI and
                                       emission["over_point"] > LARGE_SCALE_OVER_POINT)
    extended = filled or (extent is not None and extent > EXTENDED_MIN_ARCSEC)
    variants = []
    snr = {}
    for (background, extraction, nods), orders in sorted(collected.items()):
        if background == "diff" and extended:
            refused.append("diff: the source is extended, it cancels in the nod difference")
            continue
        variants.append(MethodSpectra(background, extraction, nods, tuple(orders)))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios = np.concatenate([o.counts / o.counts_error for o in orders])
        ratios = ratios[np.isfinite(ratios)]
        snr[f"{background}/{extraction}/{nods}"] = float(np.median(ratios)) if len(
            ratios) else None
    return ArmResult("HR", tuple(variants), tuple(refused), extent,
                     {"snr": snr, "extended": extended, "fringes": fringes,
                      "large_scale_emission": emission,
                      "zody_est_mjy_sr": {m: zody_est(position.dces, m) for m in ("SH", "LH")
                                          if any(d.module == m for d in position.dces)},
                      "zodi_share": round(float(np.nanmedian(zodi_share)), 3)
                      if zodi_share else None},
                     source_centres_px=fitted)
