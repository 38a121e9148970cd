"""One targeted position from raw DCEs to its product (issue 3, steps 7-9 assembled).

With a :class:`~pipeline.calibration.Calibration` (``pipeline.calibration``: responses
and profiles from the standard stars), ``reduce_position`` reduces a science position,
calibrates every variant (point, extended and partially extended calibrations where the
extraction allows them, with the pointing's cross-slit losses), measures the order/module
mismatches, selects the best variant per arm (``select.choose``) and
returns the :class:`~pipeline.products.Product`; writing it is the caller's
(``pipeline.run``) business.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from .calibration import (
    Calibration,
    CalibrationError,
    arm_reducers,
    derive_calibration,
    is_standard,
    median_snr,
)
from .extracted import ArmResult
from .grouping import Position
from .instrument import IRSModel, default_model
from .products import (
    FLAG_LOW_SNR,
    FLAG_REPLACED_PIXELS,
    Product,
    Provenance,
    Selection,
    Spectrum,
    variant_key,
)
from .products.metadata import observing_time
from .provenance import StepRunner
from .select import choose
from .source_position import measure_position
from .steps.calibrate import Response, apply_response, extended_factor, partial_factor
from .steps.errors import scatter_floor
from .steps.extract import Extraction
from .steps.pointing import CrossSlitOffsets, cross_slit_offsets, pointing_transmission
from .wavelength_calibration import campaigns_of

__all__ = [
    "CALIBRATIONS_FOR", "Calibration", "CalibrationError", "ReductionError",
    "derive_calibration",
    "is_standard", "reduce_position",
]

log = logging.getLogger(__name__)

#: which calibrations each extraction supports: profile-weighted extraction assumes a
#: point source; the tapered column and the HR full aperture also hold partially extended
#: sources; whole-slit integration is for extended ones
CALIBRATIONS_FOR = {
    ("LR", "optimal"): ("point",),
    ("LR", "tapered"): ("point", "partial"),
    ("LR", "extended"): ("extended",),
    ("HR", "optimal"): ("point",),
    ("HR", "fullap"): ("point", "partial", "extended"),
}
#: points below this SNR get FLAG_LOW_SNR
LOW_SNR = 3.0


class ReductionError(RuntimeError):
    """No arm of a position could be reduced (the messages of each failure)."""


def _flux(ext: Extraction, response: Response, calibration: str, extraction: str,
          result: ArmResult, irs: IRSModel, offsets: CrossSlitOffsets,
          factors: dict, sky_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Point, extended or partially extended calibration of one extracted order; the point
    and partial ones for the light the pointing's cross-slit offsets lost (``offsets``,
    ``steps.pointing``), which a source wider than the slit does not notice; the extended
    one over ``sky_scale`` (``Calibration.zodi_scale``: a uniform source fills the slit
    that much more than the SLCF says). ``factors``
    keeps each factor for the other variants of the position on the same wavelengths
    (every background and extraction of an order shares them: 13,000 factors for 60
    positions came from 3,900 distinct ones)."""
    flux, error = apply_response(ext, response)
    key = (ext.order, calibration, extraction, ext.wavelength_um.tobytes())
    factor = factors.get(key)
    if factor is None:
        factor = factors[key] = _factor(ext, calibration, extraction, result, irs, offsets,
                                        sky_scale)
    return flux * factor, error * factor


def _factor(ext: Extraction, calibration: str, extraction: str, result: ArmResult,
            irs: IRSModel, offsets: CrossSlitOffsets, sky_scale: float) -> np.ndarray:
    order = irs.order(ext.order)
    module = irs.module(order.module)
    if calibration == "point":
        return 1.0 / pointing_transmission(irs, ext.order, ext.wavelength_um, offsets)
    if calibration == "extended":
        return extended_factor(module, ext.wavelength_um) / sky_scale
    return partial_factor(
        module, order, ext.wavelength_um, result.extent_arcsec,
        aperture=extraction == "tapered", slit_ends=extraction == "fullap",
        transmission=pointing_transmission(irs, ext.order, ext.wavelength_um, offsets,
                                           float(result.extent_arcsec or 0.0)))


def _flags(ext: Extraction, flux: np.ndarray, error: np.ndarray) -> np.ndarray:
    flags = np.zeros(len(flux), np.int32)
    if ext.replaced is not None:
        flags[np.asarray(ext.replaced, bool)] |= FLAG_REPLACED_PIXELS
    with np.errstate(invalid="ignore", divide="ignore"):
        flags[~(np.abs(flux / error) >= LOW_SNR)] |= FLAG_LOW_SNR
    return flags


