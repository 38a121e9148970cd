"""The flux calibration: responses and along-slit profiles from standard stars.

``derive_calibration`` first learns each module's along-slit profile from the standard
stars' images (``steps.profile``: the reduction never assumes the instrument's PSF), then
runs the arm reductions (``lowres``, ``highres``) with it on the standard-star positions
and divides every variant of every order by the stars' model spectra, as the slit passed
them (``steps.pointing``: each nod's cross-slit pointing loss): one response per (arm,
background, extraction, nods, order), referred to a centred point source, so each variant
of a science target is calibrated by the same method applied to the standards, and
systematic effects of a method (the tapered column's aperture, the optimal profile's
wings) cancel. A point source cannot tell how a *uniform* sky fills a slit (the SSC's
slit-loss model, SLCF, stands in for it, and is good to a few per cent); the blank-sky
fields of the calibration programme measure it in the HR full apertures, where the
zodiacal light is subtracted and extended sources are calibrated (``zodi_scale``). The
wavelength calibrator's observations give each module's wavelength zero point in each
campaign (``wavelength_calibration``). A :class:`Calibration` is kept as
``calibration.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from .extracted import ArmResult, MethodSpectra
from .grouping import Position
from .highres import profile_samples as hr_profile_samples
from .highres import reduce_highres, zodi_counts, zody_est
from .instrument import IRSModel, default_model
from .instrument.standards import StandardStar, find_standard, is_sky_field
from .instrument.zodi import zody_point_equivalent_jy
from .lowres import profile_samples as lr_profile_samples
from .lowres import reduce_lowres
from .steps.calibrate import Response, derive_response
from .steps.extract import Extraction
from .steps.pointing import CrossSlitOffsets, cross_slit_offsets, pointing_transmission
from .steps.profile import SpatialProfile, profiles_from
from .wavelength_calibration import WavelengthZeroPoints, measure_zero_points

__all__ = ["MIN_SKIES", "MIN_SKY_ORDER_SNR", "MIN_STANDARD_SNR", "Calibration", "CalibrationError",
           "arm_reducers", "derive_calibration", "is_sky", "is_standard", "median_snr"]

#: a standard-star order enters the response only above this median SNR
MIN_STANDARD_SNR = 10.0

ResponseKey = tuple[str, str, str, str, str]  # arm, background, extraction, nods, order


class CalibrationError(RuntimeError):
    """No usable standard-star observation to calibrate with."""


def arm_reducers() -> dict[str, Callable[..., ArmResult]]:
    """A fresh {arm: reduction} mapping (callers may wrap an entry)."""
    return {"LR": reduce_lowres, "HR": reduce_highres}


#: per arm, the standard-star images the along-slit profile is learned from
_PROFILE_SAMPLERS: dict[str, Callable] = {"LR": lr_profile_samples, "HR": hr_profile_samples}


@dataclass(frozen=True)
class Calibration:
    """Point-source responses by (arm, background, extraction, nods, order).

    ``standards`` lists the CASSISjuice IDs of the standard-star positions used;
    ``profiles`` the along-slit profile of each module learned from them; ``zodi_scale``
    how a uniform sky fills the HR full apertures, from blank-sky fields; ``wavelength``
    each module's wavelength zero point per campaign, from the wavelength calibrator's
    positions (``wavecals``, their CASSISjuice IDs).
    """

    responses: Mapping[ResponseKey, Response]
    standards: tuple[str, ...] = ()
    name: str = field(default="")
    profiles: Mapping[str, SpatialProfile] = field(default_factory=dict)
    #: HR order -> the counts a uniform sky gives in the full aperture over those the
    #: SSC's slit-loss model predicts (``highres.zodi_counts``), measured on blank-sky
    #: fields (``skies``, their CASSISjuice IDs); an order without: 1
    zodi_scale: Mapping[str, float] = field(default_factory=dict)
    skies: tuple[str, ...] = ()
    wavelength: WavelengthZeroPoints = field(default_factory=WavelengthZeroPoints)
    wavecals: tuple[str, ...] = ()

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
        return _full_aperture(self.responses)

    def to_json(self) -> str:
        return json.dumps({
            "name": self.name,
            "standards": list(self.standards),
            "responses": [
                {"key": list(key), "order": r.order, "method": r.method,
                 "wavelength_um": r.wavelength_um.tolist(),
                 "counts_per_jy": r.counts_per_jy.tolist(), "n": r.n_observations,
                 "fractional_error": None if r.fractional_error is None
                 else r.fractional_error.round(6).tolist(),
                 "systematic_error": None if r.systematic_error is None
                 else r.systematic_error.round(6).tolist()}
                for key, r in sorted(self.responses.items())],
            "profiles": {name: p.to_dict() for name, p in sorted(self.profiles.items())},
            "zodi_scale": {o: round(v, 6) for o, v in sorted(self.zodi_scale.items())},
            "skies": list(self.skies),
            "wavelength_zero_points": self.wavelength.to_dict(),
            "wavecals": list(self.wavecals),
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
                                                 item.get("fractional_error")),
                                             _optional_array(item.get("systematic_error")))
                for item in data["responses"]}
            profiles = {str(name): SpatialProfile.from_dict(p)
                        for name, p in data.get("profiles", {}).items()}
            zodi_scale = {str(o): float(v) for o, v in data.get("zodi_scale", {}).items()}
            if not all(math.isfinite(v) and v > 0 for v in zodi_scale.values()):
                raise ValueError("a zodi_scale that is not a positive number")
            return cls(responses, tuple(data["standards"]), str(data["name"]), profiles,
                       zodi_scale, tuple(data.get("skies", ())),
                       WavelengthZeroPoints.from_dict(data.get("wavelength_zero_points", {})),
                       tuple(data.get("wavecals", ())))
        except (ValueError, KeyError, TypeError) as exc:
            raise CalibrationError(f"not a calibration file: {exc}") from exc


def _full_aperture(responses: Mapping[ResponseKey, Response]) -> dict[str, Response]:
    """HR order -> the full aperture's point-source response (no background, nods
    combined)."""
    return {o: r for (a, b, e, n, o), r in responses.items()
            if (a, b, e, n) == ("HR", "none", "fullap", "nodcomb")}


def _optional_array(values) -> np.ndarray | None:
    return None if values is None else np.asarray(values, float)


def is_standard(position: Position) -> bool:
    """A position observed as a flux-calibration standard (known standard-star name)."""
    return find_standard(position.object_name) is not None


def is_sky(position: Position) -> bool:
    """A blank-sky field of the calibration programme (``instrument.standards``)."""
    return is_sky_field(position.object_name)


def median_snr(counts: np.ndarray, errors: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = counts / errors
    ratio = ratio[np.isfinite(ratio)]
    return float(np.median(ratio)) if len(ratio) else math.nan


def derive_calibration(standards: Iterable[Position], irs: IRSModel | None = None,
                       reducers: Mapping[str, Callable[..., ArmResult]] | None = None,
                       skies: Iterable[Position] = (),
                       wavecals: Iterable[Position] = ()) -> Calibration:
    """Responses of every variant and order from the standard-star positions, the
    zodiacal light's scale in the HR full apertures from the blank-sky ones, and the
    wavelength zero points from the wavelength calibrator's."""
    irs = irs or default_model()
    standards = list(standards)
    for position in standards:
        if find_standard(position.object_name) is None:
            raise CalibrationError(f"{position.cj_id} ({position.object_name!r}) is not a "
                                   "known standard star")
    profiles: dict[str, SpatialProfile] = {}
    if reducers is None:
        reducers = arm_reducers()
        profiles = profiles_from(
            list(irs.modules.values()),
            (s for position in standards for arm in position.arms
             for s in _PROFILE_SAMPLERS[arm](position, irs)))
        irs = irs.with_profiles(profiles)
    observations: dict[ResponseKey, list[tuple[Extraction, object]]] = {}
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
                    if median_snr(ext.counts, ext.counts_error) < MIN_STANDARD_SNR:
                        continue
                    key = (arm, method.background, method.extraction, method.nods, ext.order)
                    observations.setdefault(key, []).append((ext, model))
        used.append(position.cj_id)
    responses = {key: derive_response(obs) for key, obs in observations.items()}
    if not responses:
        raise CalibrationError(f"no standard-star order above SNR {MIN_STANDARD_SNR:g} among "
                               f"{len(used)} standard position(s)")
    scale, sky_ids = _zodi_scale(list(skies), irs, reducers, responses)
    wavecals = list(wavecals)
    zero_points = measure_zero_points(wavecals, irs, reducers)
    return Calibration(responses, tuple(used), f"standards:{len(used)}", profiles, scale,
                       sky_ids, zero_points, tuple(p.cj_id for p in wavecals))


