"""Features of real CASSIS spectra against bounds from the literature.

The bounds are ranges the published analyses of these objects (or of their class, where an
object-specific value is not at hand offline) allow, wide enough for the differences of
method (continuum choice, band profiles) between those papers and the decomposition:

* L1014 IRS, HH 46 IRS, ISOY J053524.30-050830.8: embedded YSOs with a deep 9.7 um
  silicate band and H2O, 6.85 um and CO2 ices. The Spitzer c2d ice survey (Boogert et al.
  2008, ApJ 678, 985; Pontoppidan et al. 2008, ApJ 678, 1005), which includes L1014 IRS
  and HH 46 IRS (first analysed by Boogert et al. 2004, ApJS 154, 359), finds
  tau(9.7) ~ 1-5, tau(6.0) ~ 0.1-1.5, tau(6.85) ~ 0.05-1 and CO2 15.2 um peak depths
  ~ 0.2-2 for such sources.
* Cyg OB2 #12: a hypergiant behind diffuse interstellar dust (A_V ~ 10): tau(9.7) =
  0.5-0.6 (Whittet et al. 1997, ApJ 490, 729; Fogerty et al. 2016, ApJ 830, 71) and no
  ices (the diffuse medium has none).
* CRBR 2422.8-3423: an edge-on disk with strong CO2 ice (Pontoppidan et al. 2005, ApJ
  622, 463).
* M101 nucleus (SINGS): a star-forming nucleus with all the PAH complexes; for SINGS
  galaxies Smith et al. 2007 (ApJ 656, 770, sec. 5 and Fig. 12) find L(6.2)/L(7.7) ~
  0.2-0.4, L(11.3)/L(7.7) ~ 0.2-0.5 and the 7.7 um complex ~ 40-50 % of the PAH power.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from astropy.table import Table

from pipeline.features import Spectrum1D, measure_spectrum
from vo_service.store.cassis_files import read_cassis_file

DATA = Path(__file__).resolve().parents[1] / "data" / "real_spectra"
#: redshift of M101 (NED: cz = 241 km/s)
M101_Z = 0.000804


def _measure(name: str, arm: str = "LR") -> dict:
    product = read_cassis_file(DATA / name)
    s = product.best(arm)
    return measure_spectrum(Spectrum1D(s.wavelength_um, s.flux_jy, s.flux_error_jy), 0.0,
                            high_resolution=arm == "HR")


@pytest.mark.parametrize("name", ["cassis_yaaar_spcfw_12116736t.fits",
                                  "cassis_yaaar_spcfw_7130112t.fits"])
def test_embedded_yso_silicate_and_ices(name):
    row = _measure(name)
    assert row["sil_9p7_flag"] == 1 and -5.0 < row["sil_9p7"] < -1.0
    for stem, (lo, hi) in {"tau_h2o_6p0": (0.1, 1.5), "tau_6p85": (0.05, 1.0)}.items():
        assert row[f"{stem}_flag"] == 1 and lo < row[stem] < hi, (stem, row[stem])


def test_l1014_irs_co2_ice():
    row = _measure("cassis_yaaar_spcfw_12116736t.fits")
    assert row["tau_co2_15p2_flag"] == 1 and 0.2 < row["tau_co2_15p2"] < 2.0


def test_orion_yso_deep_silicate_and_co2():
    row = _measure("cassis_yaaar_spcfw_20838656t.fits")
    assert row["sil_9p7_flag"] == 1 and row["sil_9p7"] < -1.0
    assert row["tau_co2_15p2_flag"] == 1 and 0.2 < row["tau_co2_15p2"] < 2.5


def test_cyg_ob2_12_interstellar_silicate_without_ice():
    row = _measure("cassis_yaaar_spcfw_27570176t.fits")
    assert row["sil_9p7_flag"] == 1 and -0.8 < row["sil_9p7"] < -0.35
    assert row["tau_co2_15p2_flag"] == 0 and row["tau_h2o_6p0_flag"] == 0


def test_crbr_2422_co2_ice_in_high_resolution():
    row = _measure("cassis_yaaar_full_9346048.fits", "HR")
    assert row["tau_co2_15p2_flag"] == 1 and 0.2 < row["tau_co2_15p2"] < 2.5


def test_m101_nucleus_pah_bands():
    t = Table.read(DATA / "M101_Nucleus_irs.ipac", format="ipac")
    row = measure_spectrum(Spectrum1D(t["wavelength"].data, t["flux"].data,
                                      t["sigma"].data), M101_Z)
    stems = ("pah_6p2", "pah_7p7", "pah_8p6", "pah_11p3", "pah_12p7", "pah_17")
    assert all(row[f"{s}_flux_flag"] == 1 and row[f"{s}_ew_flag"] == 1 for s in stems)
    p77 = row["pah_7p7_flux"]
    assert 0.2 < row["pah_6p2_flux"] / p77 < 0.4
    assert 0.15 < row["pah_11p3_flux"] / p77 < 0.5
    assert 0.35 < p77 / sum(row[f"{s}_flux"] for s in stems) < 0.6
    assert abs(row["sil_9p7"]) < 0.3
    assert row["ne2_12p81_flux_flag"] == 1 and row["s3_33p48_flux_flag"] == 1
