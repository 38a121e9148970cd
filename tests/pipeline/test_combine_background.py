"""Combination of DCEs and background subtraction with the contamination check."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.instrument import default_model
from pipeline.simulate.detector import SlitPlacement, render_signal
from pipeline.simulate.observe import SkySource
from pipeline.steps.background import contamination, subtract
from pipeline.steps.combine import combine_exposures
from tests.flat_spectrum import Flat

IRS = default_model()
SL = IRS.module("SL")


def test_weighted_mean_and_error_propagation():
    rng = np.random.default_rng(0)
    truth = np.full((4, 4), 10.0)
    stack = truth + rng.normal(0, 1.0, (200, 4, 4))
    image, unc, rejected = combine_exposures(stack, np.ones_like(stack))
    assert np.allclose(image, 10.0, atol=0.3)
    assert np.allclose(unc, 1 / np.sqrt(200))
    assert rejected.max() <= 1


def test_outliers_and_fatal_pixels_are_rejected():
    stack = np.full((3, 2, 2), 5.0)
    stack[1, 0, 0] = 5000.0  # a cosmic ray
    masks = np.zeros((3, 2, 2), int)
    masks[:, 1, 1] = 1 << 14  # fatal in every DCE
    image, _, rejected = combine_exposures(stack, np.ones_like(stack), masks)
    assert image[0, 0] == pytest.approx(5.0)
    assert rejected[0, 0] == 1
    assert np.isnan(image[1, 1]) and rejected[1, 1] == 3


def test_shape_mismatch():
    with pytest.raises(ValueError, match="must be equal"):
        combine_exposures(np.zeros((2, 3, 3)), np.zeros((2, 3, 4)))


def frame(sources):
    placements = [SlitPlacement(SkySource(0, 0, Flat(f), 0.0, "x"), a, 0.0) for f, a in sources]
    return render_signal(SL, {"SL1": placements}, 0.0, 1.0)


def test_bynod_subtraction_and_contamination():
    rng = np.random.default_rng(2)
    sub = SL.subslits["SL1"]
    a1 = (sub.nod_fraction[1] - 0.5) * SL.slit_length_arcsec
    a2 = (sub.nod_fraction[2] - 0.5) * SL.slit_length_arcsec
    centre1 = SL.fraction_to_slit_px(sub.nod_fraction[1])
    noise = 2.0
    unc = np.full((128, 128), noise)
    nod1 = frame([(0.05, a1)]) + rng.normal(0, noise, (128, 128))
    clean_nod2 = frame([(0.05, a2)]) + rng.normal(0, noise, (128, 128))
    spoiled_nod2 = frame([(0.05, a2), (0.05, a1)]) + rng.normal(0, noise, (128, 128))
    order = IRS.order("SL1")
    assert contamination(clean_nod2, unc, SL, order, centre1) is None
    reason = contamination(spoiled_nod2, unc, SL, order, centre1)
    assert reason is not None and "SL1" in reason
    diff, diff_unc = subtract(nod1, unc, clean_nod2, unc)
    assert np.allclose(diff_unc, noise * np.sqrt(2))
    # the zodiacal light cancels: far from both nods the difference is pure noise
    pix = order.pixels
    far = np.abs(pix.slit_px) < 1.0
    assert abs(np.mean(diff.ravel()[pix.index[far]])) < 0.5
