"""The wavelength calibrator fixes each module's zero point per campaign: checked against the
offsets the simulator rendered with (its truth), and on a second visit in the same
campaign that the calibration did not see, whose lines this test fits with its own code
against the line positions the simulator wrote."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import curve_fit

from pipeline.calibration import arm_reducers
from pipeline.grouping import group_positions, scan_raw
from pipeline.instrument import default_model
from pipeline.simulate.observe import plan_observations
from pipeline.simulate.raw import write_aor
from pipeline.simulate.sample import sky_sample
from pipeline.wavelength_calibration import (
    WavelengthZeroPoints,
    ZeroPoint,
    campaigns_of,
    is_wavelength_calibrator,
    measure_zero_points,
)

IRS = default_model()
SEED = 41
#: a second visit of the same calibrator AOR: other AORKEY, so other noise and cosmic rays
SECOND_VISIT = 100_000


@pytest.fixture(scope="module")
def visits(tmp_path_factory):
    plans = plan_observations(sky_sample(1, SEED), SEED, wavecals=True)
    calibrators = [p for p in plans if p.object_name == "NGC 6543"]
    chosen = [calibrators[12], calibrators[57]]
    root = tmp_path_factory.mktemp("wavecal") / "raw"
    truths = {}
    for plan in chosen:
        for visit in (plan, replace(plan, aorkey=plan.aorkey + SECOND_VISIT)):
            truths[visit.aorkey] = write_aor(visit, root, SEED)[1]
    positions = {p.aorkey: p for p in group_positions(scan_raw(root)[0])}
    first = [positions[p.aorkey] for p in chosen]
    measured = measure_zero_points(first, IRS, arm_reducers())
    return chosen, positions, truths, measured


def test_the_calibrator_is_recognised_and_its_campaign_read_from_the_headers(visits):
    chosen, positions, _, _ = visits
    for plan in chosen:
        position = positions[plan.aorkey]
        assert is_wavelength_calibrator(position)
        assert campaigns_of(position) == {m: plan.campaign for m in ("SL", "LL", "SH", "LH")}


def test_each_module_zero_point_is_the_offset_the_simulator_rendered(visits):
    chosen, _, truths, measured = visits
    rendered = [truths[p.aorkey]["wavelength_offset_px"][m] for p in chosen
                for m in ("SL", "LL", "SH", "LH")]
    assert max(abs(v) for v in rendered) > 0.15  # offsets a test can see
    for plan in chosen:
        for module, true_px in truths[plan.aorkey]["wavelength_offset_px"].items():
            point = measured.get(module, plan.campaign)
            assert point is not None, (module, plan.campaign)
            assert point.lines >= 2
            assert point.offset_px == pytest.approx(true_px, abs=0.05), module
            assert point.error_px < 0.05


def _line(x, amplitude, centre, sigma, c0, c1):
    return amplitude * np.exp(-0.5 * ((x - centre) / sigma) ** 2) + c0 + c1 * (x - centre)


def _centre_errors_px(position, truth: dict, points: WavelengthZeroPoints) -> dict:
    """Per module, the median of (fitted - true) line centre in pixels over the bright
    lines of the second visit's optimal extractions, on the calibrated wavelengths."""
    spectrum = truth["pointings"][0]["source"]["spectrum"]
    observed = [line["rest_wavelength_um"] * (1 + spectrum["redshift"])
                for line in spectrum["lines"]]
    campaigns = campaigns_of(position)
    out: dict[str, list[float]] = {}
    reducers = arm_reducers()
    for arm in position.arms:
        result = reducers[arm](position, irs=IRS)
        method = next(m for m in result.variants if m.extraction == "optimal")
        for ext in method.orders:
            order = IRS.order(ext.order)
            lam = points.shifted(IRS, ext.order, ext.wavelength_um, campaigns[order.module])
            for centre in observed:
                width = centre / float(order.resolving_power(np.array([centre]))[0])
                if not lam.min() + 4 * width < centre < lam.max() - 4 * width or any(
                        0 < abs(other - centre) < 4 * width for other in observed):
                    continue
                near = np.abs(lam - centre) < 2.5 * width
                x, y = lam[near], ext.counts[near]
                base = float(np.median(np.concatenate([y[:2], y[-2:]])))
                if near.sum() < 6 or np.max(y) - base < 30 * np.median(ext.counts_error[near]):
                    continue
                p, _ = curve_fit(_line, x, y, p0=(np.max(y) - base, centre, width / 2.35,
                                                  base, 0.0))
                step = abs(float(order.geometry.dispersion_um_per_px(np.array([centre]))[0]))
                out.setdefault(order.module, []).append((p[1] - centre) / step)
    return {module: float(np.median(v)) for module, v in out.items()}


def test_a_second_visit_has_its_lines_where_the_truth_puts_them(visits):
    chosen, positions, truths, measured = visits
    nominal = WavelengthZeroPoints()
    for plan in chosen:
        again = plan.aorkey + SECOND_VISIT
        calibrated = _centre_errors_px(positions[again], truths[again], measured)
        assert set(calibrated) == {"SL", "LL", "SH", "LH"}
        before = _centre_errors_px(positions[again], truths[again], nominal)
        for module, error_px in calibrated.items():
            assert abs(error_px) < 0.06, (module, calibrated)
            true_px = truths[again]["wavelength_offset_px"][module]
            # uncalibrated, a line sits where the offset moved it (to the LR fits' 0.03 px)
            assert before[module] == pytest.approx(-true_px, abs=0.1), module
        assert sum(map(abs, calibrated.values())) < 0.5 * sum(map(abs, before.values()))


def test_a_campaign_without_calibrator_keeps_the_nominal_wavelengths():
    points = WavelengthZeroPoints({"SH": {"IRSX004000": ZeroPoint(0.3, 0.01, 4)}})
    lam = IRS.order("SH12").geometry.wavelength_um[10:20]
    step = IRS.order("SH12").geometry.dispersion_um_per_px(lam)
    assert np.allclose(points.shifted(IRS, "SH12", lam, "IRSX004000") - lam, 0.3 * step)
    assert points.shifted(IRS, "SH12", lam, "IRSX004100") is lam
    assert points.shifted(IRS, "LH12", lam, "IRSX004000") is lam
    assert WavelengthZeroPoints.from_dict(points.to_dict()) == points
    with pytest.raises(ValueError):
        ZeroPoint.from_dict({"offset_px": float("nan"), "error_px": 0.1, "lines": 3})
    for bad in ([1, 2], {"SH": [0.3]}, {"SH": {"IRSX004000": 0.3}}):
        with pytest.raises(ValueError):
            WavelengthZeroPoints.from_dict(bad)
