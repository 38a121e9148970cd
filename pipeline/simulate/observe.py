"""Observation planning: staring-mode AORs, their pointings, nods, cycles and exposures.

An AOR (Astronomical Observation Request, key AORKEY) observes one position (single target)
or several (cluster target, one pointing each) with one or more modules. For each pointing,
module, targeted sub-slit and nod position the spacecraft makes one pointing (one EXPID)
during which the array takes ``cycles`` ramps (DCEs). EXPIDs run through the AOR in that
order after the two peak-up acquisition images (EXPID 0 and 1, not simulated), as in real
IRS AORs where the module and nod must be read from CHNLNUM and FOVID, not from EXPID
(irs.md 2.1, 2.4).

The planner also decides the things that make real data hard: the spacecraft roll, the
pointing errors of each EXPID, faint or bright targets (ramp time and cycles), standard-star
AORs for the flux calibration, cluster AORs, and contaminating sources placed where they
fall in an offset nod or in the other sub-slit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from pipeline.instrument import default_model
from pipeline.instrument.astrometry import focal_to_sky_offset, offset_position
from pipeline.instrument.standards import STANDARD_STARS, find_standard

from . import calibration_programme
from ._draws import uniforms
from .morphology import Morphology
from .sample import Target
from .sky import SourceSpectrum, make_spectrum
from .true_instrument import true_standard_spectrum

__all__ = [
    "AORPlan",
    "Exposure",
    "ModuleSetup",
    "Pointing",
    "SkySource",
    "campaign_for",
    "plan_aor",
    "plan_observations",
]

log = logging.getLogger(__name__)

RAMPTIMES_S = (6.29, 14.68, 31.46, 60.95, 121.9)
#: module order within an AOR, and the targeted sub-slits of each (second order first)
MODULE_SEQUENCE = {"SL": ("SL2", "SL1"), "LL": ("LL2", "LL1"), "SH": ("SH",), "LH": ("LH",)}
CALIBRATION_PROGRAM = 1462
#: standard stars fainter than this at 15 um (Jy) are observed at low resolution only
HR_STANDARD_MIN_JY = 0.1
#: 1-sigma pointing error per axis after a high-accuracy peak-up, arcsec
POINTING_SIGMA_ARCSEC = 0.35
#: start of IRS science operations and end of the cryogenic mission (MJD)
MISSION_MJD = (53080.0, 54960.0)


@dataclass(frozen=True)
class SkySource:
    """Any source on the sky near an AOR: a target, a contaminant or a neighbour.

    ``fwhm_arcsec`` is the intrinsic FWHM of the whole source; ``morphology`` its shape
    (None: a Gaussian of that FWHM, a point if 0).
    """

    ra_deg: float
    dec_deg: float
    spectrum: SourceSpectrum
    fwhm_arcsec: float
    role: str
    note: str = ""
    morphology: Morphology | None = None

    @cached_property
    def shape(self) -> Morphology:
        """The source's shape (its morphology, or the Gaussian of its FWHM)."""
        return self.morphology or Morphology.gaussian(self.fwhm_arcsec)

    def to_dict(self) -> dict:
        return {
            "ra_deg": self.ra_deg, "dec_deg": self.dec_deg, "fwhm_arcsec": self.fwhm_arcsec,
            "role": self.role, "note": self.note, "morphology": self.shape.to_dict(),
            "half_light_radius_arcsec": self.shape.half_light_radius_arcsec,
            "spectrum": self.spectrum.to_dict(),
        }


@dataclass(frozen=True)
class Pointing:
    """One targeted position of an AOR; its CASSISjuice ID is ``<AORKEY>_<index>``.

    The requested position (what the observer typed) differs from the true source position
    by a small catalogue error, ``source_offset_arcsec`` (xi, eta).
    """

    index: int
    target: Target
    ra_rqst_deg: float
    dec_rqst_deg: float
    source: SkySource
    contaminants: tuple[SkySource, ...] = ()
    contaminated: tuple[str, ...] = ()
    neighbours: tuple[SkySource, ...] = ()

    @property
    def cj_id(self) -> str:
        return f"{self.target.aorkey}_{self.index}"


@dataclass(frozen=True)
class ModuleSetup:
    module: str
    ramptime_s: float
    cycles: int


@dataclass(frozen=True)
class Exposure:
    """One DCE: a ramp of one module with the target in one sub-slit at one nod."""

    expid: int
    dcenum: int
    pointing: int
    module: str
    subslit: str
    nod: int
    ramptime_s: float
    mjd_obs: float
    n_dce: int
    pointing_error_arcsec: tuple[float, float]


