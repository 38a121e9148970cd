"""The reduction's method variants: steps on synthetic arrays, then every variant of both
arms on a small simulated raw tree, calibrated from its own standard stars (issue 3)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from astropy.io import fits

from pipeline.exposures import ExposureError, read_image
from pipeline.grouping import group_positions, scan_raw
from pipeline.highres import _with_sky
from pipeline.instrument import default_model
from pipeline.position import derive_calibration, is_standard, reduce_position
from pipeline.products import read_product, write_product
from pipeline.select import extent_class
from pipeline.simulate.detector import SlitPlacement, render_signal
from pipeline.simulate.observe import SkySource
from pipeline.simulate.run import simulate
from pipeline.steps.background import insitu_sky
from pipeline.steps.calibrate import extended_factor, partial_factor
from pipeline.steps.defringe import defringe
from pipeline.steps.extent import intrinsic_fwhm_arcsec
from pipeline.steps.extract import Extraction, extract, fit_profile, slit_coverage
from pipeline.steps.neighbours import find_neighbours, neighbour_mask
from pipeline.steps.nods import interleave
from tests.flat_spectrum import Flat
from tests.learned_profiles import learned_instrument

IRS = default_model()
SL, LL = IRS.module("SL"), IRS.module("LL")


def _scene(module, subslit, fwhm_arcsec, level_jy=1.0, nod=1):
    sub = module.subslits[subslit]
    along = (sub.nod_fraction[nod] - 0.5) * module.slit_length_arcsec
    source = SkySource(0.0, 0.0, Flat(level_jy), fwhm_arcsec, "target")
    image = render_signal(module, {subslit: [SlitPlacement(source, along, 0.0)]}, 0.0, 0.0)
    return image, float(module.fraction_to_slit_px(sub.nod_fraction[nod]))


@pytest.mark.parametrize(("fwhm", "low", "high"), [(0.0, 0.0, 1.0), (6.0, 4.5, 7.5),
                                                   (20.0, 16.0, 24.0)])
def test_extent_recovers_the_intrinsic_width(fwhm, low, high):
    image, centre = _scene(LL, "LL2", fwhm)
    unc = np.full_like(image, 0.01 * np.nanmax(image))
    found = intrinsic_fwhm_arcsec(image, unc, LL, IRS.order("LL2"), centre)
    assert low <= found <= high


def test_a_neighbour_along_the_slit_is_found_and_kept_out_of_the_extent_fit():
    """LL2: a point source at nod 1 and a second one 18" further along the slit, 1.6 times
    brighter (a cluster member). Without the neighbour's pixels, the target is a point."""
    order = IRS.order("LL2")
    sub = LL.subslits["LL2"]
    along = (sub.nod_fraction[1] - 0.5) * LL.slit_length_arcsec
    target = SkySource(0.0, 0.0, Flat(1.0), 0.0, "target")
    other = SkySource(0.0, 0.0, Flat(1.6), 0.0, "neighbour")
    image = render_signal(LL, {"LL2": [SlitPlacement(target, along, 0.0),
                                       SlitPlacement(other, along + 18.0, 0.0)]}, 0.0, 0.0)
    centre = float(LL.fraction_to_slit_px(sub.nod_fraction[1]))
    unc = np.full_like(image, 0.002 * np.nanmax(image))
    found = find_neighbours(image, unc, LL, [order], centre)
    assert len(found) == 1
    assert found[0].offset_arcsec == pytest.approx(18.0, abs=2.5)  # within half a pixel
    assert 1.2 < found[0].peak_ratio < 2.0
    mask = neighbour_mask(LL, [order], found)
    widened = intrinsic_fwhm_arcsec(image, unc, LL, order, centre, with_sky=True)
    assert widened > 2.5  # what the neighbour did to the extent
    assert intrinsic_fwhm_arcsec(image, unc, LL, order, centre, with_sky=True, bad=mask) < 2.5
    # a wide single source has no neighbour
    wide, c_wide = _scene(LL, "LL2", 20.0)
    assert find_neighbours(wide, np.full_like(wide, 0.002 * np.nanmax(wide)), LL, [order],
                           c_wide) == []


