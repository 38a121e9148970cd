"""Automatic selection of the best variant per arm (issue 3, step 8): a documented tree.

The decision uses what the reduction measured, never the truth: the source's intrinsic
along-slit extent (``ArmResult.extent_arcsec``), which background methods were refused (a
contaminated background frame, a missing nod) and the signal-to-noise ratio of each
calibrated variant.

1. **Extent class.** Intrinsic FWHM below ``POINT_MAX_ARCSEC`` (``POINT_MAX_HR_ARCSEC``
   when only the coarser HR slits measured it), or not measurable on a faint source:
   *point*; above ``EXTENDED_MIN_ARCSEC`` (wider than the LR nod throw of
   a third of the slit, so a by-nod difference would subtract the source from itself):
   *extended*; in between: *partially extended*. An HR arm with a flat along-slit profile
   (``diagnostics['extended']``) is extended, since the HR slits (11.3" and 22.3") are too
   short to measure a width. An LR point-class source whose by-nod tapered column holds
   less than ``SELF_SUBTRACTED_MAX`` of the by-order one's flux, significantly, is
   extended too: a faint wide source cancels itself in the nod difference, where its width
   cannot be fitted.
2. **Calibration and extraction follow the class.**
   - A point source (by the class limits) whose width was measured nevertheless
     (``RESOLVED_MIN_ARCSEC`` or more): the ``partial`` calibration with that width, with
     the ``tapered`` column (LR) or the full aperture (HR), when it gives at least
     ``MIN_PARTIAL_CORRECTION`` more flux than the spectrum the point class would take;
     a smaller difference is below the calibration's own uncertainty and not worth
     leaving the point calibration's better extraction for (point sources showed 1-2"
     widths in the fit, and the full aperture's partial calibration with them came out
     1.5-3 % bright in SH; a real 2" source loses 10 % in a point-profile extraction).
   - LR point: ``point`` calibration; ``optimal`` extraction when its SNR beats the
     tapered column's by ``OPTIMAL_GAIN`` (faint, background-limited sources: the
     CASSISjuice paper's Fig. 3 effect), otherwise ``tapered`` (bright sources, where the
     column is insensitive to profile errors).
   - LR partially extended: ``tapered`` extraction with the ``partial`` calibration.
   - LR extended: ``extended`` extraction (whole slit) with the ``extended`` calibration.
   - HR point: ``optimal`` with the ``diff`` background when offered (the CASSIS
     "optimal differential"), else ``optimal``/``localcont``; partially extended:
     ``fullap`` with the ``partial`` calibration; extended: ``fullap`` with ``extended``;
     both with the ``zodi`` background (the zodiacal light the SSC estimated, ZODY_EST,
     subtracted; the short HR slits hold no sky pixels) when the headers give it, else
     ``none``, and the reasons say which.
3. **Background.** LR, in order of preference: ``bynod`` (point sources only: the same
   pixels, the best sky match), ``byorder``, ``insitu`` (sources narrower than the slit),
   ``none`` as a last resort; a refused background (contamination, missing nod) was never
   produced, so the next one is taken and the reason is carried into the decision.
4. **Nods.** LR ``common`` (both nods on one grid; ``interleaved`` stays available in the
   full atlas); HR ``nodcomb`` (each nod extracted, their disagreement in the errors)
   except with the ``diff`` background, which is ``diff`` by construction.
5. **Fallback.** When the preferred combination is missing, the variant of the same
   calibration with the highest SNR is taken; when there is none, the highest-SNR variant
   of any calibration; every fallback is written into the reasons.
6. **Complete spectra first.** Only the variants holding every order that any variant of
   the same calibration holds take part (a background refused in one order, e.g. a
   by-order sky frame contaminated at LL3, would otherwise give a selected spectrum
   without that order); the orders a variant lacks are written into the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .products import Spectrum

__all__ = [
    "EXTENDED_MIN_ARCSEC", "MIN_PARTIAL_CORRECTION", "OPTIMAL_GAIN", "POINT_MAX_ARCSEC",
    "POINT_MAX_HR_ARCSEC", "RESOLVED_MIN_ARCSEC",
    "Decision", "choose",
    "extent_class",
]

#: intrinsic FWHM (arcsec) below which a source is treated as a point source
POINT_MAX_ARCSEC = 2.5
#: the same when only the HR slits measured it: their pixels (2.3" SH, 4.5" LH) make a
#: width under about 1.5 SH pixels indistinguishable from noise on a faint point source
POINT_MAX_HR_ARCSEC = 3.5
#: intrinsic FWHM (arcsec) above which a source is treated as extended
EXTENDED_MIN_ARCSEC = 40.0
#: a point-class source measured at least this wide (arcsec) gets the partial calibration
#: with its width: a 2" source loses 10 % more light at the SL slit than a point
RESOLVED_MIN_ARCSEC = 1.0
#: the least median correction (the partial calibration's flux over that of the spectrum
#: the point class would take) worth applying for a measured width below the point
#: class's limit: the uncertainty of an order's absolute calibration (1-4 % in SH/LH,
#: ``calibration_uncertainty``)
MIN_PARTIAL_CORRECTION = 0.03
#: optimal extraction is chosen when its SNR is at least this factor above tapered
OPTIMAL_GAIN = 1.1
#: an LR source whose width was not found wide is treated as extended when the by-nod
#: tapered column holds less than this fraction of what the by-order one gives, at
#: ``SELF_SUBTRACTION_SIGMA`` or more: a point source gives both the same flux, a source
#: wider than the nod throw cancels itself in the nod difference. Not in HR: there the
#: farther sky is ZODY_EST, whose error is shared by every sample of an order, and faint
#: point sources (0.005-0.03 Jy) passed the test on seeds 5 and 11
SELF_SUBTRACTED_MAX = 0.6
SELF_SUBTRACTION_SIGMA = 5.0

_LR_BACKGROUNDS = {
    "point": ("bynod", "byorder", "insitu", "none"),
    "partial": ("byorder", "insitu", "bynod", "none"),
    "extended": ("byorder", "none", "insitu", "bynod"),
}


@dataclass(frozen=True)
class Decision:
    """The selected variant key of one arm (None if nothing usable) and why."""

    key: str | None
    extent_class: str
    reasons: tuple[str, ...]


def extent_class(arm: str, extent_arcsec: float | None, looks_extended: bool = False,
                 from_lr: bool = False) -> str:
    """'point', 'partial' or 'extended' from the measured intrinsic FWHM (step 1);
    ``from_lr``: an HR arm given the LR measurement (which the LR threshold suits)."""
    if arm == "HR" and looks_extended:
        return "extended"
    if extent_arcsec is None or not math.isfinite(extent_arcsec):
        return "point"
    if extent_arcsec < (POINT_MAX_HR_ARCSEC if arm == "HR" and not from_lr else
                        POINT_MAX_ARCSEC):
        return "point"
    return "extended" if extent_arcsec > EXTENDED_MIN_ARCSEC else "partial"


def _snr(spectrum: Spectrum) -> float:
    return spectrum.snr if math.isfinite(spectrum.snr) else -math.inf


def _find(spectra: Sequence[Spectrum], **parts: str) -> Spectrum | None:
    for s in spectra:
        if all(getattr(s, name) == value for name, value in parts.items()):
            return s
    return None


def _preferred_lr(spectra: Sequence[Spectrum], kind: str, reasons: list[str]):
    for background in _LR_BACKGROUNDS[kind]:
        if kind == "point":
            optimal = _find(spectra, background=background, extraction="optimal",
                            nods="common", calibration="point")
            tapered = _find(spectra, background=background, extraction="tapered",
                            nods="common", calibration="point")
            if optimal and tapered:
                gain = _snr(optimal) / _snr(tapered) if _snr(tapered) > 0 else math.inf
                if gain >= OPTIMAL_GAIN:
                    reasons.append(f"optimal extraction: SNR {gain:.2f}x the tapered column's")
                    return optimal
                reasons.append(f"tapered column: optimal gains only {gain:.2f}x in SNR")
                return tapered
            if optimal or tapered:
                return optimal or tapered
        else:
            extraction, calibration = (("tapered", "partial") if kind == "partial"
                                       else ("extended", "extended"))
            found = _find(spectra, background=background, extraction=extraction,
                          nods="common", calibration=calibration)
            if found:
                return found
    return None


def _preferred_hr(spectra: Sequence[Spectrum], kind: str, reasons: list[str]):
    if kind == "point":
        for background, nods in (("diff", "diff"), ("localcont", "nodcomb"),
                                 ("none", "nodcomb")):
            found = _find(spectra, background=background, extraction="optimal", nods=nods,
                          calibration="point")
            if found:
                if background != "diff":
                    reasons.append("no differential-nod variant: "
                                   f"optimal extraction with {background} background")
                return found
        return None
    return _hr_full_aperture(spectra, kind, reasons)


def _hr_full_aperture(spectra: Sequence[Spectrum], calibration: str,
                      reasons: list[str]) -> Spectrum | None:
    """The HR full aperture of that calibration, zodi-subtracted where it can be."""
    found = _find(spectra, background="zodi", extraction="fullap", nods="nodcomb",
                  calibration=calibration)
    if found:
        reasons.append("full aperture minus the zodiacal light the SSC estimated for the "
                       "pointing (ZODY_EST); the estimate's uncertainty is in the errors")
        return found
    found = _find(spectra, background="none", extraction="fullap", nods="nodcomb",
                  calibration=calibration)
    if found:
        reasons.append("full aperture without sky subtraction: it includes the zodiacal "
                       "light in the slit (no ZODY_EST or no full-aperture response)")
    return found


def _slightly_resolved(arm: str, spectra: Sequence[Spectrum], extent_arcsec: float,
                       reasons: list[str]) -> Spectrum | None:
    """A point-class source with a measured width (step 2's last case): the partial
    calibration with that width, in the point class's order of backgrounds."""
    why: list[str] = []  # the HR full aperture's own reasons, kept if it is taken
    if arm == "LR":
        found = next((s for b in _LR_BACKGROUNDS["point"] for s in spectra
                      if (s.background, s.extraction, s.nods, s.calibration)
                      == (b, "tapered", "common", "partial")), None)
    else:
        found = _hr_full_aperture(spectra, "partial", why)
    if found is None:
        return None
    # against the spectrum the point class would take (a point-profile optimal
    # extraction of a source wider than the profile loses light of its own)
    point = (_preferred_lr if arm == "LR" else _preferred_hr)(spectra, "point", [])
    correction = _median_ratio(found, point) - 1.0 if point is not None else math.inf
    if correction < MIN_PARTIAL_CORRECTION:
        reasons.append(f"a measured width of {extent_arcsec:.1f} arcsec changes the point "
                       f"calibration by only {100 * correction:.1f} %: kept as a point")
        return None
    reasons += why
    reasons.append(f"a measured width of {extent_arcsec:.1f} arcsec: the partial "
                   "calibration corrects the slit losses a point source does not have "
                   f"({100 * correction:.1f} %)")
    return found


def _median_ratio(a: Spectrum, b: Spectrum) -> float:
    """The median over orders of the ratio of ``a``'s and ``b``'s median fluxes in the
    order (two extractions need not share wavelengths; medians per order leave their
    sampling and noise out)."""
    ratios = []
    for order in set(a.segment.tolist()) & set(b.segment.tolist()):
        fa, fb = a.flux_jy[a.segment == order], b.flux_jy[b.segment == order]
        fa, fb = np.median(fa[np.isfinite(fa)]), np.median(fb[np.isfinite(fb)])
        if fb > 0 and np.isfinite(fa):
            ratios.append(fa / fb)
    return float(np.median(ratios)) if ratios else math.inf


def _level(spectrum: Spectrum, order: str) -> tuple[float, float]:
    """An order's median flux and that median's uncertainty (1.2533 sigma / sqrt(n))."""
    sel = (spectrum.segment == order) & np.isfinite(spectrum.flux_jy) & np.isfinite(
        spectrum.flux_error_jy)
    n = int(sel.sum())
    if n == 0:
        return math.nan, math.nan
    return (float(np.median(spectrum.flux_jy[sel])),
            1.2533 * float(np.median(spectrum.flux_error_jy[sel])) / math.sqrt(n))


def _self_subtracted(spectra: Sequence[Spectrum]) -> float | None:
    """The LR by-nod tapered column's flux over the by-order one's, summed over the
    orders both hold, when it is below ``SELF_SUBTRACTED_MAX`` at
    ``SELF_SUBTRACTION_SIGMA`` (step 1's last case); None otherwise or when either variant
    is missing."""
    near = _find(spectra, background="bynod", extraction="tapered", nods="common",
                 calibration="point")
    far = _find(spectra, background="byorder", extraction="tapered", nods="common",
                calibration="point")
    if near is None or far is None:
        return None
    a = b = var_a = var_b = 0.0
    for order in set(near.segment.tolist()) & set(far.segment.tolist()):
        (fa, ea), (fb, eb) = _level(near, order), _level(far, order)
        if all(map(math.isfinite, (fa, ea, fb, eb))):
            a, b, var_a, var_b = a + fa, b + fb, var_a + ea * ea, var_b + eb * eb
    if not b > 0:
        return None
    ratio = a / b
    # the ratio's uncertainty from both sums' (independent enough: other skies, other
    # extractions)
    sigma = math.hypot(math.sqrt(var_a) / b, ratio * math.sqrt(var_b) / b)
    if ratio < SELF_SUBTRACTED_MAX and (1.0 - ratio) >= SELF_SUBTRACTION_SIGMA * sigma:
        return ratio
    return None


def _complete(spectra: Sequence[Spectrum], reasons: list[str]) -> list[Spectrum]:
    """The variants holding every order that any variant of the same calibration holds
    (step 6; a calibration's variants are not dropped for another's: an extended source
    whose by-order frame held it in one order keeps its extended calibration)."""
    orders = [frozenset(str(x) for x in set(s.segment.tolist())) for s in spectra]
    every: dict[str, frozenset] = {}
    for s, have in zip(spectra, orders, strict=True):
        every[s.calibration] = every.get(s.calibration, frozenset()) | have
    complete = [s for s, have in zip(spectra, orders, strict=True)
                if have == every[s.calibration]]
    short = {}
    for s, have in zip(spectra, orders, strict=True):
        if have != every[s.calibration]:
            short.setdefault(",".join(sorted(every[s.calibration] - have)), []).append(s.key)
    for missing, keys in sorted(short.items()):
        reasons.append(f"not considered, lacking {missing}: {', '.join(sorted(keys)[:4])}"
                       + (f" and {len(keys) - 4} more" if len(keys) > 4 else ""))
    return complete or list(spectra)


def choose(arm: str, spectra: Sequence[Spectrum], extent_arcsec: float | None,
           refused: Sequence[str] = (), looks_extended: bool = False,
           from_lr: bool = False) -> Decision:
    """Select the best of an arm's calibrated variants (the tree in the module docstring).

    Parameters
    ----------
    arm : {'LR', 'HR'}
    spectra : sequence of Spectrum
        The arm's calibrated variants (their ``snr`` filled in).
    extent_arcsec : float or None
        Measured intrinsic along-slit FWHM.
    refused : sequence of str
        Why methods were not applied; quoted in the reasons when they touch a background.
    looks_extended : bool
        HR only: the along-slit profile is flat across the slit.
    """
    kind = extent_class(arm, extent_arcsec, looks_extended, from_lr)
    size = "not measured" if extent_arcsec is None else f"{extent_arcsec:.1f} arcsec"
    reasons = [f"{kind} source (intrinsic FWHM {size})"]
    reasons += [f"refused: {why}" for why in refused]
    spectra = [s for s in spectra if s.arm == arm]
    if not spectra:
        return Decision(None, kind, (*reasons, "no usable variant"))
    spectra = _complete(spectra, reasons)
    if arm == "LR" and kind == "point" and not (extent_arcsec or 0.0) >= RESOLVED_MIN_ARCSEC:
        share = _self_subtracted(spectra)
        if share is not None:
            kind = "extended"
            reasons.append(f"extended source: the nod difference holds only {100 * share:.0f} "
                           "% of the flux measured against a sky farther away, so the "
                           "source is wider than the nod throw (a point source gives both "
                           "the same); its width could not be measured")
    pick = None
    if kind == "point" and extent_arcsec is not None and extent_arcsec >= RESOLVED_MIN_ARCSEC:
        pick = _slightly_resolved(arm, spectra, extent_arcsec, reasons)
    pick = pick or (_preferred_lr if arm == "LR" else _preferred_hr)(spectra, kind, reasons)
    if pick is None:
        same = [s for s in spectra if s.calibration == kind]
        pick = max(same or spectra, key=_snr)
        scope = f"{kind}-calibrated" if same else "available"
        reasons.append(f"preferred combination missing: the highest-SNR {scope} variant")
    reasons.append(f"selected {pick.key} (SNR {pick.snr:.1f})")
    return Decision(pick.key, kind, tuple(reasons))