@dataclass(frozen=True)
class AORPlan:
    """Everything about one AOR the simulator needs to write its exposures."""

    aorkey: int
    object_name: str
    objtype: str
    exptype: str
    progid: int
    aorlabel: str
    roll_deg: float
    zodi_scale: float
    campaign: str
    irs_campaign: int
    cal_set: str
    standard: bool
    pointings: tuple[Pointing, ...]
    setups: tuple[ModuleSetup, ...]
    exposures: tuple[Exposure, ...] = field(default=())
    #: the simulated instrument observing (``true_instrument.wavelength_offset_px``): the
    #: run's seed, or the science run's that a calibration campaign calibrates
    instrument: int = 0

    @property
    def sources(self) -> tuple[SkySource, ...]:
        out: list[SkySource] = []
        for p in self.pointings:
            out.append(p.source)
            out.extend(p.contaminants)
            out.extend(p.neighbours)
        return tuple(out)


#: the CAMPAIGN keyword's numbering: its number at an epoch (MJD) and days per step
_CAMPAIGN_EPOCH = (39, 53301.76)
_CAMPAIGN_DAYS = 22.6


def campaign_span(number: int) -> tuple[float, float]:
    """The dates (MJD, start and end) that carry CAMPAIGN number ``number`` within the
    mission (:func:`campaign_for`); empty (start >= end) outside it."""
    code, epoch = _CAMPAIGN_EPOCH
    start = epoch + (number - code - 0.5) * _CAMPAIGN_DAYS
    return max(start, MISSION_MJD[0]), min(start + _CAMPAIGN_DAYS, MISSION_MJD[1])


def campaign_numbers() -> range:
    """Every CAMPAIGN number of the mission."""
    return range(_campaign_number(MISSION_MJD[0]), _campaign_number(MISSION_MJD[1]) + 1)


def _campaign_number(mjd: float) -> int:
    code, epoch = _CAMPAIGN_EPOCH
    return round(code + (mjd - epoch) / _CAMPAIGN_DAYS)


def campaign_for(mjd: float) -> tuple[str, int, str]:
    """(CAMPAIGN keyword, IRS campaign number, CAL_SET) for a date.

    The CAMPAIGN keyword counts about one step per 22.6 days (IRSX003900 in October 2004,
    IRSX011200 in May 2009 in real headers); the IRS campaign number used by the cal-set
    eras (PRE25, C25TO32, C33TO44, POST44; irs.md 1.8) runs from 1 in spring 2004.
    """
    code = _campaign_number(mjd)
    irs = max(1, int(1 + (mjd - MISSION_MJD[0]) / 23.5))
    if irs <= 24:
        era = "PRE25"
    elif irs <= 32:
        era = "C25TO32"
    elif irs <= 44:
        era = "C33TO44"
    else:
        era = "POST44"
    return f"IRSX{code:04d}00", irs, f"C18.18{era}.A"


def _ramp_and_cycles(flux_jy: float, module: str, rng: np.random.Generator):
    hr = module in ("SH", "LH")
    level = flux_jy / (10.0 if hr else 1.0)  # high resolution needs ~10x more flux
    if level > 1.0:
        ramp = 6.29
    elif level > 0.2:
        ramp = 14.68
    elif level > 0.05:
        ramp = 31.46
    elif level > 0.01:
        ramp = 60.95
    else:
        ramp = 121.9
    cycles = 1 + _pick(rng, _FAINT_CYCLES if level < 0.05 else _BRIGHT_CYCLES)
    return ramp, cycles


#: cumulative probabilities of 1, 2 or 3 cycles (faint, bright sources) and of the LR and
#: HR module pairs (both, the short one, the long one)
_FAINT_CYCLES = np.cumsum([0.5, 0.35, 0.15])
_BRIGHT_CYCLES = np.cumsum([0.7, 0.25, 0.05])
_LR_PAIRS = (("SL", "LL"), ("SL",), ("LL",))
_LR_PAIR_CDF = np.cumsum([0.75, 0.1, 0.15])
_HR_PAIRS = (("SH", "LH"), ("SH",), ("LH",))
_HR_PAIR_CDF = np.cumsum([0.8, 0.15, 0.05])


