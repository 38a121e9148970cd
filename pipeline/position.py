"""One targeted position from raw DCEs to its product (issue 3, steps 7-9 assembled).

``derive_calibration`` first learns each module's along-slit profile from the standard
stars' images (``steps.profile``: the reduction never assumes the instrument's PSF), then
runs the arm reductions (``lowres``, ``highres``) with it on the standard-star positions
and divides every variant of every order by the stars' model spectra: one response per
(arm, background, extraction, nods, order), so each variant of a science target is
calibrated by the same method applied to the standards, and systematic effects of a method
(the tapered column's aperture, the optimal profile's wings) cancel.

``reduce_position`` then reduces a science position, calibrates every variant (point,
extended and partially extended calibrations where the extraction allows them), measures
the order/module mismatches, selects the best variant per arm (``select.choose``) and
returns the :class:`~pipeline.products.Product`; writing it is the caller's
(``pipeline.run``) business.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from .extracted import ArmResult, MethodSpectra
from .grouping import Position
from .highres import profile_samples as hr_profile_samples
from .highres import reduce_highres, zody_est
from .instrument import IRSModel, default_model
from .instrument.standards import StandardStar, find_standard
from .instrument.zodi import zody_point_equivalent_jy
from .lowres import profile_samples as lr_profile_samples
from .lowres import reduce_lowres
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
from .steps.calibrate import (
    Response,
    apply_response,
    derive_response,
    extended_factor,
    partial_factor,
)
from .steps.errors import scatter_floor
from .steps.extract import Extraction
from .steps.pointing import CrossSlitOffsets, cross_slit_offsets, pointing_transmission
from .steps.profile import SpatialProfile, profiles_from

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
#: a standard-star order enters the response only above this median SNR
MIN_STANDARD_SNR = 10.0
#: points below this SNR get FLAG_LOW_SNR
LOW_SNR = 3.0

ResponseKey = tuple[str, str, str, str, str]  # arm, background, extraction, nods, order


class CalibrationError(RuntimeError):
    """No usable standard-star observation to calibrate with."""


class ReductionError(RuntimeError):
    """No arm of a position could be reduced (the messages of each failure)."""


def _arm_reducers() -> dict[str, Callable[..., ArmResult]]:
    return {"LR": reduce_lowres, "HR": reduce_highres}


#: per arm, the standard-star images the along-slit profile is learned from
_PROFILE_SAMPLERS: dict[str, Callable] = {"LR": lr_profile_samples, "HR": hr_profile_samples}


@dataclass(frozen=True)
class Calibration:
    """Point-source responses by (arm, background, extraction, nods, order).

    ``standards`` lists the CASSISjuice IDs of the standard-star positions used;
    ``profiles`` the along-slit profile of each module learned from them.
    """

    responses: Mapping[ResponseKey, Response]
    standards: tuple[str, ...] = ()
    name: str = field(default="")
    profiles: Mapping[str, SpatialProfile] = field(default_factory=dict)

    def instrument(self, irs: IRSModel) -> IRSModel:
        """The instrument model with this calibration's measured profiles."""
        return irs.with_profiles(dict(self.profiles))

    def response(self, arm: str, method: MethodSpectra, order: str) -> Response | None:
        """The response for this variant and order; when that exact one was not measured
        (e.g. the HR zodi-subtracted full aperture, which standards are not reduced with),
        the same extraction and nod handling with another background, else the same
        extraction."""
        exact = self.responses.get((arm, method.background, method.extraction, method.nods,
                                    order))
        if exact is not None:
            return exact
        for same in ((arm, method.extraction, method.nods, order),
                     (arm, method.extraction, order)):
            found = next((r for (a, _, e, n, o), r in sorted(self.responses.items())
                          if ((a, e, n, o) if len(same) == 4 else (a, e, o)) == same), None)
            if found is not None:
                return found
        return None

    def full_aperture_responses(self) -> dict[str, Response]:
        """HR order -> the full aperture's point-source response (counts per Jy), with
        which the zodiacal light estimate is turned into counts (``highres``)."""
        return {o: r for (a, b, e, n, o), r in self.responses.items()
                if (a, b, e, n) == ("HR", "none", "fullap", "nodcomb")}

    def to_json(self) -> str:
        return json.dumps({
            "name": self.name,
            "standards": list(self.standards),
            "responses": [
                {"key": list(key), "order": r.order, "method": r.method,
                 "wavelength_um": r.wavelength_um.tolist(),
                 "counts_per_jy": r.counts_per_jy.tolist(), "n": r.n_observations,
                 "fractional_error": None if r.fractional_error is None
                 else r.fractional_error.round(6).tolist()}
                for key, r in sorted(self.responses.items())],
            "profiles": {name: p.to_dict() for name, p in sorted(self.profiles.items())},
        })

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        try:
            data = json.loads(text)
            responses = {
                tuple(item["key"]): Response(item["order"], item["method"],
                                             np.asarray(item["wavelength_um"], float),
                                             np.asarray(item["counts_per_jy"], float),
                                             int(item["n"]), _optional_array(
                                                 item.get("fractional_error")))
                for item in data["responses"]}
            profiles = {str(name): SpatialProfile.from_dict(p)
                        for name, p in data.get("profiles", {}).items()}
            return cls(responses, tuple(data["standards"]), str(data["name"]), profiles)
        except (ValueError, KeyError, TypeError) as exc:
            raise CalibrationError(f"not a calibration file: {exc}") from exc


