"""Extraction on synthetic arrays rendered with the shared flux model."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.instrument import default_model
from pipeline.simulate.detector import SlitPlacement, render_signal
from pipeline.simulate.observe import SkySource
from pipeline.steps.extract import extract, find_source
from tests.flat_spectrum import Flat

IRS = default_model()
SL = IRS.module("SL")
SL1 = IRS.order("SL1")


def scene(level_jy, nod=1, along_shift=0.0):
    sub = SL.subslits["SL1"]
    along = (sub.nod_fraction[nod] - 0.5) * SL.slit_length_arcsec + along_shift
    source = SkySource(0.0, 0.0, Flat(level_jy), 0.0, "target")
    image = render_signal(SL, {"SL1": [SlitPlacement(source, along, 0.0)]}, 0.0, 0.0)
    return image, SL.fraction_to_slit_px(sub.nod_fraction[nod]) + along_shift / 1.85


def inner(ext):
    keep = (ext.wavelength_um > 8.0) & (ext.wavelength_um < 14.0)
    return ext.wavelength_um[keep], ext.counts[keep], ext.counts_error[keep]


def test_optimal_recovers_total_counts_and_tapered_a_fraction():
    image, centre = scene(1.0)
    unc = np.ones_like(image)
    lam, opt, _ = inner(extract(image, unc, SL, SL1, centre, "optimal"))
    assert np.median(opt / SL1.conversion(lam)) == pytest.approx(1.0, abs=0.01)
    lam, tap, _ = inner(extract(image, unc, SL, SL1, centre, "tapered"))
    fraction = tap / SL1.conversion(lam)
    # the model PSF is a Gaussian core without Airy wings: the tapered window (8 px at
    # 12 um) holds all but a few per mil of it
    assert 0.95 < np.median(fraction) < 1.005


def test_find_source_near_the_requested_position():
    image, centre = scene(1.0, nod=2, along_shift=1.5)
    found = find_source(image, SL1, centre - 0.8)
    assert found == pytest.approx(centre, abs=0.3)


def test_optimal_beats_tapered_on_faint_sources():
    """Sky-limited faint source: optimal SNR >= 1.3 x tapered (CASSISjuice Fig. 3)."""
    rng = np.random.default_rng(4)
    image, centre = scene(0.002)
    sky_sigma = 8.0  # e-/s per pixel, background dominated
    ratios = []
    for _ in range(3):
        noisy = image + rng.normal(0, sky_sigma, image.shape)
        unc = np.full_like(image, sky_sigma)
        _, opt, opt_err = inner(extract(noisy, unc, SL, SL1, centre, "optimal"))
        _, tap, tap_err = inner(extract(noisy, unc, SL, SL1, centre, "tapered"))
        ratios.append(np.median(opt / opt_err) / np.median(tap / tap_err))
    assert np.median(ratios) >= 1.3


def test_bad_pixels_do_not_bias_optimal_extraction():
    image, centre = scene(1.0)
    unc = np.ones_like(image)
    bad = np.zeros_like(image, dtype=bool)
    pix = SL1.pixels
    core = np.abs(pix.slit_px - centre) < 0.6
    bad.ravel()[pix.index[core][::7]] = True
    lam, opt, _ = inner(extract(image, unc, SL, SL1, centre, "optimal", bad=bad))
    assert np.median(opt / SL1.conversion(lam)) == pytest.approx(1.0, abs=0.01)


def test_unknown_method():
    image, centre = scene(1.0)
    with pytest.raises(ValueError, match="unknown extraction"):
        extract(image, np.ones_like(image), SL, SL1, centre, "boxcar")


def test_refined_centre_of_an_undersampled_lh_source_and_the_amplitude_it_gives():
    """LH (4.5"/px): the 3-pixel centroid is biased towards the pixel centre, and an
    optimal fit with a sky term at that centre loses flux; the chi^2-refined centre is
    the true one and the fit at it recovers the source."""
    from pipeline.steps.extract import fit_profile, refine_centre, slit_coverage

    lh = IRS.module("LH")
    sub = lh.subslits["LH"]
    shift_arcsec = 2.0  # the source 0.44 px from the nod position: near a pixel edge
    along = (sub.nod_fraction[1] - 0.5) * lh.slit_length_arcsec + shift_arcsec
    source = SkySource(0.0, 0.0, Flat(1.0), 0.0, "target")
    image = render_signal(lh, {"LH": [SlitPlacement(source, along, 0.0)]}, 0.0, 0.0)
    true_px = float(lh.fraction_to_slit_px(sub.nod_fraction[1])) + shift_arcsec / 4.5
    orders = list(lh.orders)
    for order in orders:  # a sky over the whole slit, end pixels partly lit
        pix = order.pixels
        flat = image.ravel()
        flat[pix.index] += 30.0 * slit_coverage(lh, pix.slit_px)
    unc = np.ones_like(image)
    order = IRS.order("LH15")
    centroid = find_source(image, order, true_px - 0.44, search_px=1.5)
    refined = refine_centre(image, unc, lh, orders, centroid)
    assert abs(refined - true_px) < 0.01 and abs(centroid - true_px) > 0.05
    truth = fit_profile(image, unc, lh, order, (true_px,), with_sky=True).counts
    at_refined = fit_profile(image, unc, lh, order, (refined,), with_sky=True).counts
    at_centroid = fit_profile(image, unc, lh, order, (centroid,), with_sky=True).counts
    assert np.median(np.abs(at_refined / truth - 1)) < 0.001
    assert np.median(np.abs(at_centroid / truth - 1)) > 0.005


def test_a_cosmic_ray_is_rejected_from_the_profile_fit_and_flagged():
    """One pixel hit in a single-cycle nod: the fit drops it (Horne's rejection) and flags
    the row; a clean image loses nothing."""
    from pipeline.steps.extract import fit_profile

    lh = IRS.module("LH")
    order = IRS.order("LH15")
    sub = lh.subslits["LH"]
    along = (sub.nod_fraction[1] - 0.5) * lh.slit_length_arcsec
    image = render_signal(lh, {"LH": [SlitPlacement(SkySource(0.0, 0.0, Flat(0.5), 0.0,
                                                               "target"), along, 0.0)]},
                          0.0, 0.0)
    centre = float(lh.fraction_to_slit_px(sub.nod_fraction[1]))
    unc = np.full_like(image, 0.02 * np.nanmax(image[np.isfinite(image)]))
    clean = fit_profile(image, unc, lh, order, (centre,), with_sky=True)
    assert not clean.replaced.any()
    pix = order.pixels
    row = int(clean.rows[len(clean.rows) // 2])
    hit = int(pix.index[(pix.rows == row)][0])
    hit_image = image.copy().ravel()
    hit_image[hit] += 5 * np.nanmax(image)
    struck = fit_profile(hit_image.reshape(image.shape), unc, lh, order, (centre,),
                         with_sky=True)
    assert struck.replaced[struck.rows == row].all() and struck.replaced.sum() == 1
    assert np.allclose(struck.counts, clean.counts, rtol=1e-3)
