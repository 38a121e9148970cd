"""Calibration from standards, calibration of variants and the selection tree, on
synthetic arm results (the arm reductions themselves are tested on simulated data)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pipeline.extracted import ArmResult, MethodSpectra
from pipeline.grouping import Dce, Position
from pipeline.instrument.standards import find_standard
from pipeline.position import (
    Calibration,
    CalibrationError,
    derive_calibration,
    is_standard,
    matching_factors,
    reduce_position,
)
from pipeline.products import FLAG_LOW_SNR, Spectrum, read_product, write_product
from pipeline.select import MIN_PARTIAL_CORRECTION, choose, extent_class
from pipeline.steps.extract import Extraction

ORDERS = {"SL2": (5.2, 7.6), "SL1": (7.5, 14.5)}


def _position(name: str, aorkey: int) -> Position:
    dces = tuple(
        Dce(Path(f"/nonexistent/{aorkey}_{nod}.fits"), None, None, aorkey, 0, "SL", "SL1",
            nod, nod, 0, 14.68, 54000.5, 10.0, 20.0, 10.0, 20.0, 0.0, name, "", True)
        for nod in (1, 2))
    return Position(aorkey, 0, name, 10.0, 20.0, dces)


def _counts_per_jy(lam):
    return 300.0 * (1 + 0.05 * (lam - 8.0))  # the "instrument" only the fake reducer knows


def _fake_reducer(flux_of, noise=0.0, extent=0.0, refused=()):
    def reduce(position, irs=None):
        orders = []
        for name, (lo, hi) in ORDERS.items():
            lam = np.linspace(lo, hi, 60)
            counts = flux_of(position, lam) * _counts_per_jy(lam)
            error = noise * np.abs(counts) + 1e-3
            orders.append(Extraction(name, "optimal", lam, counts, error, np.arange(60)))
        variants = (MethodSpectra("bynod", "optimal", "common", tuple(orders)),)
        return ArmResult("LR", variants, tuple(refused), extent)
    return reduce


def _science_flux(lam):
    return 0.2 * (lam / 10.0) ** 1.5


def _flux(position, lam):
    star = find_standard(position.object_name)
    return _science_flux(lam) if star is None else star.flux_jy(lam)


def test_standards_calibrate_a_science_position_and_round_trip():
    standards = [_position("HR 7341", 1000), _position("ksi Dra", 1001)]
    assert all(is_standard(p) for p in standards)
    assert not is_standard(_position("NGC 1068", 2000))
    reducers = {"LR": _fake_reducer(_flux, noise=0.01)}
    calibration = derive_calibration(standards, reducers=reducers)
    assert calibration.standards == ("1000_0", "1001_0")
    again = Calibration.from_json(calibration.to_json())
    assert again.to_json() == calibration.to_json()
    product = reduce_position(_position("NGC 1068", 2000), again, reducers=reducers)
    best = product.best("LR")
    assert best is not None and best.key == "LR/optimal/bynod/common/point"
    true = _science_flux(best.wavelength_um)
    assert np.median(np.abs(best.flux_jy / true - 1)) < 0.01
    assert list(dict.fromkeys(best.segment)) == ["SL2", "SL1"]  # wavelength order
    assert product.selection["LR"].reasons[0].startswith("point source")
    assert product.provenance.calibration_set == "standards:2"


def test_product_from_reduction_is_written_and_read(tmp_path):
    reducers = {"LR": _fake_reducer(_flux, noise=0.5)}
    calibration = derive_calibration([_position("HR 7341", 1000)],
                                     reducers={"LR": _fake_reducer(_flux, noise=0.01)})
    product = reduce_position(_position("faint thing", 2001), calibration, reducers=reducers)
    write_product(product, tmp_path, fsync=False)
    back = read_product(tmp_path / "2001_0.fits")
    assert back.best("LR") == product.best("LR")
    assert np.all(back.best("LR").flag & FLAG_LOW_SNR)  # SNR 2 everywhere


def test_a_standards_sky_is_removed_from_a_full_aperture_but_not_from_a_profile_fit():
    """Both extractions carry the sky a local-continuum fit measured; only the full
    aperture's counts contain it (a profile fit with a sky term separated it)."""
    sky_counts = 500.0

    def reduce(position, irs=None):
        lam = np.linspace(7.5, 14.5, 60)
        star = _flux(position, lam) * _counts_per_jy(lam)
        sky = np.full(60, sky_counts)
        full = Extraction("SL1", "full", lam, star + sky, 1e-3 * star, np.arange(60), sky=sky)
        fit = Extraction("SL1", "optimal", lam, star, 1e-3 * star, np.arange(60), sky=sky)
        return ArmResult("LR", (MethodSpectra("none", "extended", "common", (full,)),
                                MethodSpectra("bynod", "optimal", "common", (fit,))))

    calibration = derive_calibration([_position("HR 7341", 1000)], reducers={"LR": reduce})
    for background, extraction in (("none", "extended"), ("bynod", "optimal")):
        response = calibration.responses[("LR", background, extraction, "common", "SL1")]
        expected = _counts_per_jy(response.wavelength_um)
        assert np.allclose(response.counts_per_jy, expected, rtol=1e-6), extraction