def test_a_known_neighbour_is_kept_where_no_dip_shows_it():
    """LL2: a cluster member 12" from the target (under 2.5 pixels: no dip between them in
    1-pixel bins, so the profile alone keeps one blended source); the headers say where
    it is, and its light there makes it a neighbour. A position holding nothing is not."""
    from pipeline.steps.neighbours import known_neighbours

    order = IRS.order("LL2")
    sub = LL.subslits["LL2"]
    along = (sub.nod_fraction[1] - 0.5) * LL.slit_length_arcsec
    image = render_signal(LL, {"LL2": [
        SlitPlacement(SkySource(0.0, 0.0, Flat(1.0), 0.0, "target"), along, 0.0),
        SlitPlacement(SkySource(0.0, 0.0, Flat(2.0), 0.0, "member"), along + 12.0, 0.0)]},
        0.0, 0.0)
    centre = float(LL.fraction_to_slit_px(sub.nod_fraction[1]))
    unc = np.full_like(image, 0.002 * np.nanmax(image))
    assert find_neighbours(image, unc, LL, [order], centre) == []
    member_px = centre + 12.0 / LL.plate_scale_arcsec
    empty_px = centre - 30.0 / LL.plate_scale_arcsec
    (known,) = known_neighbours(image, unc, LL, [order], centre, [member_px, empty_px], [])
    assert known.offset_arcsec == pytest.approx(12.0, abs=0.01)
    assert known.peak_ratio > 1.0
    # the target's own position and a neighbour found already are not added again
    assert known_neighbours(image, unc, LL, [order], centre, [centre + 0.5], []) == []
    assert known_neighbours(image, unc, LL, [order], centre, [member_px], [known]) == []


def test_a_neighbour_counts_only_where_both_nods_see_it():
    """A source on the sky sits at the same offset from the target in both nods; a
    detector defect or noise peak does not."""
    from pipeline.steps.neighbours import Neighbour, consistent

    real = [Neighbour(10.0, 18.0, 1.6)]
    other_nod = [Neighbour(-1.0, 17.2, 1.5), Neighbour(-8.0, -20.0, 0.4)]
    kept = consistent({1: real, 2: other_nod}, 5.0)
    assert kept[1] == real and kept[2] == other_nod[:1]
    assert consistent({1: real}, 5.0) == {1: real}  # one nod observed: nothing to compare


def test_noise_alone_does_not_give_a_point_source_a_width():
    """A width must lower chi^2 significantly (steps.extent.MIN_DELTA_CHI2): on noisy
    images of a point source the extent is that of a point, never a chance minimum."""
    image, centre = _scene(LL, "LL2", 0.0)
    noise = 0.05 * np.nanmax(image)
    rng = np.random.default_rng(5)
    found = [intrinsic_fwhm_arcsec(image + rng.normal(0.0, noise, image.shape),
                                   np.full_like(image, noise), LL, IRS.order("LL2"), centre)
             for _ in range(12)]
    assert found.count(0.0) == len(found), found


def test_insitu_sky_recovers_a_sloped_sky_under_a_source():
    """A sloped sky under a point source rendered through the true PSF: subtracting the
    sky fitted on the slit's pixels beyond the (learned) PSF's core leaves the source's
    own tapered counts, less the light of its wings that the fit took for sky."""
    sl = learned_instrument().module("SL")
    image, centre = _scene(SL, "SL1", 0.0)
    order = IRS.order("SL1")
    pix = order.pixels
    sky = np.zeros(128 * 128)
    sky[pix.index] = 50.0 + 2.0 * pix.slit_px + 0.5 * pix.rows
    sky = sky.reshape(128, 128)
    fitted = insitu_sky(image + sky, np.ones((128, 128)), sl, order, centre)
    unc = np.ones((128, 128))
    alone = extract(image, unc, sl, order, centre, "tapered")
    cleaned = extract(image + sky - fitted, unc, sl, order, centre, "tapered")
    ratio = cleaned.counts / alone.counts
    assert abs(np.median(ratio) - 1) < 0.01 and np.percentile(np.abs(ratio - 1), 90) < 0.03


def test_a_full_aperture_knows_its_sky_so_a_standard_calibrates_without_it():
    """LH: a point source over a flat sky; the local-continuum fit measures the sky, and
    full aperture minus that sky does not depend on the sky (what a standard's response
    needs: a faint standard's own zodiacal light once made the LH full-aperture response
    10x too high). In a slit five pixels long, the part of the true PSF's wings that is
    flat across it is indistinguishable from sky; standards and targets lose it alike."""
    lh = learned_instrument().module("LH")
    order = IRS.order("LH14")
    image, centre = _scene(lh, "LH", 0.0, nod=1)
    pix = order.pixels
    sky = np.zeros(128 * 128)
    sky[pix.index] = 40.0 * slit_coverage(lh, pix.slit_px)  # end pixels partly lit
    unc = np.ones((128, 128))
    source = extract(image, unc, lh, order, centre, "full")
    both = extract(image + sky.reshape(128, 128), unc, lh, order, centre, "full")
    local = fit_profile(image + sky.reshape(128, 128), unc, lh, order, (centre,),
                        with_sky=True)
    both = _with_sky(both, local)
    measured = np.isfinite(both.sky)
    assert measured.mean() > 0.9 and np.all(both.counts > 1.5 * source.counts)
    alone = _with_sky(source, fit_profile(image, unc, lh, order, (centre,), with_sky=True))
    without = both.counts - both.sky
    assert np.allclose(without[measured], (alone.counts - alone.sky)[measured], rtol=0.01)
    assert np.median(np.abs(without[measured] / source.counts[measured] - 1)) < 0.15


