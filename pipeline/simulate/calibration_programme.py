"""The calibration programme's AORs besides the standard stars: blank-sky fields and the
wavelength calibrator.

* Blank-sky fields (``IRS sky field NN``): SH and LH on the zodiacal light alone, from which
  the reduction learns how a uniform sky fills the HR slits.
* The wavelength calibrator (``pipeline.instrument.standards.WAVELENGTH_CALIBRATORS``, a
  planetary nebula of bright narrow lines at a known velocity), observed with every module
  once in every campaign of the mission: the true instrument's wavelength zero point
  moves from campaign to campaign (``true_instrument.wavelength_offset_px``), and the
  reduction measures it there.

Both are drawn apart from the science plans' random numbers, so adding them changes no
other AOR.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pipeline.instrument.standards import (
    C_KM_S,
    SKY_FIELD_PREFIX,
    WAVELENGTH_CALIBRATORS,
    WavelengthCalibrator,
)

from . import observe
from .morphology import Morphology
from .sample import Target
from .sky import LINES, PLANETARY_NEBULA, EmissionLine, SourceSpectrum

__all__ = ["SKY_FIELD_AORKEY", "WAVELENGTH_CALIBRATOR_AORKEY", "plan_sky_fields",
           "plan_wavelength_calibrators", "wavelength_calibrator_spectrum"]

#: AOR keys of the simulated blank-sky fields (below the synthetic targets' 40,000,000)
SKY_FIELD_AORKEY = 39_000_000
#: AOR keys of the wavelength calibrator's AORs, plus the CAMPAIGN number
WAVELENGTH_CALIBRATOR_AORKEY = 38_000_000
#: integrated fluxes (W m^-2) of the calibrator's lines as simulated: a high-excitation
#: nebula whose lines stand far above the continuum in every module
_CALIBRATOR_LINES_W_M2 = {
    "[ArII] 6.99": 1.0e-15, "[NeVI] 7.65": 1.5e-15, "[ArIII] 8.99": 6.0e-15,
    "[SIV] 10.51": 2.0e-14, "[NeII] 12.81": 4.0e-15, "[NeV] 14.32": 3.0e-15,
    "[NeIII] 15.56": 3.0e-14, "[SIII] 18.71": 8.0e-15, "[ArIII] 21.83": 1.0e-15,
    "[NeV] 24.32": 3.0e-15, "[OIV] 25.89": 8.0e-15, "[SIII] 33.48": 6.0e-15,
    "[NeIII] 36.01": 3.0e-15, "HI 7-6": 4.0e-16,
}


def plan_sky_fields(n: int, seed: int, exposures: bool) -> list[observe.AORPlan]:
    """``n`` blank fields anywhere on the sky (so their zodiacal light spans the ecliptic
    latitudes), observed with SH and LH at the longest ramps."""
    rng = np.random.default_rng([seed, 4029])
    return [_sky_field(k, rng, exposures, seed) for k in range(n)]


def _sky_field(k: int, rng: np.random.Generator, exposures: bool, seed: int
               ) -> observe.AORPlan:
    ra, dec = float(rng.uniform(0.0, 360.0)), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
    blank = SourceSpectrum("stellar_photosphere", 0.0, 0.0, stellar_weight=1.0)
    target = Target(SKY_FIELD_AORKEY + k, f"{SKY_FIELD_PREFIX} {k + 1:02d}", ra, dec,
                    "stellar_photosphere", "point", 0.0, blank, is_real_target=False,
                    program_id=observe.CALIBRATION_PROGRAM, morphology=Morphology.point())
    plan = observe.plan_aor([target], False, 0.0, rng, exposures, 0.0, seed,
                             modules=("SH", "LH"))
    return replace(plan, progid=observe.CALIBRATION_PROGRAM, aorlabel=f"calsky-{k + 1:02d}")


def wavelength_calibrator_spectrum(calibrator: WavelengthCalibrator) -> SourceSpectrum:
    """The calibrator's spectrum as the simulator renders it: warm dust and the lines of
    :data:`_CALIBRATOR_LINES_W_M2` at the calibrator's velocity."""
    lines = tuple(EmissionLine(name, LINES[name], flux)
                  for name, flux in _CALIBRATOR_LINES_W_M2.items())
    return SourceSpectrum(PLANETARY_NEBULA, calibrator.velocity_km_s / C_KM_S, 0.5,
                          dust=((130.0, 0.9), (350.0, 0.1)), lines=lines)


def plan_wavelength_calibrators(seed: int, exposures: bool) -> list[observe.AORPlan]:
    """One AOR of the wavelength calibrator with SL, LL, SH and LH in every campaign of the
    mission, at a random date within it."""
    rng = np.random.default_rng([seed, 4031])
    calibrator = WAVELENGTH_CALIBRATORS[0]
    spectrum = wavelength_calibrator_spectrum(calibrator)
    plans = []
    for number in observe.campaign_numbers():
        start, end = observe.campaign_span(number)
        mjd = float(rng.uniform(start + 0.1 * (end - start), end - 0.2 * (end - start)))
        target = Target(WAVELENGTH_CALIBRATOR_AORKEY + number, calibrator.name,
                        calibrator.ra_deg, calibrator.dec_deg, PLANETARY_NEBULA, "point", 0.0,
                        spectrum, is_real_target=False, program_id=observe.CALIBRATION_PROGRAM,
                        morphology=Morphology.point())
        plan = observe.plan_aor([target], False, 0.0, rng, exposures, 0.0, seed,
                                 modules=("SL", "LL", "SH", "LH"), mjd_start=mjd)
        plans.append(replace(plan, progid=observe.CALIBRATION_PROGRAM,
                             aorlabel=f"calwave-{plan.campaign}"))
    return plans
