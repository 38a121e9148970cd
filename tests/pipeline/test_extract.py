"""Extraction on images the simulator renders through its true PSF, with the along-slit
profile the reduction learns from rendered standard stars (``steps.profile``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.instrument import default_model
from pipeline.simulate.morphology import Morphology
from pipeline.simulate.true_psf import light_in_box, psf_mixture
from pipeline.steps.extract import extract, find_source, profile_fraction
from pipeline.steps.profile import SpatialProfile, _row_fwhm, _stretched, _width_law
from tests.learned_profiles import learned_instrument, render_point

IRS = default_model()
SL1 = IRS.order("SL1")


def scene(module, subslit, level_jy, nod=1, along_shift=0.0):
    return render_point(module, subslit, level_jy, nod, along_shift)


@pytest.fixture(scope="module")
def learned():
    return learned_instrument()


@pytest.mark.parametrize(("order", "wavelengths"), [("SL1", (8.0, 11.0, 14.0)),
                                                    ("SL2", (5.5, 7.0)),
                                                    ("LL1", (22.0, 30.0, 36.0))])
def test_learned_profile_matches_the_true_psf(learned, order, wavelengths):
    """The effective profile (light per pixel against its offset from the star) learned
    from the standards against the simulator's true PSF integrated over the same pixels
    and the slit's width, each normalised over the profile's +-4 pixels."""
    module = learned.module(order[:2])
    scale = module.plate_scale_arcsec
    d = np.linspace(-3.5, 3.5, 71)
    fine = np.linspace(-4.0, 4.0, 801)
    half_w = 0.5 * module.slit_width_arcsec
    point_w, point_s = Morphology.point().gaussians()
    for lam in wavelengths:
        w, s = psf_mixture(order, np.full(len(fine), lam))
        true = light_in_box(w, s, point_w, point_s, -half_w, half_w, (fine - 0.5) * scale,
                            (fine + 0.5) * scale)
        true = np.interp(d, fine, true / (true.sum() * (fine[1] - fine[0])))
        got = module.spatial_profile.fraction(np.full(len(d), lam), d, order=order)
        nominal = profile_fraction(IRS.module(order[:2]), np.full(len(d), lam), d, 0.0)
        nominal = nominal / (np.interp(fine, d, nominal).sum() * (fine[1] - fine[0]))
        # within 10 % of the peak where the PSF is undersampled (SL below 9 um: FWHM under
        # a pixel), and always closer to the truth than the reduction's nominal Gaussian
        assert np.max(np.abs(got - true)) < 0.1 * true.max(), (order, lam)
        assert np.sum((got - true) ** 2) < 0.5 * np.sum((nominal - true) ** 2), (order, lam)


def _true_profile(order: str, lam: float, d: np.ndarray) -> np.ndarray:
    """The simulator's true PSF through the slit, integrated over pixels at offsets ``d``
    (pixels), normalised to a unit integral."""
    module = IRS.module(order[:2])
    scale, half_w = module.plate_scale_arcsec, 0.5 * module.slit_width_arcsec
    point_w, point_s = Morphology.point().gaussians()
    w, s = psf_mixture(order, np.full(len(d), lam))
    true = light_in_box(w, s, point_w, point_s, -half_w, half_w, (d - 0.5) * scale,
                        (d + 0.5) * scale)
    return true / (true.sum() * (d[1] - d[0]))


@pytest.mark.parametrize(("order", "nodes_um", "wanted_um"),
                         [("LH11", (18.8, 21.5, 24.6, 28.2, 32.4), 37.1),
                          ("LL1", (23.0, 25.5, 28.2, 31.2, 34.5), 38.2),
                          ("LL2", (18.8, 20.8), 14.5), ("SH11", (9.9, 12.9, 17.0), 19.5)])
def test_a_profile_carried_to_an_unmeasured_wavelength_takes_its_width(order, nodes_um,
                                                                        wanted_um):
    """An unmeasured wavelength node takes the nearest measured node's profile widened to
    the width the measured nodes' law predicts there: against the simulator's true PSF
    at that wavelength, far closer than the measured profile copied unchanged."""
    d = np.round(np.arange(-5.5, 5.55, 0.1), 6)
    rows = {lam: _true_profile(order, lam, d) for lam in nodes_um}
    width = _width_law(np.array(nodes_um), [_row_fwhm(d, row) for row in rows.values()])
    near = min(nodes_um, key=lambda lam: abs(np.log(lam / wanted_um)))
    truth = _true_profile(order, wanted_um, d)
    carried = _stretched(d, rows[near], width(wanted_um) / width(near))
    carried /= carried.sum() * 0.1
    assert np.sum((carried - truth) ** 2) < 0.3 * np.sum((rows[near] - truth) ** 2)


def test_learned_profile_survives_the_calibration_file(learned):
    """What calibration.json keeps of a profile gives the same fractions and widths; most
    wavelength nodes were measured, not interpolated."""
    sl = learned.module("SL").spatial_profile
    back = SpatialProfile.from_dict(json.loads(json.dumps(sl.to_dict())))
    lam, d = np.meshgrid(np.linspace(5.3, 14.5, 7), np.linspace(-3.0, 3.0, 13))
    assert np.allclose(back.fraction(lam, d, 4.0), sl.fraction(lam, d, 4.0), atol=1e-6)
    assert np.allclose(back.fwhm_arcsec(lam[0]), sl.fwhm_arcsec(lam[0]), rtol=1e-4)
    assert len(sl.fallback) <= 2 and sl.n_samples > 1000


def inner(ext, lo=8.0, hi=14.0):
    keep = (ext.wavelength_um > lo) & (ext.wavelength_um < hi)
    return ext.wavelength_um[keep], ext.counts[keep], ext.counts_error[keep]


def test_optimal_and_tapered_measure_a_source_as_the_standard(learned):
    """A 1 Jy source 0.3 px off the standards' mean position: optimal and tapered counts
    against a standard's at the nod position, both with the learned profile, give its
    flux (what the calibration from standards relies on)."""
    sl = learned.module("SL")
    star, c_star = scene(sl, "SL1", 1.0)
    source, c_src = scene(sl, "SL1", 1.0, along_shift=0.3 * sl.plate_scale_arcsec)
    unc = np.ones_like(star)
    for method in ("optimal", "tapered"):
        _, ref, _ = inner(extract(star, unc, sl, SL1, c_star, method))
        _, got, _ = inner(extract(source, unc, sl, SL1, c_src, method))
        assert np.median(got / ref) == pytest.approx(1.0, abs=0.01), method


def test_find_source_near_the_requested_position(learned):
    sl = learned.module("SL")
    image, centre = scene(sl, "SL1", 1.0, nod=2, along_shift=1.5)
    found = find_source(image, SL1, centre - 0.8)
    assert found == pytest.approx(centre, abs=0.3)


def test_optimal_beats_tapered_on_faint_sources(learned):
    """Sky-limited faint source: optimal SNR >= 1.3 x tapered (CASSISjuice Fig. 3)."""
    sl = learned.module("SL")
    rng = np.random.default_rng(4)
    image, centre = scene(sl, "SL1", 0.002)
    sky_sigma = 8.0  # e-/s per pixel, background dominated
    ratios = []
    for _ in range(3):
        noisy = image + rng.normal(0, sky_sigma, image.shape)
        unc = np.full_like(image, sky_sigma)
        _, opt, opt_err = inner(extract(noisy, unc, sl, SL1, centre, "optimal"))
        _, tap, tap_err = inner(extract(noisy, unc, sl, SL1, centre, "tapered"))
        ratios.append(np.median(opt / opt_err) / np.median(tap / tap_err))
    assert np.median(ratios) >= 1.3


def test_bad_pixels_do_not_bias_optimal_extraction(learned):
    sl = learned.module("SL")
    image, centre = scene(sl, "SL1", 1.0)
    unc = np.ones_like(image)
    bad = np.zeros_like(image, dtype=bool)
    pix = SL1.pixels
    core = np.abs(pix.slit_px - centre) < 0.6
    bad.ravel()[pix.index[core][::7]] = True
    _, clean, _ = inner(extract(image, unc, sl, SL1, centre, "optimal"))
    _, holed, _ = inner(extract(image, unc, sl, SL1, centre, "optimal", bad=bad))
    assert np.median(holed / clean) == pytest.approx(1.0, abs=0.01)


def test_unknown_method():
    image, centre = scene(IRS.module("SL"), "SL1", 1.0)
    with pytest.raises(ValueError, match="unknown extraction"):
        extract(image, np.ones_like(image), IRS.module("SL"), SL1, centre, "boxcar")


def test_whole_slit_fills_a_neighbours_pixels_with_the_extended_source():
    """An extended source 40" wide along LL2 with a compact source 20x its peak 30" away:
    with the neighbour's pixels masked, the whole-slit extraction sums the extended source
    alone (row sums of the image without the neighbour, summed here with numpy) to 5 %
    (the linear interpolation across the masked 20" runs above the Gaussian's convex
    wing: 3-4 %); without the mask the neighbour's light is in it."""
    from pipeline.steps.neighbours import Neighbour, wide_neighbour_mask

    irs = default_model()
    module, order = irs.module("LL"), irs.order("LL2")
    pix = order.pixels
    scale = module.plate_scale_arcsec
    extended = np.exp(-0.5 * (pix.slit_px * scale / (40.0 / 2.3548)) ** 2)
    where = 30.0 / scale
    compact = 20.0 * np.exp(-0.5 * ((pix.slit_px - where) * scale / 2.5) ** 2)
    clean, image = np.zeros(128 * 128), np.zeros(128 * 128)
    clean[pix.index] = extended
    image[pix.index] = extended + compact
    clean, image = clean.reshape(128, 128), image.reshape(128, 128)
    unc = np.ones((128, 128))
    rows, k = np.unique(pix.rows, return_inverse=True)
    expected = np.bincount(k, weights=clean.ravel()[pix.index])
    mask = wide_neighbour_mask(module, [order], [Neighbour(where, 30.0, 20.0)])
    filled = extract(image, unc, module, order, 0.0, "full", bad=mask)
    kept = extract(image, unc, module, order, 0.0, "full")
    truth = expected[np.searchsorted(rows, filled.rows)]
    assert np.median(np.abs(filled.counts / truth - 1)) < 0.05
    assert np.median(kept.counts / truth) > 1.3
    assert filled.replaced is not None and filled.replaced.mean() > 0.9  # rows flagged


def test_wide_mask_reaches_further_for_brighter_neighbours():
    from pipeline.steps.neighbours import Neighbour, neighbour_mask, wide_neighbour_mask

    irs = default_model()
    module, order = irs.module("LL"), irs.order("LL1")
    faint = wide_neighbour_mask(module, [order], [Neighbour(6.0, 30.0, 0.1)])
    bright = wide_neighbour_mask(module, [order], [Neighbour(6.0, 30.0, 50.0)])
    core = neighbour_mask(module, [order], [Neighbour(6.0, 30.0, 50.0)])
    assert (faint == core).all()  # a faint neighbour's wings never matter
    assert bright.sum() > core.sum() and (bright >= core).all()
    # never further than a quarter of the slit's length on either side of the neighbour
    assert bright.sum() <= 0.25 * 2 * order.pixels.index.size + core.sum()