def _pick(rng: np.random.Generator, cdf: np.ndarray) -> int:
    """Index drawn with the probabilities whose cumulative sums are ``cdf``: the very draw
    ``rng.choice(n, p=...)`` makes (one uniform, searched in the normalised cdf), without
    its per-call overhead."""
    return int(np.searchsorted(cdf / cdf[-1], rng.random(), side="right"))


def _choose_modules(target: Target, rng: np.random.Generator, standard: bool) -> tuple[str, ...]:
    flux = target.spectrum.flux_15um_jy
    if standard:
        # the SSC's faint standards (eta1 Dor, HD 163466: tens of mJy) calibrated the low
        # resolution modules only; at high resolution they would give no usable signal
        return ("SL", "LL") if flux < HR_STANDARD_MIN_JY else ("SL", "LL", "SH", "LH")
    want_hr = rng.random() < (0.15 if flux < 0.05 else 0.45)
    want_lr = (not want_hr) or rng.random() < 0.6
    modules: list[str] = []
    if want_lr:
        modules += _LR_PAIRS[_pick(rng, _LR_PAIR_CDF)]
    if want_hr:
        modules += _HR_PAIRS[_pick(rng, _HR_PAIR_CDF)]
    return tuple(modules)


def _as_standard(target: Target, rng: np.random.Generator) -> Target:
    star = find_standard(target.object_name)
    if star is None:
        star = STANDARD_STARS[int(rng.integers(len(STANDARD_STARS)))]
    # the star as it really is: its template times a smooth 1-3 % deviation
    spectrum = true_standard_spectrum(star)
    return replace(
        target, object_name=star.name, ra_deg=star.ra_deg, dec_deg=star.dec_deg,
        spectral_class="standard_star", extent="point", fwhm_arcsec=0.0, spectrum=spectrum,
        morphology=Morphology.point(),
    )


def _contaminant(pointing_target: Target, roll_deg: float, setups, rng) -> tuple[SkySource, str]:
    """A point source placed where it spoils one background method of one sub-slit."""
    irs = default_model()
    lr = [s.module for s in setups if s.module in ("SL", "LL")]
    module = irs.module(str(rng.choice(lr)))
    names = list(module.subslits)
    this = names[int(rng.integers(len(names)))]
    sub = module.subslits[this]
    kind = "bynod" if rng.random() < 0.6 else "byorder"
    if kind == "bynod":
        # seen at the nod-1 position during the nod-2 exposure: spoils nod 1's by-nod sky
        focal = (sub.nod_fraction[1] - sub.nod_fraction[2]) * module.slit_length_arcsec * sub.axis
        spoiled = f"{this}:bynod"
    else:
        other = module.subslits[next(n for n in names if n != this)]
        f = sub.nod_fraction[1]
        here = sub.centre_arcsec + (f - 0.5) * module.slit_length_arcsec * sub.axis
        there = other.centre_arcsec + (f - 0.5) * module.slit_length_arcsec * other.axis
        focal = there - here
        spoiled = f"{other.name}:byorder"
    xi, eta = focal_to_sky_offset(focal[0], focal[1], roll_deg)
    ra, dec = offset_position(pointing_target.ra_deg, pointing_target.dec_deg, xi, eta)
    flux = pointing_target.spectrum.flux_15um_jy * float(rng.uniform(0.3, 2.0))
    spectrum = make_spectrum(
        str(rng.choice(["stellar_photosphere", "pah_galaxy", "dusty_evolved_star"])), rng,
        flux_15um_jy=max(flux, 1e-3),
    )
    return SkySource(float(ra), float(dec), spectrum, 0.0, "contaminant", spoiled), spoiled


def _neighbour(target: Target, roll_deg: float, setups, rng) -> SkySource:
    """A second source inside the slit: along the slit of one of the AOR's modules (LR
    preferred, their slits being long), 3-30" from the target, its 15 um continuum 3-100 %
    of the target's 15 um flux (log-uniform); a point (70 %) or a compact Gaussian of
    1-4" FWHM."""
    irs = default_model()
    names = [s.module for s in setups if s.module in ("SL", "LL")] or [
        s.module for s in setups]
    module = irs.module(names[int(rng.integers(len(names)))])
    axis = next(iter(module.subslits.values())).axis
    distance = float(rng.uniform(3.0, 30.0)) * (1.0 if rng.random() < 0.5 else -1.0)
    xi, eta = focal_to_sky_offset(distance * axis[0], distance * axis[1], roll_deg)
    ra, dec = offset_position(target.ra_deg, target.dec_deg, xi, eta)
    ratio = float(np.exp(rng.uniform(np.log(0.03), 0.0)))
    spectrum = make_spectrum(
        str(rng.choice(["stellar_photosphere", "pah_galaxy", "dusty_evolved_star",
                        "embedded_yso"])), rng,
        flux_15um_jy=max(target.spectrum.flux_15um_jy * ratio, 1e-4))
    fwhm = 0.0 if rng.random() < 0.7 else float(rng.uniform(1.0, 4.0))
    return SkySource(float(ra), float(dec), spectrum, fwhm, "neighbour",
                     f"{module.name} slit", Morphology.gaussian(fwhm))


