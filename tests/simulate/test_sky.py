"""The sky model: spectral classes, features, line fluxes, redshift, serialisation."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import pytest

from pipeline.instrument.standards import standard_flux_jy
from pipeline.simulate.sky import (
    LINES,
    SPECTRAL_CLASSES,
    EmissionLine,
    SourceSpectrum,
    make_spectrum,
    standard_star_spectrum,
)

C_UM_HZ = 2.99792458e14  # c in um Hz


def spectra(spectral_class: str, n: int = 6, seed: int = 0) -> list[SourceSpectrum]:
    rng = np.random.default_rng([seed, SPECTRAL_CLASSES.index(spectral_class)])
    return [make_spectrum(spectral_class, rng) for _ in range(n)]


def continuum_only(spectrum: SourceSpectrum) -> SourceSpectrum:
    return replace(spectrum, lines=())


@pytest.mark.parametrize("spectral_class", SPECTRAL_CLASSES)
def test_every_class_is_finite_and_positive(spectral_class):
    lam = np.linspace(4.5, 45.0, 3000)
    for spectrum in spectra(spectral_class, n=20):
        assert spectrum.spectral_class == spectral_class
        for r in (None, 100.0, np.linspace(60.0, 130.0, lam.size)):
            flux = spectrum.flux_jy(lam, r)
            assert flux.shape == lam.shape
            assert np.all(np.isfinite(flux))
            assert np.all(flux > 0.0)
        assert 0.003 <= spectrum.continuum_15um_jy <= 20.0


@pytest.mark.parametrize("spectral_class", SPECTRAL_CLASSES)
def test_redshift_defaults(spectral_class):
    z = np.array([s.redshift for s in spectra(spectral_class, n=200)])
    if spectral_class in ("pah_galaxy", "agn"):
        assert np.all((z > 0.0) & (z <= 0.3))
        assert 0.7 < np.mean(z < 0.1) < 0.95
    else:
        assert np.all(z == 0.0)


def test_flux_15um_sets_the_continuum_level():
    rng = np.random.default_rng(3)
    for spectral_class in SPECTRAL_CLASSES:
        spectrum = make_spectrum(spectral_class, rng, flux_15um_jy=0.25)
        assert spectrum.continuum_15um_jy == pytest.approx(0.25)
        level = spectrum.flux_jy(np.array([15.0]), 100.0)[0]
        if spectral_class in ("stellar_photosphere", "standard_star", "dusty_evolved_star"):
            assert level == pytest.approx(0.25, rel=1e-9)
        else:  # PAH wings, ice bands or lines near 15 um may change it a little
            assert 0.1 < level < 0.6


def test_shape_preserved_and_empty_input():
    spectrum = spectra("pah_galaxy", n=1)[0]
    grid = np.linspace(5.0, 30.0, 60).reshape(3, 20)
    assert spectrum.flux_jy(grid, np.full(grid.shape, 90.0)).shape == (3, 20)
    assert spectrum.flux_jy(np.array([])).shape == (0,)
    with pytest.raises(ValueError, match="resolving_power"):
        spectrum.flux_jy(np.linspace(5.0, 30.0, 10), np.ones(3))


def test_embedded_yso_has_silicate_and_ice_absorption():
    lam = np.array([8.0, 9.7, 13.0, 14.6, 15.2, 15.8])
    for spectrum in spectra("embedded_yso", n=20):
        f8, f97, f13, f146, f152, f158 = continuum_only(spectrum).flux_jy(lam)
        silicate_continuum = f8 + (f13 - f8) * (9.7 - 8.0) / (13.0 - 8.0)
        assert f97 < 0.5 * silicate_continuum
        assert f152 < 0.5 * (f146 + f158)  # CO2 ice
        ices = dict(spectrum.ices)
        assert set(ices) >= {"H2O 6.0", "6.85", "CO2 15.2"}


def test_dusty_evolved_star_has_silicate_or_sic_emission():
    for spectrum in spectra("dusty_evolved_star", n=20):
        assert spectrum.silicate_emission > 0.0 or spectrum.sic_emission > 0.0


@pytest.mark.parametrize("band_um, left_um, right_um", [
    (6.22, 5.9, 6.5), (7.65, 7.2, 9.2), (11.27, 10.8, 11.9),
])
def test_pah_galaxy_shows_pah_peaks(band_um, left_um, right_um):
    rng = np.random.default_rng(11)
    for _ in range(10):
        spectrum = continuum_only(make_spectrum("pah_galaxy", rng, redshift=0.0))
        peak, left, right = spectrum.flux_jy(np.array([band_um, left_um, right_um]))
        assert peak > 1.2 * max(left, right)


def test_redshift_moves_the_11_3_um_band():
    spectrum = continuum_only(spectra("pah_galaxy", n=1, seed=4)[0])
    rest = replace(spectrum, redshift=0.0)
    moved = replace(spectrum, redshift=0.1)
    lam = np.linspace(10.0, 14.0, 40001)
    window = (lam > 10.9) & (lam < 11.6)
    peak_rest = lam[window][np.argmax(rest.flux_jy(lam[window]))]
    window_z = (lam > 10.9 * 1.1) & (lam < 11.6 * 1.1)
    peak_z = lam[window_z][np.argmax(moved.flux_jy(lam[window_z]))]
    assert 11.15 < peak_rest < 11.4
    assert peak_z == pytest.approx(1.1 * peak_rest, abs=2e-3)


@pytest.mark.parametrize("resolving_power", [60.0, 120.0, 600.0, "array"])
def test_line_flux_integrates_to_declared_value(resolving_power):
    rng = np.random.default_rng(5)
    spectrum = make_spectrum("planetary_nebula", rng, redshift=0.02)
    bare = continuum_only(spectrum)
    for line in spectrum.line_list():
        centre = line["wavelength_um"]
        lam = np.linspace(centre * 0.9, centre * 1.1, 200001)
        r = (np.interp(lam, [4.0, 40.0], [60.0, 130.0]) if resolving_power == "array"
             else resolving_power)
        one = replace(bare, lines=(EmissionLine(line["name"], line["rest_wavelength_um"],
                                                line["flux_w_m2"]),))
        excess_jy = one.flux_jy(lam, r) - bare.flux_jy(lam, r)
        nu = C_UM_HZ / lam[::-1]
        integral = np.trapezoid(excess_jy[::-1] * 1e-26, nu)
        assert integral == pytest.approx(line["flux_w_m2"], rel=2e-3)


def test_line_width_follows_resolving_power():
    line = EmissionLine("[NeII] 12.81", LINES["[NeII] 12.81"], 1e-15)
    spectrum = SourceSpectrum("hii_region", 0.0, 0.0, lines=(line,))
    lam = np.linspace(12.0, 13.6, 160001)
    for r in (100.0, 600.0):
        flux = spectrum.flux_jy(lam, r)
        above = lam[flux > 0.5 * flux.max()]
        assert above.max() - above.min() == pytest.approx(line.rest_wavelength_um / r, rel=0.01)
    assert np.argmax(spectrum.flux_jy(lam)) == np.argmin(np.abs(lam - 12.81355))


def test_line_list_is_observed_frame():
    spectrum = make_spectrum("agn", np.random.default_rng(2), redshift=0.05)
    names = {line["name"] for line in spectrum.line_list()}
    assert "[OIV] 25.89" in names
    for line in spectrum.line_list():
        assert line["wavelength_um"] == pytest.approx(line["rest_wavelength_um"] * 1.05)
        assert line["flux_w_m2"] > 0.0


@pytest.mark.parametrize("spectral_class", SPECTRAL_CLASSES)
def test_dict_round_trip_is_exact(spectral_class):
    for spectrum in spectra(spectral_class, n=3):
        data = json.loads(json.dumps(spectrum.to_dict()))
        again = SourceSpectrum.from_dict(data)
        assert again == spectrum
        lam = np.linspace(5.0, 38.0, 500)
        np.testing.assert_array_equal(again.flux_jy(lam, 100.0), spectrum.flux_jy(lam, 100.0))


def test_make_spectrum_is_deterministic():
    a = make_spectrum("hii_region", np.random.default_rng(9))
    b = make_spectrum("hii_region", np.random.default_rng(9))
    assert a == b


def test_bad_class_and_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="allowed: stellar_photosphere"):
        make_spectrum("quasar", rng)
    with pytest.raises(ValueError):
        make_spectrum("agn", rng, flux_15um_jy=0.0)
    with pytest.raises(ValueError):
        make_spectrum("agn", rng, redshift=-0.1)
    with pytest.raises(ValueError, match="unknown PAH band"):
        SourceSpectrum("agn", 0.0, 1.0, pah=(("PAH 99", 1.0),))


def test_standard_star_is_the_calibration_model():
    lam = np.linspace(4.5, 45.0, 2000)
    spectrum = standard_star_spectrum(1.55, 0.025)
    assert spectrum.spectral_class == "standard_star"
    assert spectrum.redshift == 0.0 and spectrum.lines == ()
    np.testing.assert_allclose(spectrum.flux_jy(lam, 100.0), standard_flux_jy(lam, 1.55, 0.025),
                               rtol=1e-12)
    assert standard_star_spectrum(2.0).flux_jy(np.array([10.0]))[0] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        standard_star_spectrum(0.0)


def test_evaluation_is_fast():
    lam = np.linspace(5.0, 38.0, 5000)
    r = np.full(lam.size, 100.0)
    spectrum = max(spectra("hii_region", n=5), key=lambda s: len(s.lines))
    spectrum.flux_jy(lam, r)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        spectrum.flux_jy(lam, r)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.01  # ~0.5 ms on a laptop; generous for busy CI machines