#: blank-sky fields an order's zodi scale needs at least (ZODY_EST is good to a few
#: per cent per pointing, and the zodiacal light's colour varies)
MIN_SKIES = 3
#: a field's order counts when its whole order measures the sky this well (the median
#: SNR of its samples times the square root of their number: SH samples of the faint
#: zodiacal light at high ecliptic latitude have SNR 3-6 each, 40-70 as an order)
MIN_SKY_ORDER_SNR = 30.0


def _zodi_scale(skies: list[Position], irs: IRSModel, reducers, responses
                ) -> tuple[dict[str, float], tuple[str, ...]]:
    """Per HR order, the median over blank-sky fields of the median over the order of
    the full aperture's counts over those ``highres.zodi_counts`` predicts from ZODY_EST
    and the SSC's slit-loss model: how a uniform sky really fills the slit, which the
    standard stars (point sources) cannot tell. Fields whose order is too faint
    (``MIN_SKY_ORDER_SNR``) or lacks ZODY_EST do not count."""
    full = _full_aperture(responses)
    ratios: dict[str, list[float]] = {}
    used = []
    for position in skies:
        if "HR" not in position.arms:
            continue
        result = reducers["HR"](position, irs=irs)
        for method in result.variants:
            if (method.background, method.extraction, method.nods) != (
                    "none", "fullap", "nodcomb"):
                continue
            for ext in method.orders:
                module = irs.module(irs.order(ext.order).module)
                estimate = zody_est(position.dces, module.name)
                response = full.get(ext.order)
                if (estimate is None or response is None or median_snr(
                        ext.counts, ext.counts_error) * math.sqrt(len(ext.counts))
                        < MIN_SKY_ORDER_SNR):
                    continue
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = ext.counts / zodi_counts(module, ext, estimate, response)
                ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
                if len(ratio) >= 5:
                    ratios.setdefault(ext.order, []).append(float(np.median(ratio)))
        used.append(position.cj_id)
    return ({order: float(np.median(v)) for order, v in sorted(ratios.items())
             if len(v) >= MIN_SKIES}, tuple(used))


@dataclass(frozen=True)
class _ThroughSlit:
    """A standard star's model times the cross-slit transmission of the nods' pointing
    (``steps.pointing``): what a point-source extraction of it holds, so that the
    responses are those of a centred source."""

    star: StandardStar
    irs: IRSModel
    order: str
    offsets: CrossSlitOffsets

    @property
    def name(self) -> str:
        return self.star.name

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

    @property
    def name(self) -> str:
        return self.star.name

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