def test_defringe_removes_a_fringe_and_leaves_a_clean_spectrum_alone():
    lam = np.linspace(10.0, 19.0, 220)
    continuum = 1.0 + 0.1 * lam
    fringed = continuum * (1 + 0.05 * np.sin(2 * np.pi * (1e4 / lam) / 7.5 + 0.3))
    err = np.full(220, 0.002)
    fixed, info = defringe(Extraction("SH13", "full", lam, fringed, err, np.arange(220)))
    assert info["applied"] and info["period_cm"] == pytest.approx(7.5, rel=0.01)
    assert np.std(fixed.counts / continuum - 1) < 0.1 * np.std(fringed / continuum - 1)
    noisy = continuum + np.random.default_rng(1).normal(0, 0.002, 220)
    same, info = defringe(Extraction("SH13", "full", lam, noisy, err, np.arange(220)))
    assert not info["applied"] and same.counts is noisy


def test_interleaved_nods_are_sorted_and_twice_as_fine():
    a = Extraction("SL1", "optimal", np.arange(10.0), np.ones(10), np.ones(10), np.arange(10))
    b = Extraction("SL1", "optimal", np.arange(10.0) + 0.5, np.ones(10), np.ones(10),
                   np.arange(10))
    merged = interleave([a, b])
    assert len(merged.wavelength_um) == 20 and np.all(np.diff(merged.wavelength_um) > 0)
    same = interleave([a, a])  # coincident samples are averaged, not duplicated
    assert len(same.wavelength_um) == 10 and np.allclose(same.counts_error, np.sqrt(0.5))


def test_calibration_factors():
    lam = np.linspace(6, 14, 5)
    assert np.allclose(extended_factor(SL, lam), SL.slcf(lam))
    assert np.allclose(partial_factor(SL, IRS.order("SL1"), lam, 0.0), 1.0)
    assert np.all(partial_factor(SL, IRS.order("SL1"), lam, 10.0) > 1.0)


@pytest.mark.parametrize("fwhm", [6.0, 12.0])
def test_hr_partial_calibration_restores_the_total_flux(fwhm):
    """SH full aperture of a Gaussian source wider than the slit's 11.3": point-calibrated
    on a point source rendered alike, then the partial calibration, at both nods, gives
    the source's total flux (the renderer's input), including what fell beyond the slit's
    ends."""
    sh = learned_instrument().module("SH")
    order = IRS.order("SH15")
    unc = np.ones((128, 128))
    ratios = []
    for nod in (1, 2):
        star, c_star = _scene(sh, "SH", 0.0, nod=nod)
        wide, c_wide = _scene(sh, "SH", fwhm, nod=nod)
        point = extract(star, unc, sh, order, c_star, "full")
        source = extract(wide, unc, sh, order, c_wide, "full")
        ratios.append(source.counts / point.counts)  # flux / 1 Jy, point-calibrated
    point_calibrated = 0.5 * (ratios[0] + ratios[1])
    assert np.median(point_calibrated) < 0.9  # what was lost without the correction
    total = point_calibrated * partial_factor(sh, order, point.wavelength_um, fwhm,
                                              aperture=False, slit_ends=True)
    # within 7.5 %: the correction assumes a Gaussian PSF of the learned width, the true
    # one is the obstructed Airy pattern with its wings (6.5-6.7 % low for 6" and 12")
    assert np.median(np.abs(total - 1.0)) < 0.075


def test_unreadable_exposures_raise_a_clear_error(tmp_path):
    bad = tmp_path / "x_bcd.fits"
    bad.write_bytes(b"not a fits file at all" * 200)
    with pytest.raises(ExposureError, match="not a FITS file"):
        read_image(bad)
    path = tmp_path / "y_bcd.fits"
    fits.PrimaryHDU(np.ones((128, 128), np.float32)).writeto(path)
    assert read_image(path).shape == (128, 128)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ExposureError, match="truncated"):
        read_image(path)


