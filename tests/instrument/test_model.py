"""The IRS model against the facts of the SSC tables and the real data (irs.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from pipeline.instrument import (
    CalibrationError,
    CalibrationSet,
    IRSModel,
    default_calibration,
    default_model,
)

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="module")
def irs():
    return default_model()


def test_modules_orders_and_channels(irs):
    assert {m.name: m.chnlnum for m in irs.modules.values()} == {
        "SL": 0, "SH": 1, "LL": 2, "LH": 3}
    assert [o.name for o in irs.module("SL").orders] == ["SL1", "SL2", "SL3"]
    assert [o.name for o in irs.module("LL").orders] == ["LL1", "LL2", "LL3"]
    assert [o.number for o in irs.module("SH").orders] == list(range(11, 21))
    assert [o.number for o in irs.module("LH").orders] == list(range(11, 21))
    assert irs.order("SL3").subslit == "SL2" and irs.order("LL3").subslit == "LL2"
    assert irs.order("SH13").subslit == "SH"


@pytest.mark.parametrize("name, lo, hi", [
    ("SL2", 5.127, 7.606), ("SL1", 7.455, 15.258), ("LL2", 13.900, 21.267),
    ("LL1", 19.743, 42.267), ("SH20", 9.864, 10.701), ("LH11", 33.742, 37.167),
])
def test_wavsamp_ranges(irs, name, lo, hi):
    got = irs.order(name).wavelength_range_um
    assert got == pytest.approx((lo, hi), abs=1e-3)


def test_module_ranges_cover_the_atlas(irs):
    lr = [irs.order(n).usable_range_um for n in ("SL2", "SL1", "LL2", "LL1")]
    assert min(r[0] for r in lr) < 5.3 and max(r[1] for r in lr) > 38.0
    hr = [o.usable_range_um for m in ("SH", "LH") for o in irs.module(m).orders]
    assert min(r[0] for r in hr) < 10.0 and max(r[1] for r in hr) > 37.0


def test_resolving_power(irs):
    assert irs.order("SL1").resolving_power(10.0) == pytest.approx(82.667)
    assert irs.order("LL1").resolving_power(30.0) == pytest.approx(88.57, rel=1e-3)
    assert irs.order("SH12").resolving_power(17.0) == 600.0


def test_slits_pixel_scales_and_nods(irs):
    sl, ll, sh, lh = (irs.module(n) for n in ("SL", "LL", "SH", "LH"))
    assert (sl.slit_length_arcsec, sl.slit_width_arcsec) == (57.0, 3.6)
    assert (ll.slit_length_arcsec, ll.slit_width_arcsec) == (168.0, 10.5)
    assert (sh.slit_length_arcsec, lh.slit_length_arcsec) == (11.3, 22.3)
    assert sl.plate_scale_arcsec == 1.85 and ll.plate_scale_arcsec == 5.08
    # staring mode nods at 1/3 and 2/3 of the slit; LL's are reversed (PSF_FOV DFRAC)
    assert sl.subslits["SL1"].nod_fraction[1] == 0.333
    assert sl.subslits["SL1"].nod_fraction[2] == 0.667
    assert ll.subslits["LL1"].nod_fraction[1] == 0.667
    assert ll.subslits["LL1"].nod_fraction[2] == 0.333
    assert sh.subslits["SH"].nod_fraction[1] == pytest.approx(1 / 3, abs=0.01)
    assert sl.subslits["SL2"].fov_ids == {0: 34, 1: 32, 2: 33}
    assert ll.subslits["LL1"].fov_names[1] == "IRS_Long-Lo_1st_Order_1st_Position"
    # the FRAMETABLE nod separation agrees with DFRAC x slit length (19.45" for SL1)
    sub = sl.subslits["SL1"]
    sep = abs(sub.nod_fraction[2] - sub.nod_fraction[1]) * sl.slit_length_arcsec
    assert sep == pytest.approx(19.45, abs=0.6)


@pytest.mark.parametrize("module, ref", [("SL", "b0"), ("LL", "b2")])
def test_pixel_wavelengths_match_the_spice_maps(irs, module, ref):
    """Our WAVSAMP-derived wavelength of every pixel equals SPICE's own per-pixel map."""
    spice = fits.getdata(DATA / "spice" / f"{ref}_wavsamp_wave.fits.gz")
    ours = irs.module(module).wavelength_map
    both = np.isfinite(spice) & np.isfinite(ours) & (spice > 0)
    assert both.sum() > 0.97 * np.isfinite(spice).sum()
    assert np.median(np.abs(ours - spice)[both]) < 1e-4
    assert np.percentile(np.abs(ours - spice)[both], 99) < 2e-3


def test_orders_do_not_overlap_on_the_detector(irs):
    for module in irs.modules.values():
        seen = np.zeros(128 * 128, int)
        for order in module.orders:
            seen[order.pixels.index] += 1
        assert seen.max() == 1, module.name


def test_order_layout(irs):
    """SL1 in the left quarter, SL2 in the lower rows; LH wavelength grows with row."""
    sl1, sl2 = irs.order("SL1").pixels, irs.order("SL2").pixels
    assert sl1.cols.max() < 40 and sl2.rows.max() < 82 and sl2.cols.min() >= 40
    lh = irs.order("LH14").pixels
    assert np.corrcoef(lh.rows, lh.wavelength_um)[0, 1] > 0.99
    sh = irs.order("SH14").pixels
    assert np.corrcoef(sh.rows, sh.wavelength_um)[0, 1] < -0.99


