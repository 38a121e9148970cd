"""Features measured on spectra with injected features, against what was injected.

The spectra are the simulator's sky model (``pipeline.simulate.sky``) sampled on the IRS
orders with their resolving power and Gaussian noise of a known level; the expected values
are the injected ones (line fluxes, ice depths) or computed from the model's components by
``pipeline.simulate.feature_truth`` (silicate strengths, PAH fluxes), never by measuring.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.features import Spectrum1D, columns, measure_position, measure_spectrum
from pipeline.instrument import default_model
from pipeline.simulate.feature_truth import feature_truth
from pipeline.simulate.sky import EMBEDDED_YSO, LINES, PAH_GALAXY, EmissionLine, SourceSpectrum

ROOT = Path(__file__).resolve().parents[2]
_LR_ORDERS = ("SL2", "SL3", "SL1", "LL2", "LL3", "LL1")


def _grid(orders):
    irs = default_model()
    lam, res = [], []
    for name in orders:
        order = irs.order(name)
        w = order.geometry.wavelength_um
        lo, hi = order.usable_range_um
        w = np.sort(w[(w >= lo) & (w <= hi)])
        lam.append(w)
        res.append(order.resolving_power(w))
    return np.concatenate(lam), np.concatenate(res)


def _observe(spec: SourceSpectrum, orders, noise_fraction: float, seed: int) -> Spectrum1D:
    lam, res = _grid(orders)
    flux = spec.flux_jy(lam, res)
    err = noise_fraction * np.abs(spec.continuum_15um_jy) * np.ones_like(lam) + \
        0.002 * np.abs(flux)
    noisy = flux + np.random.default_rng(seed).standard_normal(lam.size) * err
    return Spectrum1D(lam, noisy, err)


def _hr_orders():
    irs = default_model()
    return tuple(o.name for m in ("SH", "LH") for o in reversed(irs.module(m).orders))


@pytest.fixture(scope="module")
def yso():
    level = 0.5
    lines = (EmissionLine("H2 S(1)", LINES["H2 S(1)"], 4e-16),
             EmissionLine("[NeII] 12.81", LINES["[NeII] 12.81"], 6e-16),
             # far below the noise: must come out as an upper limit
             EmissionLine("[SIII] 33.48", LINES["[SIII] 33.48"], 2e-18))
    return SourceSpectrum(EMBEDDED_YSO, 0.0, level, dust=((800.0, 0.1), (250.0, 0.3)),
                          powerlaw_weight=1.0, powerlaw_index=1.6, silicate_tau=2.5,
                          ices=(("H2O 6.0", 0.35), ("6.85", 0.15), ("H2O 13", 0.08),
                                ("CO2 15.2", 0.7)), lines=lines)


@pytest.fixture(scope="module")
def galaxy():
    pah = (("PAH 6.22", 0.9), ("PAH 7.42", 0.4), ("PAH 7.60", 1.1), ("PAH 7.85", 0.9),
           ("PAH 8.33", 0.15), ("PAH 8.61", 0.6), ("PAH 11.23", 1.3), ("PAH 11.33", 0.8),
           ("PAH 11.99", 0.25), ("PAH 12.62", 0.5), ("PAH 12.69", 0.15),
           ("PAH 16.45", 0.12), ("PAH 17.04", 0.35), ("PAH 17.37", 0.15), ("PAH 17.87", 0.1))
    lines = (EmissionLine("[NeII] 12.81", LINES["[NeII] 12.81"], 3e-15),
             EmissionLine("[NeIII] 15.56", LINES["[NeIII] 15.56"], 1e-15),
             EmissionLine("[SIII] 33.48", LINES["[SIII] 33.48"], 2e-15))
    return SourceSpectrum(PAH_GALAXY, 0.05, 0.2, dust=((75.0, 0.5), (200.0, 0.4)),
                          silicate_tau=0.4, pah=tuple((n, 0.2 * p) for n, p in pah),
                          lines=lines)


def test_embedded_yso_ices_silicate_and_lines(yso):
    row = measure_spectrum(_observe(yso, _LR_ORDERS, 0.004, 1), 0.0)
    truth = feature_truth(yso)
    injected = dict(yso.ices)
    assert row["tau_h2o_6p0"] == pytest.approx(injected["H2O 6.0"], abs=0.05)
    assert row["tau_6p85"] == pytest.approx(injected["6.85"], abs=0.05)
    assert row["tau_co2_15p2"] == pytest.approx(injected["CO2 15.2"], abs=0.05)
    assert all(row[f"{k}_flag"] == 1 for k in ("tau_h2o_6p0", "tau_6p85", "tau_co2_15p2"))
    assert row["sil_9p7"] == pytest.approx(truth["sil_9p7"], abs=0.1)
    assert truth["sil_9p7"] < -2.0 and row["sil_9p7_flag"] == 1
    assert row["sil_18"] == pytest.approx(truth["sil_18"], abs=0.1)
    fluxes = {line.name: line.flux_w_m2 for line in yso.lines}
    assert row["h2_s1_flux"] == pytest.approx(fluxes["H2 S(1)"], rel=0.10)
    assert row["ne2_12p81_flux"] == pytest.approx(fluxes["[NeII] 12.81"], rel=0.10)
    # the faint line: not detected, and the limit is above the injected flux
    assert row["s3_33p48_flux_flag"] == 0
    assert row["s3_33p48_flux"] >= fluxes["[SIII] 33.48"]
    # lines never injected: not detected
    assert row["o4_25p89_flux_flag"] == 0 and row["ne5_14p32_flux_flag"] == 0
    # no PAH injected
    assert row["pah_11p3_flux_flag"] == 0 and row["pah_7p7_flux_flag"] == 0
    for stem in ("cont_10", "cont_15", "cont_30"):
        assert row[stem] == pytest.approx(truth[stem], rel=0.05)


def test_pah_galaxy_at_a_redshift(galaxy):
    row = measure_spectrum(_observe(galaxy, _LR_ORDERS, 0.005, 2), galaxy.redshift)
    truth = feature_truth(galaxy)
    for stem in ("pah_6p2", "pah_7p7", "pah_8p6", "pah_11p3", "pah_12p7"):
        assert row[f"{stem}_flux"] == pytest.approx(truth[f"{stem}_flux"], rel=0.15), stem
        assert row[f"{stem}_flux_flag"] == 1
        assert row[f"{stem}_ew"] == pytest.approx(truth[f"{stem}_ew"], rel=0.15), stem
    assert row["sil_9p7"] == pytest.approx(truth["sil_9p7"], abs=0.1)
    assert row["tau_co2_15p2_flag"] == 0
    fluxes = {line.name: line.flux_w_m2 for line in galaxy.lines}
    assert row["ne3_15p56_flux"] == pytest.approx(fluxes["[NeIII] 15.56"], rel=0.10)
    assert row["s3_33p48_flux"] == pytest.approx(fluxes["[SIII] 33.48"], rel=0.10)


def test_position_takes_lines_from_high_resolution(galaxy):
    lr = _observe(galaxy, _LR_ORDERS, 0.02, 3)
    hr = _observe(galaxy, _hr_orders(), 0.01, 4)
    row = measure_position("1_0", {"LR": lr, "HR": hr}, redshift=galaxy.redshift)
    fluxes = {line.name: line.flux_w_m2 for line in galaxy.lines}
    # [NeII] sits on the 12.7 um PAH complex: blended at R ~ 100, resolved at R = 600
    assert row["ne2_12p81_flux"] == pytest.approx(fluxes["[NeII] 12.81"], rel=0.10)
    lr_only = measure_spectrum(lr, galaxy.redshift)
    assert row["ne2_12p81_flux_err"] < lr_only["ne2_12p81_flux_err"]
    assert row["arm_continuum"] == "LR" and row["pah_6p2_flux"] is not None
    assert set(row) == {c.name for c in columns()}


def test_uncovered_features_are_null(galaxy):
    sl_only = _observe(galaxy, ("SL2", "SL3", "SL1"), 0.01, 5)
    row = measure_position("2_0", {"LR": sl_only}, redshift=galaxy.redshift)
    assert row["pah_6p2_flux"] is not None
    assert row["cont_30"] is None and row["cont_30_flag"] is None
    assert row["s3_33p48_flux"] is None and row["phot_mips24"] is None
    assert row["sil_18"] is None and row["alpha_15_30"] is None


def test_bad_redshift_is_refused(galaxy):
    with pytest.raises(ValueError, match="redshift"):
        measure_spectrum(_observe(galaxy, ("SL1",), 0.01, 6), -0.1)


def test_measurer_does_not_import_the_simulator():
    code = ("import sys, pipeline.features, pipeline.features.measure; "
            "print(any(m.startswith('pipeline.simulate') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
    for path in (ROOT / "pipeline" / "features").glob("*.py"):
        assert "simulate" not in path.read_text().replace("simulated", ""), path


def test_resdir_declares_every_measured_column():
    from vo_service.metadata.rd import load

    table = load().table("features")
    declared = [(c.name, c.type, c.unit, c.ucd) for c in table.columns]
    measured = [(c.name, c.type, c.unit, c.ucd) for c in columns()]
    assert declared == measured
    assert table.primary == "cj_id" and table.adql


def test_line_flux_agrees_with_specutils_band_integral(galaxy):
    """An independent measure of one HR line: specutils' line_flux over the line after a
    straight continuum through its sidebands, against the decomposition and the injection."""
    import astropy.units as u
    from specutils import SpectralRegion, Spectrum
    from specutils.analysis import line_flux

    hr = _observe(galaxy, _hr_orders(), 0.002, 7)
    centre = LINES["[NeIII] 15.56"] * (1.0 + galaxy.redshift)
    lam, flux = hr.wavelength_um, hr.flux_jy
    order = np.argsort(lam)
    lam, flux = lam[order], flux[order]
    window = np.abs(lam - centre) < 0.25
    side = window & (np.abs(lam - centre) > 0.1)
    continuum = np.polyval(np.polyfit(lam[side], flux[side], 1), lam[window])
    spectrum = Spectrum(flux=((flux[window] - continuum) * u.Jy).to(
        u.W / u.m**2 / u.um, equivalencies=u.spectral_density(lam[window] * u.um)),
        spectral_axis=lam[window] * u.um)
    reference = line_flux(spectrum, SpectralRegion((centre - 0.1) * u.um,
                                                   (centre + 0.1) * u.um)).to(u.W / u.m**2)
    row = measure_spectrum(hr, galaxy.redshift, high_resolution=True)
    injected = {line.name: line.flux_w_m2 for line in galaxy.lines}["[NeIII] 15.56"]
    assert reference.value == pytest.approx(injected, rel=0.10)
    assert row["ne3_15p56_flux"] == pytest.approx(reference.value, rel=0.10)