@pytest.fixture(scope="module")
def reduced(tmp_path_factory):
    root = tmp_path_factory.mktemp("variants")
    simulate(root / "sim", 12, 5, level="raw", progress=False)
    positions = group_positions(scan_raw(root / "sim" / "raw")[0])
    calibration = derive_calibration([p for p in positions if is_standard(p)])
    products = {p.cj_id: reduce_position(p, calibration) for p in positions}
    with (root / "sim" / "truth" / "positions.csv").open() as fh:
        truth = {row["cj_id"]: row for row in csv.DictReader(fh)}
    return root, products, truth


def test_every_variant_family_is_produced_and_written(reduced):
    root, products, _ = reduced
    lr = {s.key for p in products.values() for s in p.spectra if s.arm == "LR"}
    hr = {s.key for p in products.values() for s in p.spectra if s.arm == "HR"}
    for background in ("bynod", "byorder", "insitu"):
        for extraction, calibration in (("optimal", "point"), ("tapered", "partial"),
                                        ("extended", "extended")):
            for nods in ("common", "interleaved"):
                key = f"LR/{extraction}/{background}/{nods}/{calibration}"
                # the whole slit of a nod difference holds the source twice, with
                # opposite signs: that variant is refused, never published as ~0
                assert (key in lr) == (background != "bynod" or extraction != "extended")
    assert {"HR/fullap/none/nodcomb/extended", "HR/optimal/localcont/nodcomb/point",
            "HR/optimal/diff/diff/point", "HR/fullap/none/nods/point"} <= hr
    for product in products.values():
        write_product(product, root / "products", fsync=False)
        back = read_product(root / "products" / f"{product.cj_id}.fits")
        assert back.selection == product.selection and len(back.spectra) == len(
            product.spectra)


def test_selection_follows_the_true_extent(reduced):
    _, products, truth = reduced
    agree = [extent_class("LR", p.metadata["LR"]["extent_arcsec"]) == truth[cj]["extent"]
             for cj, p in products.items() if "LR" in p.metadata]
    assert sum(agree) >= len(agree) - 1, agree


def test_high_resolution_variants_agree_on_a_bright_point_source(reduced):
    _, products, truth = reduced
    bright = [p for cj, p in products.items() if "HR" in p.arms
              and truth[cj]["extent"] == "point" and float(truth[cj]["flux_15um_jy"]) > 0.5]
    assert bright
    for product in bright:
        diff = product.variant("HR/optimal/diff/diff/point")
        local = product.variant("HR/optimal/localcont/nodcomb/point")
        ratio = np.interp(diff.wavelength_um, local.wavelength_um, local.flux_jy) / \
            diff.flux_jy
        assert np.nanmedian(ratio) == pytest.approx(1.0, abs=0.05)