def test_flux_conversion_and_tuning(irs):
    sl1 = irs.order("SL1")
    assert sl1.conversion(11.0) == pytest.approx(8247.051758)
    assert sl1.conversion(13.0) == pytest.approx(8247.051758 * (1 + 2 * 0.005191 + 4 * 0.000754))
    assert irs.order("SH11").conversion(18.6) == pytest.approx(105.259789)


def test_tapered_aperture_grows_with_wavelength(irs):
    assert irs.order("SL1").aperture_width_px(12.0) == pytest.approx(8.0)
    assert irs.order("SL1").aperture_width_px(6.0) == pytest.approx(4.0)
    assert np.isinf(irs.order("SH12").aperture_width_px(17.0))


def test_psf_width(irs):
    sl = irs.module("SL")
    fwhm = sl.psf_fwhm_arcsec(np.array([6.0, 10.0, 14.0]))
    assert np.all(np.diff(fwhm) > 0)
    assert 2.0 < fwhm[1] < 3.5  # ~0.25" x lambda plus blur


def test_slit_transmission_point_and_extended(irs):
    sl = irs.module("SL")
    lam = np.array([6.0, 10.0, 14.0])
    assert sl.slit_transmission(lam) == pytest.approx(1.0)
    partial = sl.slit_transmission(lam, 5.0)
    assert np.all((partial < 1) & (partial > 0.3))
    # off-centre point sources lose light (pointing-induced order mismatch)
    assert np.all(sl.slit_transmission(lam, 0.0, 1.0) < 1)
    # uniform extended limit: counts per pixel = I W p conversion / SLCF
    big = 3000.0
    sigma = big / 2.3548200450309493
    along = sl.plate_scale_arcsec / (np.sqrt(2 * np.pi) * sigma)
    flux = 2 * np.pi * sigma**2  # I = 1 per arcsec^2
    per_pixel = flux * sl.slit_transmission(lam, big) * along
    expect = sl.slit_width_arcsec * sl.plate_scale_arcsec / sl.slcf(lam)
    assert per_pixel == pytest.approx(expect, rel=1e-3)


def test_slit_fraction_roundtrip(irs):
    sl = irs.module("SL")
    px = sl.fraction_to_slit_px(0.667)
    assert px == pytest.approx(0.167 * 57 / 1.85)
    assert sl.slit_px_to_fraction(px) == pytest.approx(0.667)


def test_real_sl2_nod2_star_falls_where_the_model_puts_nod2(irs):
    """HD 173511, SL2 nod 2 (FOVID 33): the star sits at DFRAC 0.667 on our slit axis."""
    image = fits.getdata(DATA / "real_bcd" / "hd173511.61a2.0301.ic.fits")
    sl2 = irs.order("SL2")
    pix = sl2.pixels
    expected = irs.module("SL").fraction_to_slit_px(0.667)
    values = image.ravel()[pix.index]
    peaks = []
    for row in range(15, 70, 5):
        sel = (pix.rows == row) & np.isfinite(values)
        if sel.any():
            peaks.append(pix.slit_px[sel][np.argmax(values[sel])])
    assert np.median(peaks) == pytest.approx(expected, abs=1.2)


def test_other_calibration_directory(tmp_path):
    src = default_calibration().directory
    for path in src.iterdir():
        if "_b0_" in path.name or "FRAMETABLE" in path.name or "PLATESCALE" in path.name:
            shutil.copy(path, tmp_path)
    model = IRSModel.from_calibration(CalibrationSet.from_directory(tmp_path))
    assert list(model.modules) == ["SL"]


def test_incomplete_calibration_directory(tmp_path):
    shutil.copy(default_calibration().path("WAVSAMP", 1), tmp_path)
    with pytest.raises(CalibrationError, match="lacks"):
        CalibrationSet.from_directory(tmp_path)
    with pytest.raises(CalibrationError, match="does not exist"):
        CalibrationSet.from_directory(tmp_path / "nope")


def test_nod_offsets_and_in_slit_fraction(irs):
    sl = irs.module("SL")
    length = sl.slit_length_arcsec
    for nod in (1, 2):
        along, across = sl.nod_offset_arcsec("SL1", nod, "SL1")
        assert along == pytest.approx((sl.subslits["SL1"].nod_fraction[nod] - 0.5) * length)
        assert across == pytest.approx(0.0, abs=1e-9)
        # the SL2 exposure's target lies off the SL1 slit, by about the 79" throw
        far, _ = sl.nod_offset_arcsec("SL2", nod, "SL1")
        assert 60.0 < abs(far - along) < 100.0
    lam = np.array([8.0, 12.0])
    # a centred point source: the point-source slit loss (SLCF) and nothing along the slit
    assert sl.in_slit_fraction(lam, 0.0) == pytest.approx(sl.slcf(lam), rel=1e-4)
    wide = sl.in_slit_fraction(lam, 200.0)
    assert np.all(wide < 0.05) and np.all(sl.in_slit_fraction(lam, 200.0, 100.0) < wide)