def test_no_usable_standard_is_an_error():
    with pytest.raises(CalibrationError, match="not a known standard"):
        derive_calibration([_position("NGC 1068", 2000)],
                           reducers={"LR": _fake_reducer(_flux)})
    with pytest.raises(CalibrationError, match="no standard-star order"):
        derive_calibration([_position("HR 7341", 1000)],
                           reducers={"LR": _fake_reducer(_flux, noise=1.0)})
    with pytest.raises(CalibrationError, match="not a calibration file"):
        Calibration.from_json("{}")


def test_matching_factors_measure_the_mismatch_in_the_overlap():
    lam1, lam2 = np.linspace(5, 8, 30), np.linspace(7.5, 14, 60)
    factors = matching_factors([("SL2", lam1, np.ones(30)), ("SL1", lam2, np.full(60, 0.8))])
    assert factors["SL2"] == 1.0 and factors["SL1"] == pytest.approx(1.25)
    apart = matching_factors([("SL2", lam1, np.ones(30)), ("LL2", lam2 + 10, np.ones(60))])
    assert apart == {"SL2": 1.0, "LL2": 1.0}


def _spectrum(key, snr, level=1.0):
    lam = np.linspace(5, 14, 10)
    return Spectrum.from_key(key, lam, np.full(10, level), np.full(10, 1 / snr), "SL1",
                             snr=snr)


@pytest.mark.parametrize(("extent", "kind"), [(None, "point"), (0.3, "point"),
                                              (math.nan, "point"), (5.0, "partial"),
                                              (100.0, "extended")])
def test_extent_classes(extent, kind):
    assert extent_class("LR", extent) == kind


def test_selection_tree_low_resolution():
    faint = [_spectrum("LR/optimal/bynod/common/point", 13.0),
             _spectrum("LR/tapered/bynod/common/point", 10.0),
             _spectrum("LR/tapered/byorder/common/partial", 9.0),
             _spectrum("LR/extended/byorder/common/extended", 8.0)]
    assert choose("LR", faint, 0.2).key == "LR/optimal/bynod/common/point"
    bright = [_spectrum("LR/optimal/bynod/common/point", 101.0),
              _spectrum("LR/tapered/bynod/common/point", 100.0)]
    assert choose("LR", bright, 0.2).key == "LR/tapered/bynod/common/point"
    assert choose("LR", faint, 8.0).key == "LR/tapered/byorder/common/partial"
    assert choose("LR", faint, 90.0).key == "LR/extended/byorder/common/extended"
    # by-nod refused (contaminated): the by-order variant, and the reason is kept
    refused = [_spectrum("LR/optimal/byorder/common/point", 5.0)]
    decision = choose("LR", refused, 0.0, refused=["SL1 nod 1 by-nod: a source of 9 sigma"])
    assert decision.key == "LR/optimal/byorder/common/point"
    assert any("9 sigma" in r for r in decision.reasons)
    assert choose("LR", [], 0.0).key is None


