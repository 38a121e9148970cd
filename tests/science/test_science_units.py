"""The science tools' algorithms on synthetic spectra whose truth is known by construction:
resampling (analytic means, Monte Carlo errors), similarity ranking, stacking in the rest
frame, name keys and the line list (literature wavelengths)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vo_service.science.grids import build_grids, load_grid
from vo_service.science.lines import LineError, find_line, line_list
from vo_service.science.names import name_key
from vo_service.science.resample import GRIDS, resample
from vo_service.science.similarity import Reference, SimilarityError, search
from vo_service.science.templates import TemplateError, stack

RNG = np.random.default_rng(20261206)


def _irs_lr_wave() -> np.ndarray:
    """An LR-like sampling: SL then LL, overlapping at 14-14.5 um, not sorted."""
    return np.concatenate([np.linspace(5.2, 14.5, 150), np.linspace(14.0, 38.0, 210)])


# ----------------------------------------------------------------- resampling
def test_resampling_a_linear_spectrum_gives_its_value_at_each_bin_mid_point():
    wave = np.linspace(5.0, 20.0, 3001)
    flux = 2.0 + 0.5 * wave
    edges = np.array([6.0, 6.7, 9.1, 9.15, 15.0])
    out, _ = resample(wave, flux, None, edges)
    # the mean of a linear function over [a, b] is its value at (a + b) / 2
    np.testing.assert_allclose(out, 2.0 + 0.5 * (edges[1:] + edges[:-1]) / 2, rtol=1e-6)


def test_resampling_conserves_the_integral_of_the_flux():
    wave = np.sort(RNG.uniform(5.0, 20.0, 800))
    flux = np.exp(-0.5 * ((wave - 11.3) / 0.1) ** 2) + 1.0
    edges = np.linspace(6.0, 19.0, 40)
    out, _ = resample(wave, flux, None, edges)
    # the input as piecewise-constant pixels (edges half-way between points)
    mid = 0.5 * (wave[1:] + wave[:-1])
    pixel = np.concatenate([[wave[0] - (mid[0] - wave[0])], mid,
                            [wave[-1] + (wave[-1] - mid[-1])]])
    inside = (pixel[:-1] >= edges[0]) & (pixel[1:] <= edges[-1])
    exact = np.sum(flux[inside] * np.diff(pixel)[inside])
    covered = pixel[1:][inside].max() - pixel[:-1][inside].min()
    total = np.sum(out * np.diff(edges))
    partial = (edges[-1] - edges[0]) - covered  # the two partial pixels at the ends
    assert total == pytest.approx(exact, abs=partial * flux.max() + 1e-9)


def test_resampled_errors_match_the_scatter_of_resampled_noise():
    wave = _irs_lr_wave()
    sigma = 0.05 + 0.01 * wave
    edges = GRIDS["LR"].edges_um
    draws = np.array([resample(wave, RNG.normal(1.0, sigma), sigma, edges)[0]
                      for _ in range(400)])
    _, error = resample(wave, np.ones_like(wave), sigma, edges)
    ok = np.isfinite(error)
    assert ok.sum() > 150
    ratio = draws[:, ok].std(axis=0) / error[ok]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.05)


def test_bins_beyond_the_spectrum_are_nan():
    out, err = resample(np.linspace(10, 12, 50), np.ones(50), np.ones(50),
                        np.array([5.0, 6.0, 10.5, 11.0, 30.0, 31.0]))
    assert np.isnan(out[0]) and np.isnan(out[-1]) and out[2] == pytest.approx(1.0)
    assert np.isnan(err[0])


# ----------------------------------------------------------------- similarity
def _atlas(slopes, scale=1.0, noise=0.01, feature=None):
    """A matrix of power laws F = (lambda/15)^slope, each with 2 % errors."""
    wave = _irs_lr_wave()
    rows = []
    for i, slope in enumerate(slopes):
        flux = scale * (wave / 15.0) ** slope
        if feature is not None and i in feature:
            flux = flux * (1 + 0.5 * np.exp(-0.5 * ((wave - 11.3) / 0.15) ** 2))
        err = 0.02 * flux
        rows.append((f"{1000 + i}_0", "LR", 0.0, wave, flux + RNG.normal(0, noise) * err,
                     err))
    return load_grid(build_grids(rows)["grid:LR"], "LR")


def _reference(slope, scale=1.0, bump=False):
    wave = _irs_lr_wave()
    flux = scale * (wave / 15.0) ** slope
    if bump:
        flux = flux * (1 + 0.5 * np.exp(-0.5 * ((wave - 11.3) / 0.15) ** 2))
    err = 0.02 * flux
    f, e = resample(wave, flux + RNG.normal(0, 1, len(wave)) * err, err,
                    GRIDS["LR"].edges_um)
    return Reference(f, e, "test")


SLOPES = np.round(np.linspace(-3.0, 2.0, 51), 2)


def test_the_spectrum_with_the_reference_shape_ranks_first():
    arm = _atlas(SLOPES)
    truth = int(np.flatnonzero(SLOPES == 0.5)[0])
    for mode in ("absolute", "normalised"):
        matches = search(arm, _reference(0.5), mode=mode, top=5)
        assert matches[0].cj_id == f"{1000 + truth}_0"
        assert [m.rank for m in matches] == [1, 2, 3, 4, 5]
        assert all(a.score <= b.score for a, b in itertools.pairwise(matches))


def test_normalised_mode_finds_the_shape_at_any_flux_level_and_absolute_does_not():
    arm = _atlas(SLOPES)
    truth = f"{1000 + int(np.flatnonzero(SLOPES == -1.0)[0])}_0"
    ref = _reference(-1.0, scale=30.0)  # the same shape, 30 times brighter
    normalised = search(arm, ref, mode="normalised", top=1)[0]
    assert normalised.cj_id == truth
    assert normalised.scale == pytest.approx(30.0, rel=0.02)
    assert search(arm, ref, mode="absolute", top=1)[0].cj_id != truth


def test_a_window_on_a_feature_prefers_the_spectra_that_have_it():
    slopes = np.zeros(40)
    with_feature = set(range(0, 40, 4))
    arm = _atlas(slopes, feature=with_feature)
    ref = _reference(0.0, bump=True)
    top = search(arm, ref, windows=[(10.8, 11.8)], mode="normalised", top=len(with_feature))
    assert {int(m.cj_id.split("_")[0]) - 1000 for m in top} == with_feature
    assert all(m.n_bins == top[0].n_bins for m in top)


def test_empty_windows_and_references_without_overlap_are_refused():
    arm = _atlas(SLOPES[:5])
    with pytest.raises(SimilarityError, match="empty"):
        search(arm, _reference(0.0), windows=[(12.0, 11.0)])
    with pytest.raises(SimilarityError, match="no bin"):
        search(arm, _reference(0.0), windows=[(100.0, 200.0)])
    blank = Reference(np.full(GRIDS["LR"].n, np.nan), np.full(GRIDS["LR"].n, np.nan), "x")
    with pytest.raises(SimilarityError, match="at least 3"):
        search(arm, blank)


# ----------------------------------------------------------------- templates
def test_a_stack_of_redshifted_copies_recovers_the_rest_frame_spectrum():
    rest = np.linspace(4.5, 30.0, 4000)

    def spectrum(lam):  # a continuum with a PAH-like band at 11.3 um (rest)
        return (lam / 15.0) ** -1.0 * (1 + 2.0 * np.exp(-0.5 * ((lam - 11.3) / 0.12) ** 2))

    spectra = []
    for i, z in enumerate(np.linspace(0.0, 0.25, 30)):
        wave = _irs_lr_wave()
        flux = 3.0 * (i + 1) * spectrum(wave / (1 + z))  # any flux level
        err = 0.03 * flux
        spectra.append((f"{i}_0", z, wave, flux + RNG.normal(0, 1, len(wave)) * err, err))
    template = stack("LR", spectra, statistic="wmean", norm_um=(14.5, 15.0))
    assert len(template.used) == 30 and not template.left_out
    grid_truth = resample(rest, spectrum(rest), None, GRIDS["LR"].edges_um)[0]
    at = np.searchsorted(GRIDS["LR"].centres_um, template.wavelength_um)
    truth = grid_truth[at] / np.mean(grid_truth[GRIDS["LR"].bins(14.5, 15.0)])
    band = np.abs(template.wavelength_um - 11.3) < 0.1
    assert template.wavelength_um[band].size > 0
    # the band stays at its rest wavelength with its height (within 3 % here: the truth
    # is resampled once, the stack twice)
    np.testing.assert_allclose(template.flux[band], truth[band], rtol=0.03)
    full = template.n_spectra == 30
    assert full.sum() > 100  # every spectrum covers the middle of the grid


def test_the_error_of_a_mean_falls_as_one_over_root_n():
    wave = _irs_lr_wave()
    spectra = [(f"{i}_0", 0.0, wave, RNG.normal(1.0, 0.1, len(wave)), np.full(len(wave), 0.1))
               for i in range(64)]
    one = stack("LR", spectra[:1], statistic="mean", norm_um=None)
    many = stack("LR", spectra, statistic="mean", norm_um=None)
    ratio = np.median(one.error) / np.median(many.error)
    assert ratio == pytest.approx(8.0, rel=0.02)  # sqrt(64)
    # and the scatter of the stacked values agrees with the stated error
    assert np.std(many.flux - 1.0) / np.median(many.error) == pytest.approx(1.0, abs=0.2)
    median = stack("LR", spectra, statistic="median", norm_um=None)
    assert np.median(median.error) / np.median(many.error) == pytest.approx(
        np.sqrt(np.pi / 2), rel=0.01)
    assert set(np.unique(many.n_spectra)) == {64}


def test_spectra_without_flux_in_the_normalisation_window_are_left_out():
    wave = np.linspace(5.2, 14.0, 100)  # stops short of 14.5-15 um
    good = np.linspace(5.2, 38.0, 300)
    template = stack("LR", [("1_0", 0.0, wave, np.ones(100), np.full(100, 0.1)),
                            ("2_0", 0.0, good, np.ones(300), np.full(300, 0.1))])
    assert template.used == ("2_0",) and template.left_out == ("1_0",)
    with pytest.raises(TemplateError):
        stack("LR", [("1_0", 0.0, wave, np.ones(100), np.full(100, 0.1))])
    with pytest.raises(TemplateError, match="empty"):
        stack("LR", [("2_0", 0.0, good, np.ones(300), np.full(300, 0.1))],
              norm_um=(15.0, 14.0))


# ----------------------------------------------------------------- names and lines
@pytest.mark.parametrize("spellings", [
    ("NGC 1068", "ngc1068", "NGC1068", "NGC_1068", " ngc  1068 "),
    ("M 101", "Messier 101", "m101", "M101"),
    ("NGC 253", "NGC 0253", "ngc253"),
    ("Mrk 231", "Markarian 231", "MRK231", "Mkn 231"),
    ("V* VI Cyg 12", "VI Cyg 12"),
])
def test_spellings_of_one_object_share_a_key(spellings):
    assert len({name_key(s) for s in spellings}) == 1


def test_different_objects_keep_different_keys():
    assert name_key("PG 1011-040") != name_key("PG 1011+040")
    assert name_key("NGC 1068") != name_key("NGC 10680")
    assert name_key("IRAS 03254+3050") == "IRAS03254+3050"
    assert name_key("   ") is None


def test_the_line_list_holds_the_literature_wavelengths():
    by_title = {line.title: line for line in line_list()}
    # MPE ISO list and Black & van Dishoeck 1988 values
    assert by_title["[NeII] 12.81"].wavelength_um == pytest.approx(12.81355)
    assert by_title["[SIII] 33.48"].wavelength_um == pytest.approx(33.481)
    assert by_title["H2 0-0 S(1) 17.03"].wavelength_um == pytest.approx(17.03484)
    assert by_title["PAH 11.3"].wavelength_um == pytest.approx(11.33)
    assert by_title["CO2 ice 15.2"].kind == "ice"
    kinds = {line.kind for line in line_list()}
    assert {"atomic", "ionic", "H2", "HI", "PAH", "ice", "dust"} <= kinds
    assert all(2.5 <= line.wavelength_um <= 40 for line in line_list())
    assert find_line("[oiv]").title == "[OIV] 25.89"
    assert find_line("14.322").title == "[NeV] 14.32"
    with pytest.raises(LineError, match="2 lines"):
        find_line("[NeV]")
    with pytest.raises(LineError):
        find_line("[Unobtainium]")


def test_continuum_mode_matches_the_feature_whatever_the_continuum_slope():
    from vo_service.science.continuum import continuum_view, normalise_reference

    wave = _irs_lr_wave()
    silicate = np.exp(-0.5 * ((wave - 9.7) / 0.8) ** 2)
    slopes, depths = (-2.0, -1.0, 0.0, 1.0), (0.0, 0.2, 0.4, 0.6)
    rows = []
    for i, (slope, depth) in enumerate((s, d) for s in slopes for d in depths):
        flux = (wave / 15.0) ** slope * (1 - depth * silicate)
        err = 0.01 * flux
        rows.append((f"{2000 + i}_0", "LR", 0.0, wave,
                     flux + RNG.normal(0, 1, len(wave)) * err, err))
    arm = load_grid(build_grids(rows)["grid:LR"], "LR")
    flux = (wave / 15.0) ** 0.5 * (1 - 0.4 * silicate)  # a slope none of them has
    f, e = resample(wave, flux, 0.01 * flux, GRIDS["LR"].edges_um)
    normalised = normalise_reference(arm, f, e)
    assert normalised is not None
    top = search(continuum_view(arm), Reference(*normalised, "ref"), mode="absolute",
                 top=len(slopes))
    assert {depths[(int(m.cj_id.split("_")[0]) - 2000) % 4] for m in top} == {0.4}
    # without two anchors (5.5, 14.5, 27 um) a spectrum has no continuum
    short = resample(np.linspace(6, 12, 80), np.ones(80), np.full(80, 0.1),
                     GRIDS["LR"].edges_um)
    assert normalise_reference(arm, *short) is None
