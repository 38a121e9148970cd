"""The real HD 173511 SL2 image through grouping and extraction: a regression fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from pipeline.grouping import group_positions, scan_raw
from pipeline.instrument import default_model
from pipeline.steps.extract import extract, find_source

DATA = Path(__file__).parent.parent / "data"


def test_real_sl2_spectrum_is_stable(tmp_path):
    shutil.copy(DATA / "real_bcd" / "hd173511.61a2.0301.ic.fits", tmp_path)
    (position,) = group_positions(scan_raw(tmp_path)[0])
    (dce,) = position.dces
    irs = default_model()
    module, order = irs.module(dce.module), irs.order("SL2")
    image = fits.getdata(dce.path).astype(float)
    # the image is already nod-differenced: no background step; no func file either
    sigma = 1.4826 * np.nanmedian(np.abs(image - np.nanmedian(image)))
    expected = float(module.fraction_to_slit_px(module.subslits[dce.subslit].nod_fraction[dce.nod]))
    centre = find_source(image, order, expected)
    ext = extract(image, np.full_like(image, sigma), module, order, centre, "optimal")
    ref = np.genfromtxt(DATA / "regression" / "hd173511_sl2_optimal.csv", delimiter=",",
                        names=True, skip_header=2)
    assert centre == pytest.approx(4.746535, abs=1e-5)
    assert np.array_equal(ext.rows, ref["row"].astype(int))
    assert np.allclose(ext.wavelength_um, ref["wavelength_um"], atol=1e-6)
    assert np.allclose(ext.counts, ref["counts"], rtol=1e-6, atol=1e-4, equal_nan=True)
    # a K5 giant: F_nu falls with wavelength across SL2 (about 2.9 Jy at 5.5 um to 1.9 Jy
    # at 7.4 um with our FLUXCON); check the shape, not an absolute calibration
    jy = ext.counts / order.conversion(ext.wavelength_um)
    blue = np.median(jy[(ext.wavelength_um > 5.4) & (ext.wavelength_um < 5.9)])
    red = np.median(jy[(ext.wavelength_um > 7.0) & (ext.wavelength_um < 7.5)])
    assert 1.2 < blue / red < 2.0


def _fwhm(x, y):
    """Width at half maximum of a sampled single-peaked profile (linear crossings)."""
    peak = int(np.argmax(y))
    half = 0.5 * y[peak]
    left = peak - int(np.argmax(y[peak::-1] < half))
    right = peak + int(np.argmax(y[peak:] < half))
    x_left = np.interp(half, [y[left], y[left + 1]], [x[left], x[left + 1]])
    x_right = np.interp(half, [y[right], y[right - 1]], [x[right], x[right - 1]])
    return x_right - x_left


def test_profile_learned_from_the_real_image_has_the_ssc_psf_width(tmp_path):
    """Two real products against each other: the along-slit profile the reduction learns
    from the real HD 173511 SL2 image (``steps.profile``, which never reads the SSC's PSF)
    and the SSC's super-sampled SL PSF (psf_0_18v1.fits, as the simulator ships it),
    integrated over one pixel: their widths agree within 10 % across SL2."""
    from pipeline.simulate.true_psf import sl_psf_rows
    from pipeline.steps.extract import refine_centre
    from pipeline.steps.profile import ProfileSample, learn_profile

    shutil.copy(DATA / "real_bcd" / "hd173511.61a2.0301.ic.fits", tmp_path)
    (position,) = group_positions(scan_raw(tmp_path)[0])
    (dce,) = position.dces
    sl = default_model().module("SL")
    orders = list(sl.orders_in(dce.subslit))
    image = fits.getdata(dce.path).astype(float)
    unc = np.full_like(image, 1.4826 * np.nanmedian(np.abs(image - np.nanmedian(image))))
    expected = float(sl.fraction_to_slit_px(sl.subslits[dce.subslit].nod_fraction[dce.nod]))
    centre = refine_centre(image, unc, sl, orders, find_source(image, orders[0], expected))
    learned = learn_profile(sl, [ProfileSample(o, image, unc, centre, False) for o in orders])
    rows_lam, _, profiles = sl_psf_rows(2)
    sub_px = (np.arange(profiles.shape[1]) - 175) / 10.0  # CENTCOL 175, SUBPIX 10
    fine = np.linspace(-4.0, 4.0, 801)
    for lam in (5.5, 6.0, 6.5, 7.0):
        row = profiles[int(np.argmin(np.abs(rows_lam - lam)))]
        ssc = np.interp(fine, sub_px, np.convolve(row, np.ones(10) / 10, mode="same"))
        mine = learned.fraction(np.full(len(fine), lam), fine)
        assert _fwhm(fine, mine) == pytest.approx(_fwhm(fine, ssc), rel=0.1), lam