def test_selection_tree_high_resolution():
    variants = [_spectrum("HR/optimal/diff/diff/point", 20.0),
                _spectrum("HR/optimal/localcont/nodcomb/point", 25.0),
                _spectrum("HR/fullap/none/nodcomb/point", 30.0),
                _spectrum("HR/fullap/none/nodcomb/extended", 30.0)]
    assert choose("HR", variants, 0.0).key == "HR/optimal/diff/diff/point"
    assert choose("HR", variants, None, looks_extended=True).key == \
        "HR/fullap/none/nodcomb/extended"
    # partial wanted but absent: the highest-SNR variant, with the fallback said
    decision = choose("HR", variants, 6.0)
    assert decision.key in {"HR/fullap/none/nodcomb/point", "HR/fullap/none/nodcomb/extended"}
    assert any("preferred combination missing" in r for r in decision.reasons)


def test_selection_prefers_complete_zodi_subtracted_and_width_corrected_variants():
    # a point source measured 2" wide whose width gives 8 % more flux than the point
    # extraction: the partial calibration with its width
    faint = [_spectrum("LR/optimal/bynod/common/point", 13.0),
             _spectrum("LR/tapered/bynod/common/point", 10.0),
             _spectrum("LR/tapered/bynod/common/partial", 9.0, level=1.08),
             _spectrum("LR/tapered/byorder/common/partial", 9.0, level=1.08)]
    decision = choose("LR", faint, 2.0)
    assert decision.extent_class == "point"
    assert decision.key == "LR/tapered/bynod/common/partial"
    assert any("measured width" in r and "8.0 %" in r for r in decision.reasons)
    # a width that changes the flux by less than the calibration's uncertainty: a point
    faint[2:] = [_spectrum(s.key, 9.0, level=1.0 + MIN_PARTIAL_CORRECTION / 2)
                 for s in faint[2:]]
    decision = choose("LR", faint, 1.2)
    assert decision.key == "LR/optimal/bynod/common/point"
    assert any("kept as a point" in r for r in decision.reasons)
    # HR: against the optimal extraction the point class takes, not the full aperture's
    # point calibration (a point-profile extraction of a 2" source loses light)
    hr = [_spectrum("HR/optimal/diff/diff/point", 40.0, level=0.88),
          _spectrum("HR/fullap/zodi/nodcomb/point", 20.0, level=0.99),
          _spectrum("HR/fullap/zodi/nodcomb/partial", 20.0, level=1.0)]
    assert choose("HR", hr, 2.2, from_lr=True).key == "HR/fullap/zodi/nodcomb/partial"
    # HR extended: the zodi-subtracted full aperture over the unsubtracted one
    hr = [_spectrum("HR/fullap/none/nodcomb/extended", 30.0),
          _spectrum("HR/fullap/zodi/nodcomb/extended", 20.0)]
    decision = choose("HR", hr, None, looks_extended=True)
    assert decision.key == "HR/fullap/zodi/nodcomb/extended"
    assert any("ZODY_EST" in r for r in decision.reasons)
    # a variant lacking an order another has is not selected, and the reasons say so
    lam = np.linspace(5, 14, 10)
    both = Spectrum.from_key("LR/optimal/byorder/common/point", np.concatenate([lam, lam + 9]),
                             np.ones(20), np.full(20, 0.1),
                             np.array(["SL1"] * 10 + ["LL2"] * 10), snr=10.0)
    short = _spectrum("LR/optimal/bynod/common/point", 50.0)  # SL1 only
    decision = choose("LR", [short, both], 0.0)
    assert decision.key == "LR/optimal/byorder/common/point"
    assert any("lacking LL2" in r for r in decision.reasons)