def _median(values: np.ndarray) -> float:
    """The median of a few finite values: ``np.median``'s answer at a tenth of its cost on
    the 3-30 overlap samples of two orders (timeit, 3-31 values: 5-15 against 42-134 us a
    call; ``matching_factors`` makes 340 such calls per position)."""
    ordered = np.sort(values)
    half = len(ordered) // 2
    return float(ordered[half]) if len(ordered) % 2 else 0.5 * float(
        ordered[half - 1] + ordered[half])


def matching_factors(segments: list[tuple[str, np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Order/module mismatch of each segment against its neighbours, chained to the first.

    For each pair of segments adjacent in wavelength the ratio of median fluxes in their
    overlap is measured (at least 3 points of each); the factor of a segment is what would
    scale it onto the first (shortest-wavelength) segment. Segments without an overlap
    with their predecessor start a new chain (factor 1). Reported, never applied.
    """
    factors: dict[str, float] = {}
    previous = None
    for name, wave, flux in segments:
        factor = 1.0
        if previous is not None:
            p_name, p_wave, p_flux = previous
            lo, hi = max(wave[0], p_wave[0]), min(wave[-1], p_wave[-1])
            mine = (wave >= lo) & (wave <= hi) & np.isfinite(flux)
            theirs = (p_wave >= lo) & (p_wave <= hi) & np.isfinite(p_flux)
            if mine.sum() >= 3 and theirs.sum() >= 3:
                a, b = _median(p_flux[theirs]), _median(flux[mine])
                if a > 0 and b > 0:
                    factor = factors[p_name] * float(a / b)
        factors[name] = factor
        previous = (name, wave, flux)
    return factors


def _calibrated_variants(arm: str, result: ArmResult, calibration: Calibration,
                         irs: IRSModel, missing: set[str],
                         floors: dict[str, dict[str, float]],
                         offsets: CrossSlitOffsets,
                         levels: dict[str, dict[str, float]],
                         campaigns: Mapping[str, str]) -> list[Spectrum]:
    """Every calibration of every variant, trimmed to the orders' calibrated ranges, with
    errors that match the spectrum's scatter (``steps.errors``; the fractional floor of
    each variant and order goes into ``floors``, the fractional uncertainty of the order's
    absolute level, ``Response.systematic_error``, into ``levels``), on the wavelengths of
    the module's zero point in its campaign (``campaigns``: module -> CAMPAIGN; the
    responses apply per pixel, on the nominal wavelengths the standards had)."""
    spectra = []
    measured: dict[tuple[str, str, str], float] = {}
    factors: dict = {}
    for method in result.variants:
        orders = sorted(method.orders, key=lambda e: float(e.wavelength_um[0]))
        # each order's wavelengths in its campaign, the same for every calibration of it
        waves = [calibration.wavelength.shifted(irs, e.order, e.wavelength_um,
                                                campaigns.get(irs.order(e.order).module))
                 for e in orders]
        for kind in CALIBRATIONS_FOR[(arm, method.extraction)]:
            parts = []
            for ext, wave in zip(orders, waves, strict=True):
                response = calibration.response(arm, method, ext.order)
                if response is None:
                    missing.add(f"{arm} {ext.order} {method.extraction}")
                    continue
                flux, error = _flux(ext, response, kind, method.extraction, result, irs,
                                    offsets, factors,
                                    calibration.zodi_scale.get(ext.order, 1.0))
                lo, hi = irs.order(ext.order).usable_range_um
                with np.errstate(invalid="ignore"):
                    # an order's end rows are partly off the order and outside the SSC's
                    # calibrated range (WAVECUT): not published
                    good = (np.isfinite(flux) & np.isfinite(error) & (error > 0)
                            & (ext.wavelength_um >= lo) & (ext.wavelength_um <= hi))
                if good.sum() < 2:
                    continue
                flags = _flags(ext, flux, error)[good]
                # the floor is a fraction of the flux: the same for every calibration of
                # this background and extraction, which differ by a smooth factor, and
                # for both of its nod combinations (measured on the first)
                where = (method.background, method.extraction, ext.order)
                if where not in measured:
                    measured[where] = scatter_floor(flux[good], error[good])[1]
                floor = measured[where]
                error = np.sqrt(error[good] ** 2 + (floor * flux[good]) ** 2)
                key = variant_key(arm, method.background, method.extraction, method.nods,
                                  kind)
                floors.setdefault(key, {})[ext.order] = floor
                if response.level_error is not None:
                    levels.setdefault(key, {})[ext.order] = response.level_error
                parts.append((ext.order, wave[good], flux[good], error, flags))
            if not parts:
                continue
            wave = np.concatenate([p[1] for p in parts])
            flux = np.concatenate([p[2] for p in parts])
            error = np.concatenate([p[3] for p in parts])
            spectra.append(Spectrum.from_key(
                variant_key(arm, method.background, method.extraction, method.nods, kind),
                wave, flux, error, np.concatenate([np.full(len(p[1]), p[0]) for p in parts]),
                np.concatenate([p[4] for p in parts]),
                snr=median_snr(flux, error),
                scale_factors=matching_factors([(p[0], p[1], p[2]) for p in parts])))
    return spectra


def _json_number(value):
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_number(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_number(v) for v in value]
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def _exposures(position) -> list[dict[str, object]]:
    """The raw exposures reduced into the product (its progenitors), each by its path in
    the Spitzer archive layout ``r<AORKEY>/ch<N>/bcd/<file>``."""
    return [{"file": f"r{d.aorkey}/ch{d.chnlnum}/bcd/{d.path.name}", "module": d.module,
             "subslit": d.subslit, "nod": d.nod, "expid": d.expid, "dcenum": d.dcenum,
             "mjd_obs": d.mjd_obs} for d in sorted(position.dces, key=lambda d: d.path.name)]


def _header_metadata(position: Position) -> dict[str, object]:
    """What the exposures' headers say about the observation (``products.metadata``):
    the first exposure's start (MJD_OBS), the programme (PROGID) and the target type
    (OBJTYPE)."""
    times = [d.mjd_obs for d in position.dces if math.isfinite(d.mjd_obs)]
    programs = [d.progid for d in position.dces if d.progid is not None]
    return {"mjd_obs": min(times) if times else None,
            "program_id": programs[0] if programs else None,
            "object_type": position.dces[0].objtype or None}


#: a by-order sky frame holding more than this fraction of the source is reported
SELF_SUBTRACTION_REPORTED = 0.02


def _self_subtraction(key: str | None, result: ArmResult) -> tuple[str, ...]:
    """A reason line when the selected variant's by-order background held a noticeable
    part of the (wide) source itself: its flux is low by about that much."""
    shares = result.diagnostics.get("byorder_source_share") or {}
    if key is None or "/byorder/" not in key or not shares:
        return ()
    subslit, share = max(shares.items(), key=lambda item: item[1])
    if share <= SELF_SUBTRACTION_REPORTED:
        return ()
    return (f"by-order background: the sky frame of {subslit} held ~{100 * share:.0f} % of "
            f"the source's own in-slit flux (intrinsic FWHM {result.extent_arcsec:.0f}\" "
            "against the by-order throw), so the flux is low by about that much",)


def _neighbour_note(result: ArmResult, extent_class: str) -> tuple[str, ...]:
    """A reason line naming the other sources found along the slit (``steps.neighbours``)
    and what was done with their pixels."""
    found = result.diagnostics.get("neighbours") or []
    if not found:
        return ()
    where = sorted({(n["subslit"], n["offset_arcsec"], n["peak_ratio"]) for n in found})
    listed = ", ".join(f"{sub} {off:+.0f}\" (peak {ratio:.2f} of the target's)"
                       for sub, off, ratio in where[:4])
    if extent_class == "extended":
        return (f"other sources along the slit: {listed}; as far as their wings reach, the "
                "whole-slit extraction has the source's own light interpolated along the "
                "slit in their place (rows flagged as replaced pixels), and the extent fit "
                "left them out",)
    return (f"other sources along the slit: {listed}; their pixels were left out of the "
            "optimal and tapered extractions and of the extent fit",)


def reduce_position(position: Position, calibration: Calibration,
                    irs: IRSModel | None = None,
                    reducers: Mapping[str, Callable[..., ArmResult]] | None = None,
                    ) -> Product:
    """Reduce, calibrate and select one position; the product is returned, not written."""
    irs = calibration.instrument(irs or default_model())
    if reducers is None:
        reducers = arm_reducers()
        hr = reducers["HR"]
        responses = calibration.full_aperture_responses()
        reducers["HR"] = lambda position, irs: hr(position, irs=irs, responses=responses,
                                                  zodi_scale=calibration.zodi_scale)
    runner = StepRunner()  # provenance from what ran, was refused or failed
    runner.record("group", "COMPLETE")
    results = {}
    for arm in position.arms:
        result = runner.run(f"{arm} reduction", reducers[arm], position, irs=irs)
        if result is not None:
            runner.arm_steps(result)
            results[arm] = result
    if not results:
        raise ReductionError(f"{position.cj_id}: every arm failed: "
                             + "; ".join(f"{k}: {v}" for k, v in runner.failed.items()))
    spectra: list[Spectrum] = []
    selection: dict[str, Selection] = {}
    metadata: dict[str, object] = {"modules": list(position.modules),
                                   **_header_metadata(position),
                                   "calibration": calibration.name,
                                   "exposures": _exposures(position)}
    missing: set[str] = set()
    offsets = cross_slit_offsets(position.dces)
    campaigns = campaigns_of(position)
    zero_points = {m: calibration.wavelength.get(m, c) for m, c in campaigns.items()}
    runner.record("wavelength zero point", "COMPLETE" if all(zero_points.values()) else
                  "PARTIAL" if any(zero_points.values()) else "SKIPPED")
    lr_extent = results["LR"].extent_arcsec if "LR" in results else None
    hr = results.get("HR")
    for arm, result in results.items():
        if arm == "HR" and lr_extent is not None:
            # the LR slits (57" and 168") measure a size far better than the HR ones
            result = replace(result, extent_arcsec=lr_extent,
                             diagnostics={**result.diagnostics, "extended": False,
                                          "extent_from": "LR"})
        elif arm == "LR" and lr_extent is None and hr is not None and (
                hr.extent_arcsec is not None):
            # no LR size (e.g. a profile flat across the slit defeats the fit): one source,
            # one size, so the HR measurement stands for both arms
            result = replace(result, extent_arcsec=hr.extent_arcsec,
                             diagnostics={**result.diagnostics, "extent_from": "HR",
                                          "extended": bool(hr.diagnostics.get("extended"))})
        floors: dict[str, dict[str, float]] = {}
        levels: dict[str, dict[str, float]] = {}
        arm_spectra = _calibrated_variants(arm, result, calibration, irs, missing, floors,
                                           offsets, levels, campaigns)
        decision = choose(arm, arm_spectra, result.extent_arcsec, result.refused,
                          bool(result.diagnostics.get("extended", False)),
                          from_lr=result.diagnostics.get("extent_from") == "LR")
        spectra += [Spectrum.from_key(s.key, s.wavelength_um, s.flux_jy, s.flux_error_jy,
                                      s.segment, s.flag, selected=s.key == decision.key,
                                      snr=s.snr, scale_factors=s.scale_factors)
                    for s in arm_spectra]
        selection[arm] = Selection(decision.key, decision.reasons + _self_subtraction(
            decision.key, result) + _neighbour_note(result, decision.extent_class))
        runner.record(f"{arm} calibrate", "FAILED" if not arm_spectra else "PARTIAL" if any(
            m.startswith(f"{arm} ") for m in missing) else "COMPLETE")
        runner.record(f"{arm} select", "COMPLETE" if decision.key else "FAILED")
        metadata[arm] = {"extent_arcsec": result.extent_arcsec,
                         "extent_class": decision.extent_class,
                         "refused": list(result.refused),
                         "diagnostics": result.diagnostics,
                         "error_floor": {o: round(f, 5) for o, f in
                                         floors.get(decision.key or "", {}).items()},
                         # each order's absolute level, shared by all its points
                         "calibration_uncertainty": {
                             o: round(e, 5) for o, e in
                             levels.get(decision.key or "", {}).items()},
                         # the wavelength calibrator's measure of each module's zero point in
                         # its campaign (null: the nominal wavelengths were kept)
                         "wavelength_zero_point": {
                             m: ({"campaign": campaigns[m], **zero_points[m].to_dict()}
                                 if zero_points[m] else None)
                             for m in position.modules if m in campaigns
                             and (m in ("SL", "LL")) == (arm == "LR")},
                         **observing_time((d.mjd_obs, d.ramptime_s) for d in position.dces
                                          if (d.module in ("SL", "LL")) == (arm == "LR"))}
    if missing:
        metadata["uncalibrated"] = sorted(missing)
    extended = any(metadata[arm]["extent_class"] == "extended" for arm in results)
    measured = runner.run("measure position", measure_position, position, irs,
                          extended=extended, centres_px={
                              key: centre for result in results.values()
                              for key, centre in result.source_centres_px.items()})
    if measured is not None:
        metadata["position"] = measured.as_metadata()
    if runner.failed:
        metadata["failed"] = dict(runner.failed)
    return Product(
        cj_id=position.cj_id, aorkey=position.aorkey, pointing=position.pointing,
        object_name=position.object_name,
        ra_deg=measured.ra_deg if measured else math.nan,
        dec_deg=measured.dec_deg if measured else math.nan,
        ra_rqst_deg=position.ra_rqst_deg, dec_rqst_deg=position.dec_rqst_deg,
        simulated=any(d.simulated for d in position.dces),
        provenance=Provenance(steps=tuple(runner.steps), calibration_set=calibration.name),
        selection=selection, metadata=_json_number(metadata), spectra=tuple(spectra))
