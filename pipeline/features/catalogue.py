"""What the feature measurer knows about the mid-infrared sky, read from published lists.

* PAH Drude components, their complexes and the dust-continuum temperatures: the PAHFIT
  "classic" science pack (Smith et al. 2007, Table 3), ``data/pahfit_science_classic.yaml``;
* line wavelengths (vacuum): fine-structure lines from the MPE ISO list
  (``data/mpe_iso_finestructure_lines_isolines.txt``), H2 0-0 S(0)-S(7) from Black & van
  Dishoeck 1988 (``data/H2-ISO.csv``), HI from Mohr et al. 2008 (two values, irs.md 5.3);
* the resolving power of each IRS order: the PAHFIT Spitzer instrument pack
  (``data/pahfit_instrument_spitzer.yaml``, IRS Instrument Handbook sec. 4.1.3);
* ice bands: centres and widths from the laboratory-matched band shapes of Boogert et al.
  2008 (ApJ 678, 985: H2O 6.0 um bend, 6.85 um band, H2O libration ~13 um) and
  Pontoppidan et al. 2008 (ApJ 678, 1005: CO2 15.2 um bend, about 20 cm^-1 wide), kept as
  Gaussian optical-depth profiles (a stand-in: the real bands are asymmetric);
* the silicate attenuation shape of PAHFIT's S07 model (irs.md 5.5): the 18 um O-Si-O band
  as a Drude of FWHM 0.247 x 18 um and 0.4 of the 9.7 um peak; the 9.7 um band, tabulated
  in PAHFIT (Kemper, Vriend & Tielens 2004), is approximated here by an asymmetric
  Gaussian peaking at 9.7 um (HWHM 1.06 um blue, 1.41 um red), the table not being at hand.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

import numpy as np
import yaml

__all__ = ["ICE_BANDS", "LINES", "PAH_COMPLEXES", "REPORTED_LINES", "continuum_temperatures",
           "line_wavelengths", "pah_components", "resolving_power", "silicate_bands"]

_DATA = Path(__file__).with_name("data")

#: reported PAH complexes -> the PAHFIT classic components summed into each, with the
#: wavelength (um) its equivalent width is taken at (Smith et al. 2007 Table 3)
PAH_COMPLEXES: dict[str, tuple[tuple[str, ...], float]] = {
    "pah_6p2": (("PAH_6.2",), 6.22),
    "pah_7p7": (("PAH_7.7a", "PAH_7.7b", "PAH_7.7c"), 7.7),
    "pah_8p6": (("PAH_8.6",), 8.61),
    "pah_11p3": (("PAH_11.3a", "PAH_11.3b"), 11.3),
    "pah_12p7": (("PAH_12.6a", "PAH_12.6b"), 12.7),
    "pah_17": (("PAH_17a", "PAH_17b", "PAH_17c", "PAH_17d"), 17.0),
}

#: ice bands -> (centre um, FWHM um) of a Gaussian optical depth (module docstring); the
#: libration band is fitted (it shapes the continuum under CO2) but not reported
ICE_BANDS: dict[str, tuple[float, float]] = {
    "tau_h2o_6p0": (6.02, 0.55),
    "tau_6p85": (6.85, 0.33),
    "tau_h2o_13": (13.0, 3.0),
    "tau_co2_15p2": (15.2, 0.45),
}

#: reported lines: column stem -> (species in the MPE list, MPE wavelength to pick the
#: transition by, to 0.01 um) or an H2 0-0 S(J) line
REPORTED_LINES: dict[str, tuple[str, float]] = {
    "ar2_6p99": ("[ArII]", 6.99), "ar3_8p99": ("[ArIII]", 8.99),
    "s4_10p51": ("[SIV]", 10.51), "ne2_12p81": ("[NeII]", 12.81),
    "ne5_14p32": ("[NeV]", 14.32), "ne3_15p56": ("[NeIII]", 15.56),
    "s3_18p71": ("[SIII]", 18.71), "ne5_24p32": ("[NeV]", 24.32),
    "o4_25p89": ("[OIV]", 25.89), "fe2_25p99": ("[FeII]", 25.99),
    "s3_33p48": ("[SIII]", 33.48), "si2_34p82": ("[SiII]", 34.82),
    **{f"h2_s{j}": ("H2", float(j)) for j in range(8)},
}
#: lines fitted so that they do not bias their neighbours, not reported
_OTHER_LINES: dict[str, tuple[str, float]] = {
    "fe2_5p34": ("[FeII]", 5.34), "mg5_5p61": ("[MgV]", 5.61), "ne6_7p65": ("[NeVI]", 7.65),
    "ar5_7p90": ("[ArV]", 7.90), "ar5_13p10": ("[ArV]", 13.10), "fe2_17p94": ("[FeII]", 17.94),
    "ar3_21p83": ("[ArIII]", 21.83), "fe2_24p52": ("[FeII]", 24.52),
    "s1_25p25": ("[SI]", 25.25), "fe2_35p35": ("[FeII]", 35.35),
    "ne3_36p01": ("[NeIII]", 36.01),
}
#: HI lines in range (Mohr et al. 2008 via irs.md 5.3), fitted, not reported
_HI_LINES = {"hi_7_6": 12.371898, "hi_6_5": 7.459858}


@cache
def _mpe_lines() -> list[tuple[str, float]]:
    out = []
    for row in (_DATA / "mpe_iso_finestructure_lines_isolines.txt").read_text().splitlines():
        parts = row.split()
        if len(parts) >= 3 and parts[0].startswith("["):
            out.append((parts[0], float(parts[2])))
    return out


@cache
def _h2_lines() -> dict[int, float]:
    out = {}
    with (_DATA / "H2-ISO.csv").open(newline="") as fh:
        for name, value in csv.reader(fh):
            match = re.fullmatch(r"\s*H2\s+0-\s*0\s+S\(\s*(\d+)\)", name)
            if match:
                out[int(match.group(1))] = float(value)
    return out


def _resolve(species: str, approx_um: float) -> float:
    if species == "H2":
        return _h2_lines()[int(approx_um)]
    found = [lam for name, lam in _mpe_lines() if name == species and
             abs(lam - approx_um) < 0.01]
    if len(found) != 1:
        raise LookupError(f"{species} {approx_um} is not (uniquely) in the MPE list")
    return found[0]


@cache
def line_wavelengths() -> dict[str, float]:
    """Every fitted line: stem -> rest vacuum wavelength (um); reported lines first."""
    out = {stem: _resolve(*spec) for stem, spec in REPORTED_LINES.items()}
    out.update({stem: _resolve(*spec) for stem, spec in _OTHER_LINES.items()})
    out.update(_HI_LINES)
    return out


LINES = tuple(REPORTED_LINES)


@cache
def _science_pack() -> dict:
    return yaml.safe_load((_DATA / "pahfit_science_classic.yaml").read_text())


@cache
def pah_components() -> dict[str, tuple[float, float]]:
    """PAHFIT classic dust features: component name -> (centre um, FWHM um)."""
    out = {}
    for name, entry in _science_pack().items():
        if not isinstance(entry, dict) or entry.get("kind") != "dust_feature":
            continue
        for sub, feature in (entry.get("features") or {name: entry}).items():
            out[sub] = (float(feature["wavelength"]), float(feature["fwhm"]))
    return out


@cache
def continuum_temperatures() -> tuple[float, tuple[float, ...]]:
    """(starlight temperature, dust temperatures) of the PAHFIT classic pack (K)."""
    pack = _science_pack()
    return (float(pack["starlight"]["temperature"]),
            tuple(float(t) for t in pack["dust_cont"]["temperature"]))


@cache
def _orders() -> list[tuple[str, float, float, tuple[float, ...]]]:
    pack = yaml.safe_load((_DATA / "pahfit_instrument_spitzer.yaml").read_text())["irs"]
    out = []
    for module, entry in pack.items():
        parts = {"": entry} if "range" in entry else entry
        for order, spec in parts.items():
            lo, hi = spec["range"]
            out.append((f"{module.upper()}{order}", float(lo), float(hi),
                        tuple(float(c) for c in spec["coefficients"])))
    return out


def resolving_power(wavelength_um: np.ndarray, high_resolution: bool) -> np.ndarray:
    """R = lambda / FWHM of the IRS at each observed wavelength (PAHFIT instrument pack):
    600 for SH/LH; for SL/LL the first order covering the wavelength (SL2, SL1, LL2, LL1;
    the bonus orders SL3/LL3 share SL1/LL1's polynomial)."""
    lam = np.asarray(wavelength_um, dtype=float)
    if high_resolution:
        return np.full(lam.shape, 600.0)
    out = np.full(lam.shape, np.nan)
    for name in ("SL2", "SL1", "LL2", "LL1"):
        _, lo, hi, coefficients = next(o for o in _orders() if o[0] == name)
        todo = np.isnan(out) & (lam >= lo - 0.3) & (lam <= hi + 0.3)
        out[todo] = np.polynomial.polynomial.polyval(lam[todo], coefficients)
    out[np.isnan(out)] = 100.0
    return out


_SIL_PEAK_UM, _SIL_SIGMA_BLUE_UM, _SIL_SIGMA_RED_UM = 9.7, 0.9, 1.2
_SIL18_UM, _SIL18_GAMMA, _SIL18_PEAK = 18.0, 0.247, 0.4


def silicate_bands(rest_um: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 9.7 and 18 um bands of the silicate optical depth per unit tau(9.7 um) at rest
    wavelengths (module docstring); their sum is the S07-like shape."""
    rest = np.asarray(rest_um, dtype=float)
    d = rest - _SIL_PEAK_UM
    sigma = np.where(d < 0.0, _SIL_SIGMA_BLUE_UM, _SIL_SIGMA_RED_UM)
    u = rest / _SIL18_UM - _SIL18_UM / rest
    g2 = _SIL18_GAMMA**2
    return np.exp(-0.5 * (d / sigma) ** 2), _SIL18_PEAK * g2 / (u * u + g2)