def _optional_array(values) -> np.ndarray | None:
    return None if values is None else np.asarray(values, float)


def is_standard(position: Position) -> bool:
    """A position observed as a flux-calibration standard (known standard-star name)."""
    return find_standard(position.object_name) is not None


def _median_snr(counts: np.ndarray, errors: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = counts / errors
    ratio = ratio[np.isfinite(ratio)]
    return float(np.median(ratio)) if len(ratio) else math.nan


def derive_calibration(standards: Iterable[Position], irs: IRSModel | None = None,
                       reducers: Mapping[str, Callable[..., ArmResult]] | None = None,
                       ) -> Calibration:
    """Responses of every variant and order from the standard-star positions."""
    irs = irs or default_model()
    standards = list(standards)
    for position in standards:
        if find_standard(position.object_name) is None:
            raise CalibrationError(f"{position.cj_id} ({position.object_name!r}) is not a "
                                   "known standard star")
    profiles: dict[str, SpatialProfile] = {}
    if reducers is None:
        reducers = _arm_reducers()
        profiles = profiles_from(
            list(irs.modules.values()),
            (s for position in standards for arm in position.arms
             for s in _PROFILE_SAMPLERS[arm](position, irs)))
        irs = irs.with_profiles(profiles)
    observations: dict[ResponseKey, list[tuple[Extraction, StandardStar]]] = {}
    used = []
    for position in standards:
        star = find_standard(position.object_name)
        offsets = cross_slit_offsets(position.dces)
        for arm in position.arms:
            result = reducers[arm](position, irs=irs)
            for method in result.variants:
                for ext in method.orders:
                    model = _ThroughSlit(star, irs, ext.order, offsets)
                    if ext.sky is not None and ext.method == "full":
                        # a full aperture holds the star's sky too
                        ext, model = _full_aperture_standard(ext, model, position, irs)
                    if _median_snr(ext.counts, ext.counts_error) < MIN_STANDARD_SNR:
                        continue
                    key = (arm, method.background, method.extraction, method.nods, ext.order)
                    observations.setdefault(key, []).append((ext, model))
        used.append(position.cj_id)
    responses = {key: derive_response(obs) for key, obs in observations.items()}
    if not responses:
        raise CalibrationError(f"no standard-star order above SNR {MIN_STANDARD_SNR:g} among "
                               f"{len(used)} standard position(s)")
    return Calibration(responses, tuple(used), f"standards:{len(used)}", profiles)


@dataclass(frozen=True)
class _ThroughSlit:
    """A standard star's model times the cross-slit transmission of the nods' pointing
    (``steps.pointing``): what a point-source extraction of it holds, so that the
    responses are those of a centred source."""

    star: StandardStar
    irs: IRSModel
    order: str
    offsets: CrossSlitOffsets

    def flux_jy(self, wavelength_um):
        return self.star.flux_jy(wavelength_um) * pointing_transmission(
            self.irs, self.order, wavelength_um, self.offsets)


@dataclass(frozen=True)
class _StarAndZodi:
    """A standard star's model plus the zodiacal light in the slit as the point source
    that gives the same counts: what an HR full aperture of a standard holds."""

    star: StandardStar | _ThroughSlit
    module: object
    zody_est_mjy_sr: float

    def flux_jy(self, wavelength_um):
        return self.star.flux_jy(wavelength_um) + zody_point_equivalent_jy(
            self.module, wavelength_um, self.zody_est_mjy_sr)


def _full_aperture_standard(ext: Extraction, star: _ThroughSlit, position: Position,
                            irs: IRSModel) -> tuple[Extraction, object]:
    """What a standard's full aperture is calibrated against: the star plus the zodiacal
    light the SSC estimated (ZODY_EST), or, without that estimate, the star alone after
    the local-continuum fit's sky is subtracted (which also takes the part of the star's
    PSF wings that is flat across the slit, a few per cent in LH, so the extended
    calibration built on such a response is that much high)."""
    module = irs.module(irs.order(ext.order).module)
    estimate = zody_est(position.dces, module.name)
    if estimate is not None:
        return replace(ext, sky=None), _StarAndZodi(star, module, estimate)
    return replace(ext, counts=ext.counts - ext.sky, sky=None), star


def _flux(ext: Extraction, response: Response, calibration: str, extraction: str,
          result: ArmResult, irs: IRSModel, offsets: CrossSlitOffsets
          ) -> tuple[np.ndarray, np.ndarray]:
    """Point, extended or partially extended calibration of one extracted order; the point
    and partial ones for the light the pointing's cross-slit offsets lost (``offsets``,
    ``steps.pointing``), which a source wider than the slit does not notice."""
    flux, error = apply_response(ext, response)
    order = irs.order(ext.order)
    module = irs.module(order.module)
    if calibration == "point":
        factor = 1.0 / pointing_transmission(irs, ext.order, ext.wavelength_um, offsets)
    elif calibration == "extended":
        factor = extended_factor(module, ext.wavelength_um)
    else:
        factor = partial_factor(
            module, order, ext.wavelength_um, result.extent_arcsec,
            aperture=extraction == "tapered", slit_ends=extraction == "fullap",
            transmission=pointing_transmission(irs, ext.order, ext.wavelength_um, offsets,
                                               float(result.extent_arcsec or 0.0)))
    return flux * factor, error * factor


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
                         offsets: CrossSlitOffsets) -> list[Spectrum]:
    """Every calibration of every variant, trimmed to the orders' calibrated ranges, with
    errors that match the spectrum's scatter (``steps.errors``; the fractional floor of
    each variant and order goes into ``floors``)."""
    spectra = []
    measured: dict[tuple[str, str, str], float] = {}
    for method in result.variants:
        for kind in CALIBRATIONS_FOR[(arm, method.extraction)]:
            parts = []
            for ext in sorted(method.orders, key=lambda e: float(e.wavelength_um[0])):
                response = calibration.response(arm, method, ext.order)
                if response is None:
                    missing.add(f"{arm} {ext.order} {method.extraction}")
                    continue
                flux, error = _flux(ext, response, kind, method.extraction, result, irs,
                                    offsets)
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
                floors.setdefault(variant_key(arm, method.background, method.extraction,
                                              method.nods, kind), {})[ext.order] = floor
                parts.append((ext.order, ext.wavelength_um[good], flux[good], error, flags))
            if not parts:
                continue
            wave = np.concatenate([p[1] for p in parts])
            flux = np.concatenate([p[2] for p in parts])
            error = np.concatenate([p[3] for p in parts])
            spectra.append(Spectrum.from_key(
                variant_key(arm, method.background, method.extraction, method.nods, kind),
                wave, flux, error, np.concatenate([np.full(len(p[1]), p[0]) for p in parts]),
                np.concatenate([p[4] for p in parts]),
                snr=_median_snr(flux, error),
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
        reducers = _arm_reducers()
        hr = reducers["HR"]
        responses = calibration.full_aperture_responses()
        reducers["HR"] = lambda position, irs: hr(position, irs=irs, responses=responses)
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
        arm_spectra = _calibrated_variants(arm, result, calibration, irs, missing, floors,
                                           offsets)
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
