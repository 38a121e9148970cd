"""Model mid-infrared spectra of the sources the simulator puts on the sky.

A :class:`SourceSpectrum` is an analytic, deterministic F_nu(lambda) made of

* a continuum built in the rest frame from up to three shapes, each normalised to 1 at
  15 um rest and weighted: a Rayleigh-Jeans photosphere with the SiO 8 um band of
  :mod:`pipeline.instrument.standards`, modified blackbodies B_nu(T) (lambda0/lambda)^beta,
  and a power law F_nu ~ lambda^index;
* broad dust emission multiplying the non-stellar part: amorphous silicate (9.7 and 18 um)
  and SiC (11.3 um);
* a foreground absorbing screen exp(-tau) of amorphous silicate and ices (H2O 6.0 um,
  6.85 um band, H2O libration ~13 um, CO2 15.2 um), applied to continuum and PAH bands;
* PAH bands as Drude profiles with the Smith et al. (2007) centres and widths (irs.md 5.4);
* unresolved emission lines (fine-structure, H2, HI; irs.md 5.1-5.3) as Gaussians whose
  FWHM is lambda / R.

The whole continuum is scaled so that its observed F_nu at 15 um, leaving out the ice
bands (CO2 at 15.2 um would otherwise set the level), equals ``continuum_15um_jy``:
redshifting is lambda_rest = lambda / (1 + z) and the (1 + z) flux factor is absorbed by
that normalisation. PAH peaks are in Jy (observed frame, before
the screen); line fluxes are the observed integrated fluxes in W m^-2 and are *not*
attenuated, so they are what a line fit should return.

The silicate and ice profiles are simple analytic stand-ins (asymmetric Gaussian for the
9.7 um band, Drude for 18 um with 0.4 of the 9.7 um peak and FWHM 0.247 x 18 um as in
irs.md 5.5, Gaussians for the ices); they reproduce positions and widths, not laboratory
shapes. :func:`make_spectrum` draws plausible parameters per spectral class (see
:mod:`pipeline.simulate._sky_recipes`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from pipeline.instrument.standards import standard_flux_jy

__all__ = [
    "AGN",
    "DEFAULT_RESOLVING_POWER",
    "DUSTY_EVOLVED_STAR",
    "EMBEDDED_YSO",
    "HII_REGION",
    "ICE_BANDS",
    "LINES",
    "PAH_BANDS",
    "PAH_GALAXY",
    "PLANETARY_NEBULA",
    "SPECTRAL_CLASSES",
    "STANDARD_STAR",
    "STELLAR_PHOTOSPHERE",
    "EmissionLine",
    "SourceSpectrum",
    "make_spectrum",
    "silicate_profile",
    "standard_star_spectrum",
]

log = logging.getLogger(__name__)

STELLAR_PHOTOSPHERE = "stellar_photosphere"
DUSTY_EVOLVED_STAR = "dusty_evolved_star"
PAH_GALAXY = "pah_galaxy"
AGN = "agn"
EMBEDDED_YSO = "embedded_yso"
HII_REGION = "hii_region"
PLANETARY_NEBULA = "planetary_nebula"
STANDARD_STAR = "standard_star"

#: every spectral class the sky model knows
SPECTRAL_CLASSES: tuple[str, ...] = (
    STELLAR_PHOTOSPHERE, DUSTY_EVOLVED_STAR, PAH_GALAXY, AGN, EMBEDDED_YSO, HII_REGION,
    PLANETARY_NEBULA, STANDARD_STAR,
)

#: the most negative redshift accepted (-3,000 km/s: a Galactic source's blueshift)
MIN_REDSHIFT = -0.01
#: resolving power of the lines when none is given (narrow, unresolved)
DEFAULT_RESOLVING_POWER = 3000.0

#: rest vacuum wavelengths (um): MPE ISO fine-structure list, H2 0-0 (Black & van
#: Dishoeck 1988) and HI (irs.md 5.1-5.3)
LINES: dict[str, float] = {
    "[FeII] 5.34": 5.340169,
    "[MgVII] 5.50": 5.5032,
    "[MgV] 5.61": 5.60985,
    "[ArII] 6.99": 6.985274,
    "[NeVI] 7.65": 7.6524,
    "[ArV] 7.90": 7.9016,
    "[ArIII] 8.99": 8.99138,
    "[SIV] 10.51": 10.5105,
    "[NeII] 12.81": 12.81355,
    "[ArV] 13.10": 13.1022,
    "[NeV] 14.32": 14.3217,
    "[NeIII] 15.56": 15.5551,
    "[FeII] 17.94": 17.93595,
    "[SIII] 18.71": 18.7130,
    "[ArIII] 21.83": 21.8302,
    "[NeV] 24.32": 24.3175,
    "[OIV] 25.89": 25.8903,
    "[FeII] 25.99": 25.98829,
    "[SIII] 33.48": 33.4810,
    "[SiII] 34.82": 34.8152,
    "[NeIII] 36.01": 36.0135,
    "H2 S(0)": 28.21883,
    "H2 S(1)": 17.03484,
    "H2 S(2)": 12.27861,
    "H2 S(3)": 9.66492,
    "H2 S(5)": 6.90952,
    "HI 7-6": 12.371898,
}

#: PAH Drude bands, name -> (rest centre um, FWHM um), Smith et al. 2007 (irs.md 5.4);
#: the 18.92 um band is left out as in PAHFIT's classic pack
PAH_BANDS: dict[str, tuple[float, float]] = {
    "PAH 5.27": (5.27, 0.179), "PAH 5.70": (5.70, 0.200), "PAH 6.22": (6.22, 0.187),
    "PAH 6.69": (6.69, 0.468), "PAH 7.42": (7.42, 0.935), "PAH 7.60": (7.60, 0.334),
    "PAH 7.85": (7.85, 0.416), "PAH 8.33": (8.33, 0.417), "PAH 8.61": (8.61, 0.336),
    "PAH 10.68": (10.68, 0.214), "PAH 11.23": (11.23, 0.135), "PAH 11.33": (11.33, 0.363),
    "PAH 11.99": (11.99, 0.540), "PAH 12.62": (12.62, 0.530), "PAH 12.69": (12.69, 0.165),
    "PAH 13.48": (13.48, 0.539), "PAH 14.04": (14.04, 0.225), "PAH 14.19": (14.19, 0.355),
    "PAH 15.90": (15.90, 0.318), "PAH 16.45": (16.45, 0.230), "PAH 17.04": (17.04, 1.108),
    "PAH 17.37": (17.37, 0.209), "PAH 17.87": (17.87, 0.286), "PAH 33.1": (33.1, 1.655),
}

#: ice absorption bands, name -> (rest centre um, FWHM um) of a Gaussian optical depth
#: (positions irs.md 5.5; widths are typical values, ~20-160 cm^-1)
ICE_BANDS: dict[str, tuple[float, float]] = {
    "H2O 6.0": (6.02, 0.55),
    "6.85": (6.85, 0.33),
    "H2O 13": (13.0, 3.0),
    "CO2 15.2": (15.2, 0.45),
}

_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
_C_M_S = 2.99792458e8
#: h c / k in um K (blackbody exponent x = _HC_K_UM / (lambda_um T))
_HC_K_UM = 14387.768775039337
#: F_lambda (W m^-2 um^-1) * lambda_um^2 * _FLAM_TO_JY = F_nu (Jy)
_FLAM_TO_JY = 1e-6 / _C_M_S / 1e-26
#: line profiles are cut at this many sigma (relative value e^-24.5)
_LINE_CUT_SIGMA = 7.0
_REF_UM = 15.0
_LOG_5UM, _LOG_40UM = float(np.log(5.0)), float(np.log(40.0))
# silicate 9.7 um: asymmetric Gaussian (blue/red sigma, um); 18 um: Drude (irs.md 5.5)
_SIL_CENTRE_UM, _SIL_SIGMA_BLUE_UM, _SIL_SIGMA_RED_UM = 9.7, 0.9, 1.2
_SIL18_CENTRE_UM, _SIL18_GAMMA, _SIL18_PEAK = 18.0, 0.247, 0.4
_SIC_CENTRE_UM, _SIC_FWHM_UM = 11.3, 1.7


class EmissionLine(NamedTuple):
    """An unresolved emission line: rest vacuum wavelength and observed flux (W m^-2)."""

    name: str
    rest_wavelength_um: float
    flux_w_m2: float


def silicate_profile(rest_um: np.ndarray) -> np.ndarray:
    """Amorphous silicate profile, 1 at 9.7 um, 0.4 at 18 um (rest wavelengths in um)."""
    d = rest_um - _SIL_CENTRE_UM
    sigma = np.where(d < 0.0, _SIL_SIGMA_BLUE_UM, _SIL_SIGMA_RED_UM)
    u = rest_um / _SIL18_CENTRE_UM - _SIL18_CENTRE_UM / rest_um
    g2 = _SIL18_GAMMA * _SIL18_GAMMA
    return np.exp(-0.5 * (d / sigma) ** 2) + _SIL18_PEAK * g2 / (u * u + g2)


def _gaussian(rest_um: np.ndarray, centre_um: float, fwhm_um: float) -> np.ndarray:
    return np.exp(-0.5 * ((rest_um - centre_um) * (_FWHM_PER_SIGMA / fwhm_um)) ** 2)


@dataclass(frozen=True)
class SourceSpectrum:
    """Analytic mid-IR spectrum of one source (see the module docstring for the model).

    Parameters
    ----------
    spectral_class : str
        One of :data:`SPECTRAL_CLASSES`.
    redshift : float
        z > :data:`MIN_REDSHIFT` (a Galactic source may approach us); continuum and bands
        are evaluated at lambda / (1 + z).
    continuum_15um_jy : float
        Observed continuum F_nu at 15 um: PAH bands, lines and ice bands excluded, silicate
        emission and absorption included.
    stellar_weight : float
        Weight of the photosphere at 15 um rest (relative to the other components).
    sio_depth : float
        Fractional depth of the SiO 8 um dip of the photosphere.
    dust : tuple of (temperature_k, weight)
        Modified blackbodies, each weighted at 15 um rest.
    dust_beta : float
        Emissivity index of the modified blackbodies.
    powerlaw_weight, powerlaw_index : float
        Power law F_nu ~ lambda^index, weighted at 15 um rest.
    silicate_emission, sic_emission : float
        Peak fractional excess of the non-stellar continuum in the silicate (9.7 um) and
        SiC (11.3 um) emission features.
    silicate_tau : float
        Optical depth of the absorbing screen at 9.7 um.
    ices : tuple of (name, tau)
        Ice bands (:data:`ICE_BANDS`) and their peak optical depths.
    pah : tuple of (name, peak_jy)
        PAH bands (:data:`PAH_BANDS`) and their Drude peak F_nu before the screen.
    lines : tuple of EmissionLine
        Unresolved lines (observed integrated fluxes).
    distortion : tuple of float
        Chebyshev coefficients c_k of a smooth relative deviation: the whole spectrum is
        multiplied by 1 + sum c_k T_k(x), x = log(lambda) over 5-40 um mapped to [-1, 1]
        (the true standard stars' departure from their templates; empty: none).
    """

    spectral_class: str
    redshift: float
    continuum_15um_jy: float
    stellar_weight: float = 0.0
    sio_depth: float = 0.0
    dust: tuple[tuple[float, float], ...] = ()
    dust_beta: float = 2.0
    powerlaw_weight: float = 0.0
    powerlaw_index: float = 0.0
    silicate_emission: float = 0.0
    sic_emission: float = 0.0
    silicate_tau: float = 0.0
    ices: tuple[tuple[str, float], ...] = ()
    pah: tuple[tuple[str, float], ...] = ()
    lines: tuple[EmissionLine, ...] = ()
    distortion: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.spectral_class not in SPECTRAL_CLASSES:
            raise ValueError(f"unknown spectral class {self.spectral_class!r}; "
                             f"allowed: {', '.join(SPECTRAL_CLASSES)}")
        if not (self.redshift > MIN_REDSHIFT and self.continuum_15um_jy >= 0.0):
            raise ValueError(f"redshift must be > {MIN_REDSHIFT} and continuum_15um_jy >= 0")
        for name, _ in self.ices:
            if name not in ICE_BANDS:
                raise ValueError(f"unknown ice band {name!r}")
        for name, _ in self.pah:
            if name not in PAH_BANDS:
                raise ValueError(f"unknown PAH band {name!r}")

    # -- evaluation ---------------------------------------------------------------------

    def flux_jy(self, wavelength_um: np.ndarray,
                resolving_power: float | np.ndarray | None = None) -> np.ndarray:
        """F_nu (Jy) at observed-frame vacuum wavelengths.

        Parameters
        ----------
        wavelength_um : array_like
            Observed wavelengths (um), any shape and order.
        resolving_power : float or array_like, optional
            R = lambda / FWHM of the lines; an array must match ``wavelength_um`` (at each
            sample a line has FWHM = line wavelength / that sample's R). Default
            :data:`DEFAULT_RESOLVING_POWER` (narrow lines).

        Returns
        -------
        numpy.ndarray
            F_nu in Jy, same shape as ``wavelength_um``.
        """
        lam = np.asarray(wavelength_um, dtype=float)
        shape = lam.shape
        lam = lam.ravel()
        rest = np.empty(lam.size + 1)
        np.divide(lam, 1.0 + self.redshift, out=rest[:-1])
        rest[-1] = _REF_UM / (1.0 + self.redshift)
        continuum, screen, reference = self._continuum(rest)
        flux = continuum[:-1] * (self.continuum_15um_jy / reference if reference > 0.0 else 0.0)
        if self.pah:
            pah = self._pah(rest[:-1])
            flux += pah if screen is None else pah * screen[:-1]
        if self.lines:
            if resolving_power is None:
                resolving_power = DEFAULT_RESOLVING_POWER
            r = np.asarray(resolving_power, dtype=float)
            r = r.ravel() if r.ndim else np.full(lam.size, float(r))
            if r.size != lam.size:
                raise ValueError("resolving_power must be a scalar or match wavelength_um")
            if lam.size and not np.all(r > 0.0):
                raise ValueError("resolving_power must be > 0")
            self._add_lines(flux, lam, r)
        if self.distortion:
            x = 2.0 * (np.log(lam) - _LOG_5UM) / (_LOG_40UM - _LOG_5UM) - 1.0
            flux *= 1.0 + np.polynomial.chebyshev.chebval(x, self.distortion)
        return flux.reshape(shape)

    @cached_property
    def flux_15um_jy(self) -> float:
        """F_nu (Jy) at an observed 15 um (planning and the truth ask for it often)."""
        return float(self.flux_jy(np.array([15.0]))[0])

    def line_list(self) -> list[dict[str, Any]]:
        """The lines as observed: name, rest and observed wavelength (um), flux (W m^-2)."""
        zp1 = 1.0 + self.redshift
        return [{"name": line.name, "rest_wavelength_um": line.rest_wavelength_um,
                 "wavelength_um": line.rest_wavelength_um * zp1, "flux_w_m2": line.flux_w_m2}
                for line in self.lines]

    def _continuum(self, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float]:
        """Un-normalised continuum (screen included), the screen transmission, and the
        value at the last sample (the 15 um reference) without the ice bands."""
        out = np.zeros_like(rest)
        if self.dust or self.powerlaw_weight:
            with np.errstate(over="ignore"):
                if self.dust:
                    power = (_REF_UM / rest) ** (3.0 + self.dust_beta)
                    for temperature_k, weight in self.dust:
                        x = np.expm1((_HC_K_UM / temperature_k) / rest)
                        out += (weight * np.expm1(_HC_K_UM / (_REF_UM * temperature_k))) \
                            * power / x
                if self.powerlaw_weight:
                    out += self.powerlaw_weight * (rest / _REF_UM) ** self.powerlaw_index
            if self.silicate_emission or self.sic_emission:
                excess = np.ones_like(rest)
                if self.silicate_emission:
                    excess += self.silicate_emission * silicate_profile(rest)
                if self.sic_emission:
                    excess += self.sic_emission * _gaussian(rest, _SIC_CENTRE_UM, _SIC_FWHM_UM)
                out *= excess
        if self.stellar_weight:
            out += (self.stellar_weight * (_REF_UM / 10.0) ** 2) \
                * standard_flux_jy(rest, 1.0, self.sio_depth)
        if not (self.silicate_tau or self.ices):
            return out, None, float(out[-1])
        tau = np.zeros_like(rest)
        if self.silicate_tau:
            tau += self.silicate_tau * silicate_profile(rest)
        silicate_tau_ref = float(tau[-1])
        for name, depth in self.ices:
            tau += depth * _gaussian(rest, *ICE_BANDS[name])
        screen = np.exp(-tau)
        out *= screen
        return out, screen, float(out[-1] * np.exp(tau[-1] - silicate_tau_ref))

    @cached_property
    def _pah_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per band: 1/l0^2, l0^2, g^2 - 2 and b g^2 (arrays, one entry per band)."""
        centre, fwhm = np.array([PAH_BANDS[name] for name, _ in self.pah]).T
        gamma2 = (fwhm / centre) ** 2
        peak = np.array([peak_jy for _, peak_jy in self.pah])
        return 1.0 / centre**2, centre**2, gamma2 - 2.0, peak * gamma2

    def _pah(self, rest: np.ndarray) -> np.ndarray:
        # Drude b g^2 / ((l/l0 - l0/l)^2 + g^2), with (l/l0 - l0/l)^2 = w/l0^2 + l0^2/w - 2;
        # all bands at once (samples x bands): a few array operations whatever the count
        inv_c2, c2, offset, numerator = self._pah_terms
        w = (rest * rest)[:, None]
        den = w * inv_c2
        den += c2 / w
        den += offset
        return (numerator / den).sum(axis=1)

    @cached_property
    def _line_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        centres = np.array([line.rest_wavelength_um for line in self.lines]) \
            * (1.0 + self.redshift)
        fluxes = np.array([line.flux_w_m2 for line in self.lines])
        return centres, fluxes

    def _add_lines(self, flux: np.ndarray, lam: np.ndarray, r: np.ndarray) -> None:
        """Add every line, evaluated only within +-7 sigma of its centre (all at once)."""
        if lam.size == 0:
            return
        centres, fluxes = self._line_arrays
        order = None
        if lam.size > 1 and not np.all(lam[1:] >= lam[:-1]):
            order = np.argsort(lam, kind="stable")
            lam, r = lam[order], r[order]
        half_width_um = centres * (_LINE_CUT_SIGMA / (_FWHM_PER_SIGMA * float(r.min())))
        lo = np.searchsorted(lam, centres - half_width_um)
        counts = np.searchsorted(lam, centres + half_width_um) - lo
        total = int(counts.sum())
        if total == 0:
            return
        # sample indices of all windows, concatenated, and the line each belongs to
        which = np.repeat(np.arange(centres.size), counts)
        idx = np.arange(total) + np.repeat(lo - (np.cumsum(counts) - counts), counts)
        x = lam[idx]
        centre = centres[which]
        sigma_um = centre / (r[idx] * _FWHM_PER_SIGMA)
        value = np.exp(-0.5 * ((x - centre) / sigma_um) ** 2)
        value *= fluxes[which] * (_FLAM_TO_JY / np.sqrt(2.0 * np.pi))
        value *= x * x / sigma_um
        if order is not None:
            idx = order[idx]
        flux += np.bincount(idx, weights=value, minlength=flux.size)

    # -- serialisation ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary; :meth:`from_dict` restores an equal object."""
        return {
            "spectral_class": self.spectral_class,
            "redshift": self.redshift,
            "continuum_15um_jy": self.continuum_15um_jy,
            "stellar_weight": self.stellar_weight,
            "sio_depth": self.sio_depth,
            "dust": [{"temperature_k": t, "weight": w} for t, w in self.dust],
            "dust_beta": self.dust_beta,
            "powerlaw_weight": self.powerlaw_weight,
            "powerlaw_index": self.powerlaw_index,
            "silicate_emission": self.silicate_emission,
            "sic_emission": self.sic_emission,
            "silicate_tau": self.silicate_tau,
            "ices": [{"name": n, "tau": t} for n, t in self.ices],
            "pah": [{"name": n, "peak_jy": p} for n, p in self.pah],
            "lines": [line._asdict() for line in self.lines],
            "distortion": list(self.distortion),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceSpectrum:
        """Rebuild a spectrum from :meth:`to_dict` output (e.g. after a JSON round trip)."""
        scalars = ("redshift", "continuum_15um_jy", "stellar_weight", "sio_depth", "dust_beta",
                   "powerlaw_weight", "powerlaw_index", "silicate_emission", "sic_emission",
                   "silicate_tau")
        return cls(
            spectral_class=str(data["spectral_class"]),
            **{key: float(data[key]) for key in scalars if key in data},
            dust=tuple((float(d["temperature_k"]), float(d["weight"]))
                       for d in data.get("dust", ())),
            ices=tuple((str(d["name"]), float(d["tau"])) for d in data.get("ices", ())),
            pah=tuple((str(d["name"]), float(d["peak_jy"])) for d in data.get("pah", ())),
            lines=tuple(EmissionLine(str(d["name"]), float(d["rest_wavelength_um"]),
                                     float(d["flux_w_m2"])) for d in data.get("lines", ())),
            distortion=tuple(float(c) for c in data.get("distortion", ())),
        )


def standard_star_spectrum(flux_10um_jy: float, sio_depth: float = 0.0) -> SourceSpectrum:
    """The flux-calibration model of a standard star.

    Exactly the analytic photosphere of :func:`pipeline.instrument.standards.standard_flux_jy`
    (Rayleigh-Jeans F_nu ~ lambda^-2 with the SiO 8 um dip) at z = 0, no dust, no lines.

    Parameters
    ----------
    flux_10um_jy : float
        F_nu of the photosphere at 10 um (Jy), before the SiO dip.
    sio_depth : float
        Fractional depth of the SiO band (0 for A stars, a few per cent for K giants).

    Returns
    -------
    SourceSpectrum
    """
    if not flux_10um_jy > 0.0:
        raise ValueError("flux_10um_jy must be > 0")
    level = float(standard_flux_jy(np.array([_REF_UM]), flux_10um_jy, sio_depth)[0])
    return SourceSpectrum(STANDARD_STAR, 0.0, level, stellar_weight=1.0,
                          sio_depth=float(sio_depth))


def make_spectrum(spectral_class: str, rng: np.random.Generator, *,
                  redshift: float | None = None,
                  flux_15um_jy: float | None = None) -> SourceSpectrum:
    """Draw a plausible spectrum of one class.

    Parameters
    ----------
    spectral_class : str
        One of :data:`SPECTRAL_CLASSES`.
    rng : numpy.random.Generator
        Source of randomness (same state, same spectrum).
    redshift : float, optional
        Default: drawn in 0-0.3 (mostly below 0.1) for ``pah_galaxy`` and ``agn``, 0 for
        the Galactic classes.
    flux_15um_jy : float, optional
        Observed continuum F_nu at 15 um. Default: drawn from a truncated log-normal over
        3 mJy-20 Jy whose median depends on the class.

    Returns
    -------
    SourceSpectrum

    Raises
    ------
    ValueError
        For an unknown class or a non-positive flux or negative redshift.
    """
    from ._sky_recipes import RECIPES, Draws, draw_flux_15um_jy, draw_redshift

    if spectral_class not in SPECTRAL_CLASSES:
        raise ValueError(f"unknown spectral class {spectral_class!r}; "
                         f"allowed: {', '.join(SPECTRAL_CLASSES)}")
    if flux_15um_jy is not None and not flux_15um_jy > 0.0:
        raise ValueError("flux_15um_jy must be > 0")
    if redshift is not None and not redshift >= 0.0:
        raise ValueError("redshift must be >= 0")
    draws = Draws(rng)
    z = draw_redshift(spectral_class, draws) if redshift is None else float(redshift)
    level = (draw_flux_15um_jy(spectral_class, draws) if flux_15um_jy is None
             else float(flux_15um_jy))
    return RECIPES[spectral_class](draws, z, level)
