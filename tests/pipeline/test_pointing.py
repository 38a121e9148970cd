"""The pointing's cross-slit losses (``pipeline.steps.pointing``): the offsets read from the
headers' geometry, and the correction checked against the simulator's true instrument
(its measured SL PSF and Airy patterns), which the reduction never sees."""

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pipeline.grouping import Dce
from pipeline.instrument import default_model
from pipeline.instrument.astrometry import offset_position
from pipeline.simulate.morphology import Morphology
from pipeline.simulate.true_instrument import in_slit_fraction
from pipeline.steps.pointing import cross_slit_offsets, pointing_transmission, slit_coordinates

IRS = default_model()
SLIT = (150.0, -30.0)  # the slit centre (deg)


def _dce(subslit: str, nod: int, along: float, cross: float, pa_deg: float) -> Dce:
    """A DCE whose requested position lies ``along``/``cross`` arcsec from the slit centre,
    placed on the sky with the slit's axis at position angle ``pa_deg`` (east of north)."""
    pa = math.radians(pa_deg)
    xi = along * math.sin(pa) + cross * math.cos(pa)
    eta = along * math.cos(pa) - cross * math.sin(pa)
    ra, dec = offset_position(*SLIT, xi, eta)
    return Dce(Path("x.fits"), None, None, 1, 1, subslit[:2], subslit, nod, 2, 0, 30.0,
               55000.0, float(ra), float(dec), SLIT[0], SLIT[1], pa_deg, "t", "", True)


@pytest.mark.parametrize("pa_deg", [0.0, 37.0, 200.0, 315.0])
def test_cross_offset_from_the_headers_geometry(pa_deg):
    dces = [_dce("SH", 1, 5.0, 0.8, pa_deg), _dce("SH", 1, 5.0, 0.6, pa_deg),
            _dce("SH", 2, -5.0, -0.4, pa_deg)]
    offsets = cross_slit_offsets(dces)["SH"]
    # one per nod, the mean of its DCEs; an offset along the slit does not enter
    assert offsets[0] == pytest.approx(0.7, abs=2e-3)
    assert offsets[1] == pytest.approx(-0.4, abs=2e-3)


@pytest.mark.parametrize("pa_deg", [0.0, 37.0, 200.0])
def test_slit_coordinates_of_any_sky_position(pa_deg):
    dce = _dce("LL2", 1, 28.0, 0.5, pa_deg)
    assert slit_coordinates(dce, dce.ra_rqst_deg, dce.dec_rqst_deg) == (
        pytest.approx(28.0, abs=2e-3), pytest.approx(0.5, abs=2e-3))
    elsewhere = _dce("LL2", 1, -40.0, 3.0, pa_deg)  # the same slit, another position
    assert slit_coordinates(dce, elsewhere.ra_rqst_deg, elsewhere.dec_rqst_deg) == (
        pytest.approx(-40.0, abs=2e-3), pytest.approx(3.0, abs=2e-3))


def test_no_correction_for_a_target_the_slit_was_not_pointed_at():
    dces = [_dce("SL1", 1, 0.0, 0.3, 10.0), _dce("SL1", 2, 0.0, 9.0, 10.0),
            _dce("SL2", 1, 0.0, 0.2, 10.0)]
    missing = replace(_dce("LL1", 1, 0.0, 0.2, 10.0), pa_slt_deg=math.nan)
    offsets = cross_slit_offsets([*dces, missing])
    assert set(offsets) == {"SL2"}
    assert pointing_transmission(IRS, "SL1", [8.0], offsets)[0] == pytest.approx(1.0, abs=1e-12)
    assert pointing_transmission(IRS, "SL3", [8.0], offsets)[0] < 1.0  # SL3 is in SL2


@pytest.mark.parametrize("order,lam", [("SL2", 6.0), ("SL1", 8.0), ("SL1", 12.0),
                                       ("LL2", 16.0), ("LL1", 30.0), ("SH12", 18.0),
                                       ("SH20", 10.5), ("LH15", 25.0)])
@pytest.mark.parametrize("offset", [0.6, 1.0, 1.5])
def test_correction_removes_most_of_the_true_loss(order, lam, offset):
    """Through the true PSF a point source ``offset`` arcsec across the slit loses
    1 - true of the centred source's light; after dividing by the reduction's estimate
    what is left is at most 60 % of that (the reduction's Gaussian core, sized by the
    SSC's SLCF, against the measured SL PSF and the Airy patterns: 30-60 % left in SL2 at
    6 um and at the red end of SH, where the true PSF's core differs most from it, 5-25 %
    elsewhere)."""
    point = Morphology.point()
    true = (in_slit_fraction(order, [lam], point, 0.0, offset)
            / in_slit_fraction(order, [lam], point, 0.0, 0.0))[0]
    subslit = IRS.order(order).subslit
    estimate = pointing_transmission(IRS, order, [lam], {subslit: (offset, -offset)})[0]
    assert estimate < 1.0
    assert abs(true / estimate - 1.0) <= 0.6 * (1.0 - true)


def test_nods_averaged_and_wider_sources_lose_less():
    subslit = {"SH": (0.2, 1.2)}
    lam = np.array([12.0])
    both = pointing_transmission(IRS, "SH15", lam, subslit)
    each = [pointing_transmission(IRS, "SH15", lam, {"SH": (x,)}) for x in (0.2, 1.2)]
    assert both[0] == pytest.approx(0.5 * (each[0][0] + each[1][0]))
    wide = pointing_transmission(IRS, "SH15", lam, subslit, source_fwhm_arcsec=6.0)
    centred_wide = pointing_transmission(IRS, "SH15", lam, None, source_fwhm_arcsec=6.0)
    # a wide source loses less to the offset (relative to itself centred)
    assert 1.0 - wide[0] / centred_wide[0] < 1.0 - both[0]