def test_rogue_pixels_are_found_replaced_and_flagged_but_sources_and_lines_are_not():
    from pipeline.steps.clean import find_rogues, replace_pixels

    rng = np.random.default_rng(3)
    order = IRS.order("SL1")
    inside = order.pixels.index[order.pixels.rows == 70]
    r, c = divmod(int(inside[len(inside) // 2]), 128)   # a pixel of the SL1 order
    nods = []
    for nod in (1, 2):
        image, centre = _scene(SL, "SL1", 0.0, level_jy=5.0, nod=nod)
        image = image + rng.normal(0, 0.5, image.shape)
        image[40, :] += 200.0          # an emission line of an extended source: whole row
        image[r, c] += 300.0           # a rogue pixel, there in every image
        nods.append(image)
    unc = np.full((128, 128), 0.5)
    mask = find_rogues(nods, [unc, unc])
    assert mask[r, c] and not mask[40].any()
    peak = np.unravel_index(np.argmax(nods[0] - nods[1]), nods[0].shape)
    assert not mask[peak]
    fixed, fixed_unc = replace_pixels(nods[0], unc, mask)
    assert abs(fixed[r, c] - 0.5 * (nods[0][r - 1, c] + nods[0][r + 1, c])) < 1e-9
    assert fixed_unc[r, c] > unc[r, c]
    centre = float(SL.fraction_to_slit_px(SL.subslits["SL1"].nod_fraction[1]))
    from pipeline.steps.extract import extract
    ext = extract(fixed, fixed_unc, SL, order, centre, "full", replaced=mask)
    assert ext.replaced is not None and list(ext.rows[ext.replaced]) == [r]


def test_nod_combination_drops_a_spike_of_one_nod_but_keeps_a_line_of_both():
    from pipeline.highres import _nodcomb

    lam = np.linspace(14.0, 15.0, 60)
    line = 40.0 * np.exp(-0.5 * ((lam - 14.5) / 0.008) ** 2)
    err = np.full(60, 0.5)
    a = Extraction("SH12", "full", lam, 10.0 + line, err, np.arange(60))
    shifted = 40.0 * np.exp(-0.5 * ((lam - 14.5015) / 0.008) ** 2)  # a nod's tilt shift
    spiked = 10.0 + shifted
    spiked[12] += 300.0
    b = Extraction("SH12", "full", lam, spiked, err, np.arange(60))
    both = _nodcomb([a, b])
    assert both.counts[12] == pytest.approx(10.0) and both.replaced[12]
    assert both.replaced.sum() == 1  # the line, in both nods, is no spike
    assert both.counts.max() > 30.0


def test_by_order_sky_of_a_wide_source_holds_part_of_it():
    from pipeline.lowres import byorder_source_share

    assert byorder_source_share(SL, "SL1", 0.0) == 0.0
    assert byorder_source_share(SL, "SL1", 20.0) < 0.01  # narrower than the 79" throw
    wide_sl = byorder_source_share(SL, "SL1", 150.0)
    wide_ll = byorder_source_share(LL, "LL2", 150.0)
    assert 0.3 < wide_sl < 1.0 and 0.0 < wide_ll < wide_sl  # LL's throw is 192"


@pytest.mark.parametrize(("fwhm", "filled"), [(0.0, False), (150.0, True)])
def test_a_source_filling_the_hr_slit_shows_as_sky_above_the_zodiacal_light(fwhm, filled):
    """LH over the simulator's zodiacal light at ecliptic latitude 30 deg, compared with
    the reduction's expectation from ZODY_EST (its own spectral shape, turned into counts
    with the full aperture's response to a rendered 1 Jy standard): a point source leaves
    the local-continuum sky near it; a source much wider than the slit has no profile to
    fit but raises that sky far above it and above its point-like part."""
    from pipeline.highres import (
        LARGE_SCALE_OVER_POINT,
        LARGE_SCALE_OVER_ZODI,
        large_scale_emission,
        zodi_counts,
    )
    from pipeline.simulate.true_instrument import ZODY_REFERENCE_UM, zodi_at_mjy_sr
    from pipeline.steps.calibrate import Response

    lh = learned_instrument().module("LH")
    sub = lh.subslits["LH"]
    along = (sub.nod_fraction[1] - 0.5) * lh.slit_length_arcsec
    centre = float(lh.fraction_to_slit_px(sub.nod_fraction[1]))
    source = SkySource(0.0, 0.0, Flat(0.3 if fwhm == 0 else 30.0), fwhm, "target")
    image = render_signal(lh, {"LH": [SlitPlacement(source, along, 0.0)]}, 30.0, 1.0)
    star = render_signal(lh, {"LH": [SlitPlacement(SkySource(0.0, 0.0, Flat(1.0), 0.0, "star"),
                                                   along, 0.0)]}, 30.0, 0.0)
    zody = zodi_at_mjy_sr(ZODY_REFERENCE_UM["LH"], 30.0, 1.0, 265.0)  # an exact ZODY_EST
    unc = np.full_like(image, 0.5)
    local = []
    for order in lh.orders:
        full = _with_sky(extract(star, unc, lh, order, centre, "full"),
                         fit_profile(star, unc, lh, order, (centre,), with_sky=True))
        response = Response(order.name, "full", full.wavelength_um, full.counts - full.sky, 1)
        fit = fit_profile(image, unc, lh, order, (centre,), with_sky=True)
        local.append((lh, fit, zodi_counts(lh, fit, zody, response)))
    emission = large_scale_emission(local)
    if filled:
        assert emission["over_zodi"] > LARGE_SCALE_OVER_ZODI
        assert emission["over_point"] > LARGE_SCALE_OVER_POINT
    else:
        # the zodiacal light's shape differs from the reduction's, and the part of a point
        # source's wings beyond the learned profile passes for sky: a few per cent of the
        # source, which may exceed LARGE_SCALE_OVER_ZODI over a faint zodiacal light, but
        # never outshines the source
        assert emission["over_point"] < 0.2 < LARGE_SCALE_OVER_POINT


def test_published_samples_lie_in_the_calibrated_ranges_with_positive_errors(reduced):
    _, products, _ = reduced
    irs = default_model()
    for product in products.values():
        for s in product.spectra:
            assert np.all(s.flux_error_jy > 0), s.key
            for seg in set(s.segment.tolist()):
                lo, hi = irs.order(seg).usable_range_um  # the SSC's WAVECUT table
                lam = s.wavelength_um[s.segment == seg]
                assert lo <= lam.min() and lam.max() <= hi, (product.cj_id, s.key, seg)
