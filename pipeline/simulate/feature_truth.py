"""The true values of the measured features of a simulated source, from its model.

What a feature measurer should find on the spectrum the simulator renders (the observed,
noiseless spectrum of :class:`pipeline.simulate.sky.SourceSpectrum`), computed from the
model's own components, never by measuring a spectrum:

* line fluxes: the injected observed fluxes (W m^-2; lines are not attenuated);
* PAH complex fluxes: each injected Drude band times the absorbing screen, integrated over
  rest wavelengths lambda0/2 - 2 lambda0 (W m^-2, observed); the complexes are those of
  PAHFIT's classic pack (6.2; 7.7 = 7.42+7.60+7.85; 8.6; 11.3 = 11.23+11.33; 12.7 =
  12.62+12.69; 17 = 16.45+17.04+17.37+17.87); rest-frame equivalent widths against the
  continuum (lines and PAHs left out, screen included) at 6.22, 7.7, 8.61, 11.3, 12.7 and
  17.0 um;
* silicate strengths ln(F_cont / F_cont without silicate) at rest 9.7 and 18 um, from the
  continuum with and without the silicate emission and absorption (ices in both);
* ice optical depths: the injected peak depths (0 when the band is absent);
* continuum flux densities (Jy) at rest 5.5, 10, 15, 24 and 30 um (lines and PAHs left
  out) and alpha(15, 30) = ln(F(30)/F(15)) / ln 2.

The names are the columns of the service's features table.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .sky import ICE_BANDS, PAH_BANDS, SourceSpectrum, silicate_profile

__all__ = ["feature_truth"]

_C_M_S = 2.99792458e8
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_PAH_COMPLEXES = {
    "pah_6p2": (("PAH 6.22",), 6.22),
    "pah_7p7": (("PAH 7.42", "PAH 7.60", "PAH 7.85"), 7.7),
    "pah_8p6": (("PAH 8.61",), 8.61),
    "pah_11p3": (("PAH 11.23", "PAH 11.33"), 11.3),
    "pah_12p7": (("PAH 12.62", "PAH 12.69"), 12.7),
    "pah_17": (("PAH 16.45", "PAH 17.04", "PAH 17.37", "PAH 17.87"), 17.0),
}
_ICES = {"tau_h2o_6p0": "H2O 6.0", "tau_6p85": "6.85", "tau_co2_15p2": "CO2 15.2"}
_LINES = {
    "[ArII] 6.99": "ar2_6p99", "[ArIII] 8.99": "ar3_8p99", "[SIV] 10.51": "s4_10p51",
    "[NeII] 12.81": "ne2_12p81", "[NeV] 14.32": "ne5_14p32", "[NeIII] 15.56": "ne3_15p56",
    "[SIII] 18.71": "s3_18p71", "[NeV] 24.32": "ne5_24p32", "[OIV] 25.89": "o4_25p89",
    "[FeII] 25.99": "fe2_25p99", "[SIII] 33.48": "s3_33p48", "[SiII] 34.82": "si2_34p82",
    **{f"H2 S({j})": f"h2_s{j}" for j in range(8)},
}
_CONTINUUM_UM = {"cont_5p5": 5.5, "cont_10": 10.0, "cont_15": 15.0, "cont_24": 24.0,
                 "cont_30": 30.0}


def _screen(spec: SourceSpectrum, rest: np.ndarray) -> np.ndarray:
    tau = spec.silicate_tau * silicate_profile(rest)
    for name, depth in spec.ices:
        centre, fwhm = ICE_BANDS[name]
        tau = tau + depth * np.exp(-0.5 * ((rest - centre) * (_FWHM_PER_SIGMA / fwhm)) ** 2)
    return np.exp(-tau)


def _per_um(lam_obs: np.ndarray) -> np.ndarray:
    """Jy -> W m^-2 um^-1 at observed wavelengths (um)."""
    return 1e-26 * _C_M_S / (lam_obs * 1e-6) ** 2 * 1e-6


def feature_truth(spec: SourceSpectrum) -> dict[str, float]:
    """The true features of ``spec`` (module docstring), by column name."""
    zp1 = 1.0 + spec.redshift
    continuum = dataclasses.replace(spec, pah=(), lines=())
    # the continuum at every wavelength asked for below, in one evaluation
    at_um = [at for _, at in _PAH_COMPLEXES.values()] + list(_CONTINUUM_UM.values())
    level = dict(zip(at_um, continuum.flux_jy(np.array(at_um) * zp1).tolist(), strict=True))
    out: dict[str, float] = {}
    peaks = dict(spec.pah)
    # every injected band of a reported complex at once: rows = bands, columns = samples
    bands = [(stem, name) for stem, (names, _) in _PAH_COMPLEXES.items() for name in names
             if name in peaks]
    band_flux = {}
    if bands:
        centre, fwhm = np.array([PAH_BANDS[name] for _, name in bands]).T
        gamma = (fwhm / centre)[:, None]
        rest = np.geomspace(centre / 2.0, 2.0 * centre, 1201, axis=1)
        drude = np.array([peaks[name] for _, name in bands])[:, None] * gamma**2 / (
            (rest / centre[:, None] - centre[:, None] / rest) ** 2 + gamma**2)
        lam = rest * zp1
        fluxes = np.trapezoid(drude * _screen(spec, rest) * _per_um(lam), lam, axis=1)
        for (stem, _), value in zip(bands, fluxes.tolist(), strict=True):
            band_flux[stem] = band_flux.get(stem, 0.0) + value
    for stem, (_, at_um) in _PAH_COMPLEXES.items():
        flux = band_flux.get(stem, 0.0)
        out[f"{stem}_flux"] = flux
        f_lambda = level[at_um] * float(_per_um(np.array([at_um * zp1]))[0])
        out[f"{stem}_ew"] = flux / f_lambda / zp1 if f_lambda > 0 else math.nan
    no_silicate = dataclasses.replace(spec, silicate_tau=0.0, silicate_emission=0.0)
    rest = np.array([9.7, 18.0])
    with_sil = spec._continuum(rest)[0]
    without = no_silicate._continuum(rest)[0]
    ratio = np.divide(with_sil, without, out=np.ones(2), where=without > 0)
    out["sil_9p7"], out["sil_18"] = (float(v) for v in np.log(ratio))
    depths = dict(spec.ices)
    out.update({stem: float(depths.get(name, 0.0)) for stem, name in _ICES.items()})
    fluxes = {line.name: line.flux_w_m2 for line in spec.lines}
    out.update({f"{stem}_flux": float(fluxes.get(name, 0.0)) for name, stem in _LINES.items()})
    for stem, at_um in _CONTINUUM_UM.items():
        out[stem] = level[at_um]
    if out["cont_15"] > 0 and out["cont_30"] > 0:
        out["alpha_15_30"] = math.log(out["cont_30"] / out["cont_15"]) / math.log(2.0)
    return out