def test_a_source_that_cancels_itself_in_the_nod_difference_is_extended():
    """No width measured, but the LR by-nod column keeps 30 % of the by-order one's flux:
    wider than the nod throw, so extended; the same at 95 %, or at 30 % on a source too
    faint for the difference to be significant, stays a point source. HR, whose farther
    sky (ZODY_EST) errs alike in every sample, is not judged this way."""
    near, far = "LR/tapered/bynod/common/point", "LR/tapered/byorder/common/point"
    extended = "LR/extended/byorder/common/extended"

    def variants(level, snr):
        return [_spectrum(near, snr, level=level), _spectrum(far, snr),
                _spectrum(extended, snr)]
    decision = choose("LR", variants(0.3, 10.0), 0.0)
    assert (decision.extent_class, decision.key) == ("extended", extended)
    assert any("nod difference holds only 30 %" in r for r in decision.reasons)
    assert choose("LR", variants(0.95, 10.0), 0.0).key == near
    assert choose("LR", variants(0.3, 1.5), None).key == near
    hr = [_spectrum("HR/optimal/diff/diff/point", 10.0, level=0.3),
          _spectrum("HR/fullap/zodi/nodcomb/point", 10.0),
          _spectrum("HR/fullap/zodi/nodcomb/extended", 10.0)]
    assert choose("HR", hr, 0.0).key == "HR/optimal/diff/diff/point"


@pytest.mark.parametrize("disagree", [False, True])
def test_the_measured_position_uses_the_centres_the_arm_fitted(disagree):
    """RA_SLT/DEC_SLT moved along PA_SLT by each nod's fitted centre, averaged over the
    nods; expected values from astropy's spherical offsets, not the code's tangent plane.
    Fitted centres 2.6" closer together than the nod throw (a fit in noise) give way to
    the nod positions (the SSC's DFRAC)."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    from pipeline.instrument import default_model

    sl = default_model().module("SL")
    plate = sl.plate_scale_arcsec
    slit = {1: (150.001, -30.0002, 33.0), 2: (150.0, -30.0, 33.2)}  # RA_SLT, DEC_SLT, PA_SLT
    fitted = {1: -5.3, 2: 3.6 if disagree else 5.6}  # pixels from the slit centre
    centres = ({n: (sl.subslits["SL1"].nod_fraction[n] - 0.5) * sl.slit_length_arcsec / plate
                for n in (1, 2)} if disagree else fitted)
    dces = tuple(
        Dce(Path(f"/nonexistent/3000_{nod}.fits"), None, None, 3000, 0, "SL", "SL1", nod,
            nod, 0, 14.68, 54000.5, 150.0, -30.0, *slit[nod], "NGC 1068", "", True)
        for nod in (1, 2))
    science = Position(3000, 0, "NGC 1068", 150.0, -30.0, dces)
    standards = [_position("HR 7341", 1000), _position("ksi Dra", 1001)]
    fake = _fake_reducer(_flux, noise=0.01)

    def with_centres(position, irs=None):
        result = fake(position, irs)
        return ArmResult(result.arm, result.variants, result.refused, result.extent_arcsec,
                         result.diagnostics, {("SL1", n): c for n, c in fitted.items()})

    calibration = derive_calibration(standards, reducers={"LR": fake})
    product = reduce_position(science, calibration, reducers={"LR": with_centres})
    points = [SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by(
        pa * u.deg, centres[nod] * plate * u.arcsec) for nod, (ra, dec, pa) in slit.items()]
    mid = points[0].directional_offset_by(points[0].position_angle(points[1]),
                                          points[0].separation(points[1]) / 2)
    got = SkyCoord(product.ra_deg * u.deg, product.dec_deg * u.deg)
    assert got.separation(mid).arcsec < 1e-3
    assert dict(product.provenance.steps)["measure position"] == "COMPLETE"
    assert product.metadata["position"]["along_slit_arcsec"] == [
        round(centres[n] * plate, 3) for n in (1, 2)]
    assert ("disagree" in product.metadata["position"]["method"]) == disagree
