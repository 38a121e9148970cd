"""Features of one spectrum, or of one position (its LR and HR spectra), as a flat row.

Conventions (the columns of ``cassisjuice.features``; ``columns()`` lists them):

* every value has ``<name>_err`` (1 sigma) and ``<name>_flag``: 1 = detected (value at
  least 3 sigma from zero), 0 = not detected, NULL = not measured (the spectrum does not
  cover the feature). For line and PAH fluxes, PAH equivalent widths and ice optical
  depths a 0 flag means the value is the 3 sigma upper limit max(value, 0) + 3 sigma;
  silicate strengths, continua, the index and the photometry keep their measured value;
* line and PAH fluxes are observed integrated fluxes (W m^-2); a PAH complex is the sum of
  its PAHFIT components, each Drude profile times the fitted attenuation, integrated over
  rest wavelengths lambda0/2 - 2 lambda0; equivalent widths are rest-frame (um), against
  the attenuated continuum at the complex's wavelength;
* silicate strength S = ln(F(lambda) / F_cont(lambda)) at rest 9.7 and 18 um (Spoon et al.
  2007, ApJ 654, L49), i.e. minus the fitted silicate optical depth there: negative for
  absorption, positive for emission; ice optical depths are the peak depths of the bands;
* continuum flux densities (Jy) at rest 5.5, 10, 15, 24 and 30 um: the fitted continuum
  (attenuated, without PAHs and lines); the spectral index alpha(15, 30) =
  ln(F_nu(30) / F_nu(15)) / ln 2 (F_nu ~ lambda^alpha);
* synthetic photometry (Jy) in the observed frame (``photometry``).

A position: broad features (PAH, silicate, ices, continuum, index) come from the LR
spectrum, which covers 5.2-38 um, and from HR only when there is no LR measurement; each
line from whichever arm measures it with the smaller uncertainty (HR, R = 600, separates
what LR blends; LR wins for faint lines on bright continua); the photometry from LR, else
HR. The arm each group came from is recorded (``arm_continuum``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .catalogue import (
    ICE_BANDS,
    LINES,
    PAH_COMPLEXES,
    line_wavelengths,
    pah_components,
    silicate_bands,
)
from .decompose import LINE_UNIT_W_M2, Decomposition, decompose, drude
from .photometry import BANDS, synthetic_photometry

__all__ = ["Column", "Spectrum1D", "columns", "measure_position", "measure_spectrum"]

_C_M_S = 2.99792458e8
_CONTINUUM_UM = {"cont_5p5": 5.5, "cont_10": 10.0, "cont_15": 15.0, "cont_24": 24.0,
                 "cont_30": 30.0}
_REPORTED_ICES = ("tau_h2o_6p0", "tau_6p85", "tau_co2_15p2")
_DETECTION_SIGMA = 3.0


class Spectrum1D(NamedTuple):
    """A spectrum to measure: observed vacuum wavelengths (um), F_nu and its error (Jy)."""

    wavelength_um: np.ndarray
    flux_jy: np.ndarray
    error_jy: np.ndarray


class Column(NamedTuple):
    name: str
    type: str
    unit: str | None
    ucd: str
    description: str


def _triple(name, unit, ucd, what) -> list[Column]:
    return [Column(name, "double precision", unit, ucd, what),
            Column(f"{name}_err", "double precision", unit, "stat.error;" + ucd.split(";")[0],
                   f"Uncertainty (1 sigma) of {name}"),
            Column(f"{name}_flag", "smallint", None, "meta.code.qual",
                   f"1: {name} detected at 3 sigma or more; 0: not detected; NULL: not "
                   "measured (not covered)")]


def columns() -> list[Column]:
    """Every column of the features table, in order (the resdir declares the same)."""
    out = [Column("cj_id", "text", None, "meta.id;meta.main",
                  "CASSISjuice identifier of the position (cassisjuice.positions.cj_id)"),
           Column("redshift", "double precision", None, "src.redshift",
                  "Redshift the features were measured at (0 when the catalogue has none: "
                  "rest frame = observed frame)"),
           Column("arm_continuum", "text", None, "instr.setup",
                  "Arm the PAH, silicate, ice, continuum and photometry values come from "
                  "(LR or HR)")]
    lines = line_wavelengths()
    for stem, (components, at_um) in PAH_COMPLEXES.items():
        label = f"PAH {stem[4:].replace('p', '.')} um complex"
        out += _triple(f"{stem}_flux", "W.m**-2", "phot.flux;spect.line",
                       f"Observed flux of the {label} (PAHFIT components "
                       f"{', '.join(components)}); upper limit when the flag is 0")
        out += _triple(f"{stem}_ew", "um", "spect.line.eqWidth",
                       f"Rest-frame equivalent width of the {label} against the continuum "
                       f"at {at_um:g} um; upper limit when the flag is 0")
    for stem, at_um in (("sil_9p7", 9.7), ("sil_18", 18.0)):
        out += _triple(stem, None, "spect.line.intensity;phys.absorption",
                       f"Silicate strength ln(F/F_cont) at rest {at_um:g} um (negative: "
                       "absorption, positive: emission)")
    for stem in _REPORTED_ICES:
        centre = ICE_BANDS[stem][0]
        what = {"tau_h2o_6p0": "H2O ice 6.0 um", "tau_6p85": "6.85 um ice",
                "tau_co2_15p2": "CO2 ice 15.2 um"}[stem]
        out += _triple(stem, None, "phys.absorption.opticalDepth",
                       f"Peak optical depth of the {what} band (centre {centre:g} um); "
                       "upper limit when the flag is 0")
    for stem in LINES:
        label = _line_label(stem)
        out += _triple(f"{stem}_flux", "W.m**-2", "phot.flux;spect.line",
                       f"Observed flux of {label} (rest {lines[stem]:.5f} um); 3 sigma upper "
                       "limit when the flag is 0")
    for stem, at_um in _CONTINUUM_UM.items():
        out += _triple(stem, "Jy", "phot.flux.density;em.IR.MIR",
                       f"Continuum flux density at rest {at_um:g} um (without PAHs and lines)")
    out += _triple("alpha_15_30", None, "spect.index;em.IR.MIR",
                   "Spectral index ln(F_nu(30)/F_nu(15))/ln 2 of the continuum at rest 15 and "
                   "30 um (F_nu ~ lambda^alpha)")
    names = {"irac8": "Spitzer IRAC 8.0 um", "pu16": "IRS blue peak-up 16 um",
             "pu22": "IRS red peak-up 22 um", "mips24": "MIPS 24 um", "w3": "WISE W3",
             "w4": "WISE W4"}
    for band, (lo, hi) in BANDS.items():
        out += _triple(f"phot_{band}", "Jy", "phot.flux.density;em.IR.MIR",
                       f"Synthetic photometry in the {names[band]} band (trapezoid "
                       f"{lo:.2f}-{hi:.2f} um, observed frame, no colour correction)")
    return out


def _line_label(stem: str) -> str:
    if stem.startswith("h2_s"):
        return f"H2 0-0 S({stem[4:]})"
    ion, wave = stem.split("_")
    element, stage = ion.rstrip("0123456789"), int(ion.lstrip("abcdefghijklmnopqrstuvwxyz"))
    roman = ("I", "II", "III", "IV", "V", "VI")[stage - 1]
    return f"[{element.capitalize()}{roman}] {wave.replace('p', '.')} um"


def _flag(row: dict, name: str, value: float, err: float, limit: bool) -> None:
    if not (math.isfinite(value) and math.isfinite(err)):
        return
    # an emission line, a band or an optical depth is detected when positive at 3 sigma;
    # a signed quantity (silicate strength, continuum, index) when either way from zero
    detected = err > 0 and (value if limit else abs(value)) >= _DETECTION_SIGMA * err
    if limit and not detected:
        value = max(value, 0.0) + _DETECTION_SIGMA * err
    row[name], row[f"{name}_err"], row[f"{name}_flag"] = float(value), float(err), int(detected)


def _jy_hz_per_um(lam_obs: np.ndarray) -> np.ndarray:
    """d(nu)/d(lambda) times 1e-26: a F_nu (Jy) integrand per um -> W m^-2 per um."""
    return 1e-26 * _C_M_S / (lam_obs * 1e-6) ** 2 * 1e-6


def _pah(row: dict, fit: Decomposition) -> None:
    comps = pah_components()
    index = {n: i for i, n in enumerate(fit.names)}
    zp1 = 1.0 + fit.redshift
    lo, hi = float(fit.rest.min()), float(fit.rest.max())
    cont_idx = fit.index("continuum")
    for stem, (components, at_um) in PAH_COMPLEXES.items():
        if not all(n in index and lo < comps[n][0] - comps[n][1] and
                   comps[n][0] + comps[n][1] < hi for n in components):
            continue
        weights = np.zeros(fit.params.size)
        for n in components:
            centre, fwhm = comps[n]
            r = np.geomspace(centre / 2.0, 2.0 * centre, 1201)
            integrand = drude(r, centre, fwhm) * fit.attenuation(r) * _jy_hz_per_um(r * zp1)
            weights[index[n]] = float(np.trapezoid(integrand, r * zp1))
        flux = float(weights @ fit.params)
        flux_err = float(np.sqrt(max(weights @ fit.cov @ weights, 0.0)))
        _flag(row, f"{stem}_flux", flux, flux_err, limit=True)
        at = np.array([at_um])
        cont_jy = float((fit.continuum_basis(at) @ fit.params[cont_idx])[0]
                        * fit.attenuation(at)[0])
        f_lambda = cont_jy * _jy_hz_per_um(at * zp1)[0]
        if f_lambda > 0:
            _flag(row, f"{stem}_ew", flux / f_lambda / zp1, flux_err / f_lambda / zp1,
                  limit=True)


def _silicate_and_ices(row: dict, fit: Decomposition) -> None:
    lo, hi = float(fit.rest.min()), float(fit.rest.max())
    covered = {"sil_9p7": "tau_9p7" in fit.taus and lo < 8.0 and hi > 12.0,
               "sil_18": "tau_18" in fit.taus and lo < 15.0 and hi > 21.0}
    for stem, at_um in (("sil_9p7", 9.7), ("sil_18", 18.0)):
        if covered[stem]:
            b97, b18 = (float(v[0]) for v in silicate_bands(np.array([at_um])))
            tau = fit.taus.get("tau_9p7", 0.0) * b97 + fit.taus.get("tau_18", 0.0) * b18
            err = math.hypot(fit.tau_errors.get("tau_9p7", 0.0) * b97,
                             fit.tau_errors.get("tau_18", 0.0) * b18)
            _flag(row, stem, -tau, err, limit=False)
    for stem in _REPORTED_ICES:
        if stem in fit.taus:
            _flag(row, stem, fit.taus[stem], fit.tau_errors[stem], limit=True)


def _continuum(row: dict, fit: Decomposition) -> None:
    cont_idx = fit.index("continuum")
    coeffs = fit.params[cont_idx]
    cov = fit.cov[np.ix_(cont_idx, cont_idx)]
    lo, hi = float(fit.rest.min()), float(fit.rest.max())
    for stem, at_um in _CONTINUUM_UM.items():
        if not lo <= at_um <= hi:
            continue
        at = np.array([at_um])
        basis = fit.continuum_basis(at)[0] * fit.attenuation(at)[0]
        _flag(row, stem, float(basis @ coeffs), float(np.sqrt(max(basis @ cov @ basis, 0.0))),
              limit=False)
    f15, f30 = row.get("cont_15"), row.get("cont_30")
    if f15 and f30 and f15 > 0 and f30 > 0:
        err = math.hypot(row["cont_15_err"] / f15, row["cont_30_err"] / f30) / math.log(2.0)
        _flag(row, "alpha_15_30", math.log(f30 / f15) / math.log(2.0), err, limit=False)


def _lines(row: dict, fit: Decomposition) -> None:
    index = {n: i for i, n in enumerate(fit.names)}
    for stem in LINES:
        if stem in index:
            i = index[stem]
            _flag(row, f"{stem}_flux", float(fit.params[i]) * LINE_UNIT_W_M2,
                  float(np.sqrt(max(fit.cov[i, i], 0.0))) * LINE_UNIT_W_M2, limit=True)


def measure_spectrum(spectrum: Spectrum1D, redshift: float = 0.0,
                     high_resolution: bool = False) -> dict[str, Any]:
    """Every feature one spectrum gives (keys of ``columns()``; absent: not measured)."""
    if not (math.isfinite(redshift) and redshift >= 0.0):
        raise ValueError(f"redshift must be a number >= 0, not {redshift!r}")
    row: dict[str, Any] = {}
    fit = decompose(*spectrum, redshift=redshift, high_resolution=high_resolution)
    if fit is not None:
        _pah(row, fit)
        _silicate_and_ices(row, fit)
        _continuum(row, fit)
        _lines(row, fit)
    for band, (value, err) in synthetic_photometry(*spectrum).items():
        _flag(row, f"phot_{band}", value, err, limit=False)
    return row


def measure_position(cj_id: str, spectra: Mapping[str, Spectrum1D],
                     redshift: float | None = None) -> dict[str, Any]:
    """The features row of a position from its spectra by arm ("LR", "HR"), combined as
    the module docstring says; every column of ``columns()`` is a key (None: not
    measured)."""
    z = float(redshift) if redshift is not None and math.isfinite(redshift) else 0.0
    per_arm = {arm: measure_spectrum(s, z, high_resolution=arm == "HR")
               for arm, s in spectra.items() if arm in ("LR", "HR")}
    row: dict[str, Any] = {c.name: None for c in columns()}
    row.update(cj_id=cj_id, redshift=z)
    line_keys = {f"{stem}_flux" for stem in LINES}
    for arm in ("HR", "LR"):  # LR last: it wins the broad features
        values = per_arm.get(arm)
        if not values:
            continue
        broad = {k: v for k, v in values.items()
                 if not any(k.startswith(line) for line in line_keys)}
        if broad:
            row.update(broad)
            row["arm_continuum"] = arm
    for stem in LINES:
        key = f"{stem}_flux"
        candidates = [v for v in per_arm.values() if v.get(f"{key}_err") is not None]
        if candidates:
            best = min(candidates, key=lambda v: v[f"{key}_err"])
            for suffix in ("", "_err", "_flag"):
                row[key + suffix] = best[key + suffix]
    return row
