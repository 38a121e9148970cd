"""Random parameter recipes per spectral class, used by :func:`pipeline.simulate.sky.make_spectrum`.

Every number here is a plausible range chosen for the simulator, not a fit to a survey:

* brightness: truncated log-normal continuum F_nu(15 um) over 3 mJy-20 Jy, median per class
  (standards and H II regions bright, galaxies and AGN faint);
* redshift (``pah_galaxy``, ``agn``): 85 % truncated exponential (scale 0.03) on
  0.001-0.1, 15 % uniform 0.1-0.3; the Galactic classes are at z = 0;
* lines: integrated fluxes are "reference equivalent widths" (um) times the continuum
  F_lambda at 15 um, one anchor line per class and the others as ratios to it;
* PAH: band weights shaped like a SINGS-type star-forming spectrum (7.7 um complex
  strongest, 11.3 um about as high, 6.2 and 12.7 um about half), scaled so the blended
  7.7 um peak is ``strength`` x the 15 um continuum, with +-0.1 dex band-to-band scatter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import NormalDist

import numpy as np

from .sky import (
    AGN,
    DUSTY_EVOLVED_STAR,
    EMBEDDED_YSO,
    HII_REGION,
    LINES,
    PAH_BANDS,
    PAH_GALAXY,
    PLANETARY_NEBULA,
    STANDARD_STAR,
    STELLAR_PHOTOSPHERE,
    EmissionLine,
    SourceSpectrum,
    standard_star_spectrum,
)

__all__ = ["RECIPES", "Draws", "draw_flux_15um_jy", "draw_redshift"]

_NORMAL = NormalDist()
_FLUX_RANGE_LOG10_JY = (math.log10(0.003), math.log10(20.0))
#: (median log10 F15/Jy, sigma dex) per class
_BRIGHTNESS = {
    STELLAR_PHOTOSPHERE: (-0.9, 0.6), DUSTY_EVOLVED_STAR: (0.0, 0.7),
    PAH_GALAXY: (-0.9, 0.5), AGN: (-1.1, 0.5), EMBEDDED_YSO: (-0.4, 0.7),
    HII_REGION: (0.4, 0.6), PLANETARY_NEBULA: (-0.3, 0.6), STANDARD_STAR: (-0.4, 0.5),
}
#: continuum F_lambda (W m^-2 um^-1) at 15 um of a 1 Jy continuum
_FLAM_15UM_PER_JY = 1e-26 * 2.99792458e8 / (15e-6) ** 2 * 1e-6

_PAH_WEIGHTS = {
    "PAH 5.27": 0.04, "PAH 5.70": 0.06, "PAH 6.22": 0.85, "PAH 6.69": 0.10,
    "PAH 7.42": 0.35, "PAH 7.60": 1.00, "PAH 7.85": 0.80, "PAH 8.33": 0.15,
    "PAH 8.61": 0.55, "PAH 10.68": 0.05, "PAH 11.23": 1.20, "PAH 11.33": 0.75,
    "PAH 11.99": 0.25, "PAH 12.62": 0.50, "PAH 12.69": 0.15, "PAH 13.48": 0.10,
    "PAH 14.04": 0.05, "PAH 14.19": 0.08, "PAH 15.90": 0.04, "PAH 16.45": 0.12,
    "PAH 17.04": 0.35, "PAH 17.37": 0.15, "PAH 17.87": 0.10, "PAH 33.1": 0.15,
}


def _blended_77_peak() -> float:
    lam = np.linspace(7.3, 8.0, 701)
    total = np.zeros_like(lam)
    for name, weight in _PAH_WEIGHTS.items():
        centre, fwhm = PAH_BANDS[name]
        gamma = fwhm / centre
        total += weight * gamma**2 / ((lam / centre - centre / lam) ** 2 + gamma**2)
    return float(total.max())


_PAH_NORM = 1.0 / _blended_77_peak()
_PAH_NAMES = tuple(_PAH_WEIGHTS)
_PAH_WEIGHT_ARRAY = np.array(list(_PAH_WEIGHTS.values()))


class Draws:
    """Uniform deviates drawn from a Generator in blocks (fast scalar sampling).

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream; each block consumes ``block`` doubles, so the result is a deterministic
        function of the generator state.
    block : int
        Deviates fetched per refill.
    """

    def __init__(self, rng: np.random.Generator, block: int = 96) -> None:
        self._rng = rng
        self._block = block
        self._values: list[float] = []
        self._pop = self._values.pop

    def _refill(self, at_least: int) -> None:
        self._values[:0] = self._rng.random(max(at_least, self._block)).tolist()

    def u(self) -> float:
        """A uniform deviate in [0, 1)."""
        try:
            return self._pop()
        except IndexError:
            self._refill(1)
            return self._pop()

    def many(self, k: int) -> list[float]:
        """``k`` uniform deviates in [0, 1)."""
        if len(self._values) < k:
            self._refill(k)
        out = self._values[-k:]
        del self._values[-k:]
        return out

    def uniform(self, low: float, high: float) -> float:
        """Uniform in [low, high)."""
        return low + (high - low) * self.u()

    def loguniform(self, low: float, high: float) -> float:
        """Log-uniform in [low, high)."""
        return low * (high / low) ** self.u()

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.u() < p

    def pick(self, options: Sequence[str], weights: Sequence[float]) -> str:
        """One of ``options`` with the given (not necessarily normalised) weights."""
        target = self.u() * sum(weights)
        for option, weight in zip(options, weights, strict=True):
            target -= weight
            if target < 0.0:
                return option
        return options[-1]

    def truncated_normal(self, mean: float, sigma: float, low: float, high: float) -> float:
        """Normal(mean, sigma) truncated to [low, high] (inverse-CDF sampling)."""
        a = _NORMAL.cdf((low - mean) / sigma)
        b = _NORMAL.cdf((high - mean) / sigma)
        p = min(max(a + (b - a) * self.u(), 1e-12), 1.0 - 1e-12)
        return min(max(mean + sigma * _NORMAL.inv_cdf(p), low), high)


def draw_flux_15um_jy(spectral_class: str, draws: Draws) -> float:
    """Continuum F_nu at 15 um (Jy), truncated log-normal over 3 mJy-20 Jy."""
    median, sigma = _BRIGHTNESS[spectral_class]
    return 10.0 ** draws.truncated_normal(median, sigma, *_FLUX_RANGE_LOG10_JY)


def draw_redshift(spectral_class: str, draws: Draws) -> float:
    """Redshift: 0 for Galactic classes, mostly < 0.1 (up to 0.3) for galaxies and AGN."""
    if spectral_class not in (PAH_GALAXY, AGN):
        return 0.0
    if draws.chance(0.85):
        scale, low, high = 0.03, 0.001, 0.1
        span = 1.0 - math.exp(-(high - low) / scale)
        return low - scale * math.log(1.0 - span * draws.u())
    return draws.uniform(0.1, 0.3)


def _lines(draws: Draws, level_jy: float, anchor: str, anchor_ew_um: tuple[float, float],
           ratios: dict[str, tuple[float, float]]) -> tuple[EmissionLine, ...]:
    """Anchor line with a log-uniform reference EW; others as log-uniform ratios to it."""
    anchor_flux = draws.loguniform(*anchor_ew_um) * level_jy * _FLAM_15UM_PER_JY
    out = [EmissionLine(anchor, LINES[anchor], anchor_flux)]
    for name, (low, high) in ratios.items():
        if low > 0.0:
            out.append(EmissionLine(name, LINES[name], anchor_flux * draws.loguniform(low, high)))
    return tuple(out)


def _pah(draws: Draws, level_jy: float, strength: float) -> tuple[tuple[str, float], ...]:
    jitter = np.array(draws.many(len(_PAH_NAMES)))
    peaks = (strength * level_jy * _PAH_NORM) * _PAH_WEIGHT_ARRAY * 10.0 ** (0.2 * jitter - 0.1)
    return tuple(zip(_PAH_NAMES, peaks.tolist(), strict=True))


def _stellar(d: Draws, z: float, level: float) -> SourceSpectrum:
    sio = d.uniform(0.0, 0.06) if d.chance(0.5) else 0.0
    excess = ((d.uniform(80.0, 300.0), d.loguniform(0.05, 0.6)),) if d.chance(0.2) else ()
    return SourceSpectrum(STELLAR_PHOTOSPHERE, z, level, stellar_weight=1.0, sio_depth=sio,
                          dust=excess, dust_beta=1.0)


def _dusty_evolved(d: Draws, z: float, level: float) -> SourceSpectrum:
    star = d.uniform(0.05, 0.6)
    hot = d.uniform(0.3, 0.8)
    dust = ((d.uniform(600.0, 1200.0), (1.0 - star) * hot),
            (d.uniform(200.0, 450.0), (1.0 - star) * (1.0 - hot)))
    if d.chance(0.3):  # carbon star: SiC emission, no SiO
        return SourceSpectrum(DUSTY_EVOLVED_STAR, z, level, stellar_weight=star, dust=dust,
                              dust_beta=1.0, sic_emission=d.loguniform(0.15, 1.2))
    tau = d.uniform(0.3, 2.5) if d.chance(0.15) else 0.0  # OH/IR star, self-absorbed
    return SourceSpectrum(DUSTY_EVOLVED_STAR, z, level, stellar_weight=star,
                          sio_depth=d.uniform(0.02, 0.1), dust=dust, dust_beta=1.0,
                          silicate_emission=d.loguniform(0.3, 4.0), silicate_tau=tau)


def _pah_galaxy(d: Draws, z: float, level: float) -> SourceSpectrum:
    dust = ((d.uniform(65.0, 95.0), d.uniform(0.3, 0.7)),
            (d.uniform(130.0, 300.0), d.uniform(0.2, 0.5)),
            (d.uniform(400.0, 800.0), d.uniform(0.0, 0.08)))
    lines = _lines(d, level, "[NeII] 12.81", (0.005, 0.04), {
        "[NeIII] 15.56": (0.05, 0.6), "[SIII] 18.71": (0.2, 0.7), "[SIII] 33.48": (0.3, 1.2),
        "[SIV] 10.51": (0.01, 0.15), "[SiII] 34.82": (0.4, 1.5), "[ArII] 6.99": (0.05, 0.2),
        "[FeII] 25.99": (0.03, 0.15), "H2 S(0)": (0.02, 0.08), "H2 S(1)": (0.1, 0.3),
        "H2 S(2)": (0.03, 0.1), "H2 S(3)": (0.05, 0.2),
    })
    return SourceSpectrum(PAH_GALAXY, z, level, stellar_weight=d.uniform(0.0, 0.12), dust=dust,
                          silicate_tau=d.loguniform(0.05, 1.5),
                          pah=_pah(d, level, d.loguniform(0.6, 3.0)), lines=lines)


def _agn(d: Draws, z: float, level: float) -> SourceSpectrum:
    dust = [(d.uniform(700.0, 1300.0), d.uniform(0.0, 0.3))]
    if d.chance(0.5):  # host starburst
        dust.append((d.uniform(65.0, 110.0), d.uniform(0.05, 0.5)))
    emission, tau = (d.uniform(0.05, 0.4), 0.0) if d.chance(0.6) else (0.0, d.loguniform(0.2, 3.0))
    lines = _lines(d, level, "[OIV] 25.89", (0.005, 0.05), {
        "[NeV] 14.32": (0.3, 1.0), "[NeV] 24.32": (0.3, 1.0), "[NeIII] 15.56": (0.5, 1.5),
        "[NeII] 12.81": (0.3, 1.5), "[SIV] 10.51": (0.1, 0.5), "[SIII] 18.71": (0.1, 0.4),
        "[NeIII] 36.01": (0.05, 0.15), "H2 S(1)": (0.05, 0.2),
        "[NeVI] 7.65": (0.1, 0.4) if d.chance(0.5) else (0.0, 0.0),
        "[MgV] 5.61": (0.03, 0.1) if d.chance(0.3) else (0.0, 0.0),
    })
    return SourceSpectrum(AGN, z, level, dust=tuple(dust), powerlaw_weight=1.0,
                          powerlaw_index=d.uniform(0.5, 2.0), silicate_emission=emission,
                          silicate_tau=tau, pah=_pah(d, level, d.loguniform(0.02, 0.3)),
                          lines=lines)


def _embedded_yso(d: Draws, z: float, level: float) -> SourceSpectrum:
    tau = d.uniform(1.0, 5.0)
    ices = (("H2O 6.0", tau * d.uniform(0.06, 0.2)), ("6.85", tau * d.uniform(0.03, 0.1)),
            ("H2O 13", tau * d.uniform(0.02, 0.06)), ("CO2 15.2", tau * d.uniform(0.15, 0.4)))
    lines: tuple[EmissionLine, ...] = ()
    if d.chance(0.35):  # outflow shocks / PDR
        lines = _lines(d, level, "H2 S(1)", (0.002, 0.01), {
            "H2 S(2)": (0.3, 0.6), "H2 S(0)": (0.1, 0.3), "[NeII] 12.81": (0.2, 1.0),
            "[FeII] 25.99": (0.1, 0.5), "[SiII] 34.82": (0.2, 1.0),
        })
    return SourceSpectrum(EMBEDDED_YSO, z, level,
                          dust=((d.uniform(600.0, 1000.0), d.uniform(0.02, 0.2)),
                                (d.uniform(150.0, 400.0), d.uniform(0.0, 0.5))),
                          powerlaw_weight=1.0, powerlaw_index=d.uniform(0.8, 2.5),
                          silicate_tau=tau, ices=ices, lines=lines)


def _hii_region(d: Draws, z: float, level: float) -> SourceSpectrum:
    dust = ((d.uniform(65.0, 100.0), d.uniform(0.3, 0.6)),
            (d.uniform(120.0, 220.0), d.uniform(0.3, 0.6)),
            (d.uniform(300.0, 600.0), d.uniform(0.02, 0.1)))
    excitation = d.loguniform(0.2, 3.0)
    lines = _lines(d, level, "[NeII] 12.81", (0.03, 0.3), {
        "[NeIII] 15.56": (0.3 * excitation, 0.8 * excitation),
        "[SIV] 10.51": (0.2 * excitation, 0.6 * excitation),
        "[SIII] 18.71": (0.3, 1.0), "[SIII] 33.48": (0.4, 1.5), "[ArIII] 8.99": (0.05, 0.3),
        "[ArIII] 21.83": (0.01, 0.05), "[ArII] 6.99": (0.1, 0.4), "HI 7-6": (0.01, 0.03),
        "[NeIII] 36.01": (0.02, 0.1), "[SiII] 34.82": (0.1, 0.5), "H2 S(1)": (0.01, 0.05),
    })
    return SourceSpectrum(HII_REGION, z, level, dust=dust, silicate_tau=d.loguniform(0.05, 2.0),
                          pah=_pah(d, level, d.loguniform(0.3, 2.0)), lines=lines)


def _planetary_nebula(d: Draws, z: float, level: float) -> SourceSpectrum:
    dust = ((d.uniform(90.0, 180.0), d.uniform(0.6, 1.0)),
            (d.uniform(250.0, 500.0), d.uniform(0.0, 0.3)))
    k = 1.0 if d.chance(0.5) else 0.0  # high excitation: [NeV], [OIV], [ArV], [MgV], [NeVI]
    lines = _lines(d, level, "[NeIII] 15.56", (0.2, 8.0), {
        "[NeV] 14.32": (0.1 * k, 1.0 * k), "[NeV] 24.32": (0.1 * k, 1.0 * k),
        "[OIV] 25.89": (0.3 * k, 2.0 * k),
        "[ArV] 7.90": (0.01 * k, 0.05 * k), "[ArV] 13.10": (0.01 * k, 0.05 * k),
        "[MgV] 5.61": (0.01 * k, 0.05 * k), "[NeVI] 7.65": (0.05 * k, 0.3 * k),
        "[SIV] 10.51": (0.3, 2.0), "[ArIII] 8.99": (0.05, 0.2), "[NeII] 12.81": (0.05, 1.0),
        "[SIII] 18.71": (0.1, 0.4), "[SIII] 33.48": (0.1, 0.4), "[NeIII] 36.01": (0.05, 0.15),
        "[ArIII] 21.83": (0.01, 0.03),
    })
    pah = _pah(d, level, d.loguniform(0.1, 0.6)) if d.chance(0.35) else ()  # carbon-rich
    return SourceSpectrum(PLANETARY_NEBULA, z, level, dust=dust, pah=pah, lines=lines)


def _standard(d: Draws, z: float, level: float) -> SourceSpectrum:
    sio = d.uniform(0.0, 0.05)
    # F10 such that the photosphere has F_nu(15 um) = level: (10/15)^2 (1 - dip(15)) ~ 0.444
    probe = standard_star_spectrum(1.0, sio)
    return standard_star_spectrum(level / probe.continuum_15um_jy, sio)


RECIPES: dict[str, Callable[[Draws, float, float], SourceSpectrum]] = {
    STELLAR_PHOTOSPHERE: _stellar,
    DUSTY_EVOLVED_STAR: _dusty_evolved,
    PAH_GALAXY: _pah_galaxy,
    AGN: _agn,
    EMBEDDED_YSO: _embedded_yso,
    HII_REGION: _hii_region,
    PLANETARY_NEBULA: _planetary_nebula,
    STANDARD_STAR: _standard,
}