def _source_of(target: Target, rng) -> tuple[SkySource, float, float]:
    """The true source of a target and the requested position (catalogue error applied)."""
    xi, eta = rng.normal(0.0, 0.3, 2)
    ra_rq, dec_rq = offset_position(target.ra_deg, target.dec_deg, xi, eta)
    source = SkySource(target.ra_deg, target.dec_deg, target.spectrum, target.fwhm_arcsec,
                       "target", morphology=target.morphology)
    return source, float(ra_rq), float(dec_rq)


def _exposures(plan: AORPlan, mjd_start: float, rng: np.random.Generator,
               wanted: bool = True) -> tuple[Exposure, ...]:
    out: list[Exposure] = []
    expid = 1  # EXPID 0 and 1 are the peak-up acquisition
    mjd = mjd_start
    n_nods = 2 * len(plan.pointings) * sum(len(MODULE_SEQUENCE[s.module]) for s in plan.setups)
    # every nod's pointing error in one draw (the same numbers as one draw per nod)
    drawn = rng.normal(0.0, POINTING_SIGMA_ARCSEC, (n_nods, 2))
    if not wanted:
        return ()
    errors = iter(drawn.tolist())
    for pointing in plan.pointings:
        for setup in plan.setups:
            for subslit in MODULE_SEQUENCE[setup.module]:
                for nod in (1, 2):
                    expid += 1
                    error = tuple(next(errors))
                    mjd += 40.0 / 86400.0  # settle after the nod
                    for dce in range(setup.cycles):
                        out.append(Exposure(
                            expid, dce, pointing.index, setup.module, subslit, nod,
                            setup.ramptime_s, mjd, setup.cycles, error,
                        ))
                        mjd += (setup.ramptime_s + 6.29) / 86400.0
    return tuple(out)


def plan_observations(targets: list[Target], seed: int, *,
                      cluster_fraction: float = 0.06,
                      contaminated_fraction: float = 0.08,
                      neighbour_fraction: float = 0.1,
                      min_standards: int = 2, exposures: bool = True,
                      skies: int = 0, wavecals: bool = False,
                      instrument: int | None = None) -> list[AORPlan]:
    """Group targets into AORs and plan every exposure.

    Parameters
    ----------
    targets : list of Target
        The positions to observe (from :func:`pipeline.simulate.sample.sky_sample`); each
        becomes one pointing, so the atlas has exactly ``len(targets)`` positions.
    seed : int
        Same seed and targets give the same plan.
    cluster_fraction : float
        Fraction of AORs that become cluster AORs (2-4 pointings, neighbours moved to lie
        within 20"-240" of the first).
    contaminated_fraction : float
        Fraction of single LR pointings given a contaminating source.
    neighbour_fraction : float
        Fraction of single science pointings given a second source inside the slit
        (drawn apart from ``rng``, so the other draws do not change).
    min_standards : int
        Standard-star AORs to include at least (targets converted if the sample has fewer).
    exposures : bool
        ``False`` leaves ``AORPlan.exposures`` empty (the products level renders no
        exposure); the random draws are the same, so the plans are otherwise identical.
    skies : int
        Blank-sky AORs of the calibration programme to add (SH and LH, no source: the
        zodiacal light alone, from which the reduction learns how a uniform sky fills the
        HR slits), drawn apart from ``rng``, so the other plans do not change.
    wavecals : bool
        Add the calibration programme's wavelength calibrator, a planetary nebula with
        bright narrow lines, observed with every module once in every campaign of the
        mission (``calibration_programme``), also drawn apart.
    instrument : int, optional
        The simulated instrument that observes (its per-campaign wavelength zero points):
        ``seed`` when not given; a calibration campaign takes the science run's.
    """
    rng = np.random.default_rng([seed, 4021])
    targets = list(targets)
    n_standard = sum(t.spectral_class == "standard_star" for t in targets)
    for k in range(len(targets)):
        if n_standard >= min_standards:
            break
        if targets[k].spectral_class != "standard_star":
            targets[k] = replace(targets[k], spectral_class="standard_star")
            n_standard += 1

    plans = []
    i = 0
    while i < len(targets):
        first = targets[i]
        standard = first.spectral_class == "standard_star"
        members = [first]
        if not standard and rng.random() < cluster_fraction:
            size = int(rng.integers(2, 5))
            while len(members) < size and i + len(members) < len(targets):
                extra = targets[i + len(members)]
                if extra.spectral_class == "standard_star":
                    break
                r = rng.uniform(20.0, 240.0)
                theta = rng.uniform(0.0, 2 * np.pi)
                ra, dec = offset_position(first.ra_deg, first.dec_deg,
                                          r * np.sin(theta), r * np.cos(theta))
                members.append(replace(extra, ra_deg=float(ra), dec_deg=float(dec),
                                       aorkey=first.aorkey))
        i += len(members)
        if standard:
            members = [_as_standard(first, rng)]
        plans.append(plan_aor(members, standard, contaminated_fraction, rng, exposures,
                               neighbour_fraction, seed))
    plans += calibration_programme.plan_sky_fields(skies, seed, exposures)
    if wavecals:
        plans += calibration_programme.plan_wavelength_calibrators(seed, exposures)
    log.info("planned %d AORs", len(plans))
    instrument = seed if instrument is None else int(instrument)
    return [replace(plan, instrument=instrument) for plan in plans]


