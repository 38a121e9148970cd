"""IRS flux-calibration standard stars and their model spectra.

The SSC calibrated IRS against model photospheres of standard stars (HR 7341 for low
resolution, with HR 6606, HD 173511, alpha Lac, ksi Dra, HD 163466 among the others,
irs.md 1.8). The public model SEDs (Decin et al.) are not available to us, so this module
defines the analytic models the project uses for both sides of the calibration: the
simulator renders standard-star AORs from them and the reduction derives its relative
spectral response by dividing its extractions of those AORs by the same models. The
10 um flux densities below are the values adopted for those models, not literature
photometry.

Model: a Rayleigh-Jeans photosphere F_nu = F_10 (10 um / lambda)^2, times, for K and M
giants, the absorption of the SiO fundamental band (a Gaussian dip centred at 8.0 um,
FWHM 1.2 um, depth growing with lateness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SKY_FIELD_PREFIX", "STANDARD_STARS", "WAVELENGTH_CALIBRATORS", "StandardStar",
           "WavelengthCalibrator", "find_standard", "find_wavelength_calibrator",
           "is_sky_field", "standard_flux_jy"]

#: OBJECT of the calibration programme's blank-sky AORs at high resolution (fields free of
#: sources, observed for the zodiacal light alone), followed by a number
SKY_FIELD_PREFIX = "IRS sky field"

#: the speed of light, km/s
C_KM_S = 299792.458


@dataclass(frozen=True)
class WavelengthCalibrator:
    """A source of bright, narrow emission lines at a known velocity, observed once in
    every campaign to fix the wavelength zero point of each module (a pipeline of the
    real archive calibrates its wavelengths on emission-line sources in the same way):
    name, position (ICRS deg) and heliocentric radial velocity (km/s). Its lines are
    found in the data; their rest wavelengths come from the reduction's line list
    (``pipeline.features.catalogue``)."""

    name: str
    ra_deg: float
    dec_deg: float
    velocity_km_s: float

    def observed_um(self, rest_um):
        """Where a line of rest wavelength ``rest_um`` (um) appears."""
        return np.asarray(rest_um, float) * (1.0 + self.velocity_km_s / C_KM_S)


#: the planetary nebula NGC 6543 (velocity adopted for the project: -66.1 km/s)
WAVELENGTH_CALIBRATORS: tuple[WavelengthCalibrator, ...] = (
    WavelengthCalibrator("NGC 6543", 269.63925, 66.63319, -66.1),
)


def is_sky_field(object_name: str) -> bool:
    """Whether an AOR's OBJECT names one of the calibration programme's blank-sky fields."""
    return str(object_name).strip().startswith(SKY_FIELD_PREFIX)


@dataclass(frozen=True)
class StandardStar:
    """A calibration star: identification, position (ICRS deg) and model parameters."""

    name: str
    ra_deg: float
    dec_deg: float
    spectral_type: str
    flux_10um_jy: float
    sio_depth: float

    def flux_jy(self, wavelength_um: np.ndarray) -> np.ndarray:
        """The model spectrum, F_nu in Jy at the given wavelengths (um)."""
        return standard_flux_jy(wavelength_um, self.flux_10um_jy, self.sio_depth)


def standard_flux_jy(wavelength_um, flux_10um_jy: float, sio_depth: float) -> np.ndarray:
    """Model photosphere of a standard star (see the module docstring)."""
    lam = np.asarray(wavelength_um, float)
    sigma = 1.2 / 2.3548200450309493
    band = 1.0 - sio_depth * np.exp(-0.5 * ((lam - 8.0) / sigma) ** 2)
    return flux_10um_jy * (10.0 / lam) ** 2 * band


STANDARD_STARS: tuple[StandardStar, ...] = (
    StandardStar("HR 7341", 290.6577, 66.1806, "K1III", 1.55, 0.025),
    StandardStar("HD 173511", 280.41377, 61.546739, "K5III", 0.62, 0.045),
    StandardStar("HR 6606", 265.0011, 46.0069, "G9III", 1.20, 0.020),
    StandardStar("alp Lac", 337.82051, 50.284642, "A1V", 1.65, 0.0),
    StandardStar("ksi Dra", 268.3822, 56.8726, "K2III", 8.90, 0.030),
    StandardStar("HD 163466", 268.0000, 60.3972, "A2", 0.045, 0.0),
    StandardStar("eta1 Dor", 91.5384, -66.0397, "A0V", 0.040, 0.0),
)


def find_wavelength_calibrator(name: str) -> WavelengthCalibrator | None:
    """The wavelength calibrator of that OBJECT name (case and blank insensitive), or None."""
    key = name.replace(" ", "").lower()
    return next((c for c in WAVELENGTH_CALIBRATORS
                 if c.name.replace(" ", "").lower() == key), None)


def find_standard(name: str) -> StandardStar | None:
    """The standard of that name (case and blank insensitive), or None."""
    key = name.replace(" ", "").lower()
    for star in STANDARD_STARS:
        if star.name.replace(" ", "").lower() == key:
            return star
    return None
