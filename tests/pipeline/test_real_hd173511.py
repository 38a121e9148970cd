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
