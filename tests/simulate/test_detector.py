"""Rendering through the slits: flux conservation, nod placement, noise and defects."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.instrument import default_model
from pipeline.simulate.detector import (
    BMASK_FATAL_PMASK,
    SlitPlacement,
    campaign_defects,
    render_signal,
)
from pipeline.simulate.observe import SkySource
from tests.flat_spectrum import Flat


def point(level_jy=1.0, fwhm=0.0):
    return SkySource(0.0, 0.0, Flat(level_jy), fwhm, "target")


@pytest.fixture(scope="module")
def irs():
    return default_model()


def row_sums(irs, order_name, image):
    order = irs.order(order_name)
    pix = order.pixels
    values = image.ravel()[pix.index]
    rows = np.unique(pix.rows)
    sums, expect = [], []
    for row in rows:
        sel = pix.rows == row
        sums.append(values[sel].sum())
        expect.append(order.conversion(pix.wavelength_um[sel]).mean())
    return np.array(sums), np.array(expect), rows


@pytest.mark.parametrize("module_name, subslit, order_name", [
    ("SL", "SL1", "SL1"), ("SL", "SL2", "SL2"), ("LL", "LL1", "LL1"), ("LL", "LL2", "LL2"),
])
def test_point_source_counts_equal_flux_times_conversion(irs, module_name, subslit, order_name):
    """An isolated centred point source: each detector row of the order sums to F x FLUXCON."""
    module = irs.module(module_name)
    image = render_signal(module, {subslit: [SlitPlacement(point(2.0), 0.0, 0.0)]}, 0.0, 0.0)
    sums, conv, rows = row_sums(irs, order_name, image)
    inner = (rows > rows.min() + 3) & (rows < rows.max() - 3)
    ratio = sums[inner] / (2.0 * conv[inner])
    assert np.median(ratio) == pytest.approx(1.0, abs=0.02)
    assert np.percentile(np.abs(ratio - 1), 90) < 0.05


def test_the_other_subslit_stays_dark(irs):
    module = irs.module("SL")
    image = render_signal(module, {"SL1": [SlitPlacement(point(), 0.0, 0.0)]}, 0.0, 0.0)
    assert image.ravel()[irs.order("SL2").pixels.index].max() == 0.0


@pytest.mark.parametrize("nod", [1, 2])
@pytest.mark.parametrize("name", ["SL1", "LL2"])
def test_nod_positions_on_the_detector(irs, name, nod):
    """The profile peaks where the model puts DFRAC of that nod (LL reversed)."""
    module = irs.module(name[:2])
    sub = module.subslits[name]
    along = (sub.nod_fraction[nod] - 0.5) * module.slit_length_arcsec
    image = render_signal(module, {name: [SlitPlacement(point(), along, 0.0)]}, 0.0, 0.0)
    pix = irs.order(name).pixels
    values = image.ravel()[pix.index]
    centroid = np.sum(values * pix.slit_px) / values.sum()
    assert module.slit_px_to_fraction(centroid) == pytest.approx(sub.nod_fraction[nod], abs=0.01)


def test_extended_source_spreads_and_loses_less_light(irs):
    module = irs.module("SL")
    narrow = render_signal(module, {"SL1": [SlitPlacement(point(), 0.0, 0.0)]}, 0.0, 0.0)
    wide = render_signal(module, {"SL1": [SlitPlacement(point(fwhm=10.0), 0.0, 0.0)]}, 0.0, 0.0)
    pix = irs.order("SL1").pixels
    n_lit = lambda img: np.sum(img.ravel()[pix.index] > 0.05 * img.max())  # noqa: E731
    assert n_lit(wide) > 2 * n_lit(narrow)


def test_zodi_fills_the_slit_uniformly(irs):
    module = irs.module("LL")
    image = render_signal(module, {}, 0.0, 1.0)
    pix = irs.order("LL1").pixels
    values = image.ravel()[pix.index]
    middle = np.abs(pix.slit_px) < 10
    row = pix.rows == 64
    sel = middle & row
    assert values[sel].std() / values[sel].mean() < 0.05
    assert values[sel].mean() > 10  # tens to hundreds of e-/s, as in real LL BCDs


def test_rogue_pixels_persist_through_a_campaign_and_grow(irs):
    a = campaign_defects(3, 30, 1)
    b = campaign_defects(3, 30, 1)
    early = campaign_defects(3, 5, 1)
    assert np.array_equal(a.rogue_index, b.rogue_index)
    assert set(early.rogue_index) <= set(a.rogue_index)
    assert len(a.rogue_index) > 2 * len(early.rogue_index)
    # LH after the proton event: a few percent of the array
    assert 0.02 < len(a.rogue_index) / 128**2 < 0.08


def test_pmask_fatal_pixels_are_flagged(irs):
    defects = campaign_defects(0, 10, 1)
    assert defects.fatal.sum() == np.count_nonzero(
        irs.module("SL").pmask & ((1 << 14) | (1 << 10)))
    assert BMASK_FATAL_PMASK == 1 << 14


def test_ecliptic_latitude_matches_astropy():
    from astropy import units as u
    from astropy.coordinates import BarycentricMeanEcliptic, SkyCoord

    from pipeline.instrument.zodi import ecliptic_latitude_deg

    rng = np.random.default_rng(3)
    ra, dec = rng.uniform(0, 360, 50), np.degrees(np.arcsin(rng.uniform(-1, 1, 50)))
    ref = SkyCoord(ra * u.deg, dec * u.deg).transform_to(
        BarycentricMeanEcliptic(equinox="J2000")).lat.deg
    assert np.max(np.abs(ecliptic_latitude_deg(ra, dec) - ref)) < 0.01