def plan_aor(members: list[Target], standard: bool, contaminated_fraction: float,
              rng: np.random.Generator, exposures: bool = True,
              neighbour_fraction: float = 0.0, seed: int = 0,
              modules: tuple[str, ...] | None = None,
              mjd_start: float | None = None) -> AORPlan:
    """One AOR of ``members`` (its first the AOR's target): roll, start date (``mjd_start``
    when given), modules, ramps, pointings with their contaminants and neighbours, and
    the exposures; the calibration programme plans its fields and calibrator with it."""
    first = members[0]
    roll = float(rng.uniform(0.0, 360.0))
    drawn_start = float(rng.uniform(*MISSION_MJD))  # drawn even when given: the same
    mjd_start = drawn_start if mjd_start is None else float(mjd_start)  # draws follow
    campaign, irs_campaign, cal_set = campaign_for(mjd_start)
    modules = modules or _choose_modules(first, rng, standard)
    brightest = max(t.spectrum.flux_15um_jy for t in members)
    setups = tuple(ModuleSetup(m, *_ramp_and_cycles(brightest, m, rng)) for m in modules)
    pointings = []
    for index, target in enumerate(members):
        source, ra_rq, dec_rq = _source_of(target, rng)
        contaminants: tuple[SkySource, ...] = ()
        spoiled: tuple[str, ...] = ()
        lr = any(s.module in ("SL", "LL") for s in setups)
        if len(members) == 1 and not standard and lr and rng.random() < contaminated_fraction:
            cont, what = _contaminant(target, roll, setups, rng)
            contaminants, spoiled = (cont,), (what,)
        neighbours: tuple[SkySource, ...] = ()
        if len(members) == 1 and not standard and (
                uniforms(seed, 4023, first.aorkey, index)[0] < neighbour_fraction):
            own = np.random.default_rng([int(seed), 4023, first.aorkey, index])
            neighbours = (_neighbour(target, roll, setups, own),)
        pointings.append(Pointing(index, target, ra_rq, dec_rq, source, contaminants, spoiled,
                                  neighbours))
    plan = AORPlan(
        aorkey=first.aorkey,
        object_name=first.object_name,
        objtype="TargetFixedCluster" if len(members) > 1 else "TargetFixedSingle",
        exptype="sfx" if standard else "sp",
        progid=CALIBRATION_PROGRAM if standard else first.program_id,
        aorlabel=(f"calsfx-{first.object_name.replace(' ', '')}" if standard
                  else f"IRSS-{first.aorkey % 10000:04d}"),
        roll_deg=roll,
        zodi_scale=float(rng.uniform(0.85, 1.15)),
        campaign=campaign,
        irs_campaign=irs_campaign,
        cal_set=cal_set,
        standard=standard,
        pointings=tuple(pointings),
        setups=setups,
    )
    return replace(plan, exposures=_exposures(plan, mjd_start, rng, exposures))
