"""Blank-sky fields teach the reduction how a uniform sky fills the HR slits: checked on a
field the calibration did not use, against the zodiacal light the simulator rendered (its
truth), not against the reduction's own model."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from pipeline.calibration import Calibration, derive_calibration, is_sky, is_standard
from pipeline.grouping import group_positions, scan_raw
from pipeline.instrument import default_model
from pipeline.position import reduce_position
from pipeline.simulate import true_instrument as true
from pipeline.simulate.run import simulate

IRS = default_model()


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    root = tmp_path_factory.mktemp("skies") / "campaign"
    simulate(root, 6, 29, level="raw", jobs=2, standards=6, skies=5)
    positions = group_positions(scan_raw(root / "raw")[0])
    skies = sorted((p for p in positions if is_sky(p)), key=lambda p: p.object_name)
    calibration = derive_calibration([p for p in positions if is_standard(p)],
                                     skies=skies[:4])
    truth = {}
    for line in (root / "truth" / "aors.jsonl").read_text().splitlines():
        aor = json.loads(line)
        truth[aor["pointings"][0]["cj_id"]] = aor
    return calibration, skies[4], truth


def _rendered_zodi_jy(aor: dict, order: str, lam: np.ndarray) -> np.ndarray:
    """The zodiacal light the simulator put in the slit (Jy over the slit's area)."""
    zodi = aor["zodi"]
    module = IRS.module(order[:2])
    return true.zodi_jy_per_arcsec2(
        lam, zodi["pointings"][0]["ecliptic_lat_deg"], zodi["scale"], zodi["temperature_k"]
    ) * module.slit_width_arcsec * module.slit_length_arcsec


def _per_module(spectrum, aor: dict, value) -> dict[str, float]:
    out: dict[str, list[float]] = {}
    for order in dict.fromkeys(spectrum.segment.tolist()):
        sel = spectrum.segment == order
        lam = spectrum.wavelength_um[sel]
        out.setdefault(order[:2], []).append(float(np.median(value(
            spectrum.flux_jy[sel], _rendered_zodi_jy(aor, order, lam)))))
    return {module: float(np.median(v)) for module, v in out.items()}


def test_sky_fields_give_every_hr_order_a_scale(campaign):
    calibration, _, _ = campaign
    hr_orders = {o.name for m in ("SH", "LH") for o in IRS.module(m).orders}
    assert len(calibration.skies) == 4
    assert set(calibration.zodi_scale) >= hr_orders - {"SH11", "LH11"}
    # the SSC's slit-loss model is good to several per cent, not tens
    assert all(0.8 < v < 1.25 for v in calibration.zodi_scale.values())
    restored = Calibration.from_json(calibration.to_json())
    assert restored.zodi_scale == pytest.approx(calibration.zodi_scale, abs=1e-6)


def test_a_field_the_calibration_did_not_see_comes_out_as_its_rendered_sky(campaign):
    calibration, field, truth = campaign
    aor = truth[field.cj_id]
    product = reduce_position(field, calibration)
    # the extended calibration of a uniform sky is the sky's flux in the slit: good to
    # the other fields' ZODY_EST errors (4 % rms each), the zodiacal light's colour and
    # the slit's ends, which the full aperture's rows cover only in part (3-10 % in LH)
    extended = _per_module(product.variant("HR/fullap/none/nodcomb/extended"), aor,
                           lambda f, z: f / z)
    assert set(extended) == {"SH", "LH"}
    assert all(abs(r - 1) < 0.06 for r in extended.values()), extended
    # the zodi-subtracted full aperture leaves what this field's own ZODY_EST got wrong
    left = _per_module(product.variant("HR/fullap/zodi/nodcomb/point"), aor,
                       lambda f, z: np.median(f) / np.median(z))
    point_zodi = _per_module(product.variant("HR/fullap/none/nodcomb/point"), aor,
                             lambda f, z: np.median(f) / np.median(z))
    for module, residual in left.items():
        estimate = aor["zodi"]["pointings"][0]["modules"][module]
        wrong = 1 - estimate["zody_est_mjy_sr"] / estimate["rendered_mjy_sr"]
        assert residual / point_zodi[module] == pytest.approx(wrong, abs=0.05), module


def test_without_sky_fields_the_slcf_leaves_extended_spectra_off(campaign):
    """The same field with the scales removed: the SSC's SLCF alone, which the true
    instrument's slit does not follow, puts the uniform sky further from the truth."""
    calibration, field, truth = campaign
    aor = truth[field.cj_id]
    bare = replace(calibration, zodi_scale={}, skies=())
    with_scales, without = (
        _per_module(reduce_position(field, c).variant("HR/fullap/none/nodcomb/extended"),
                    aor, lambda f, z: f / z) for c in (calibration, bare))
    assert sum(abs(r - 1) for r in with_scales.values()) < sum(
        abs(r - 1) for r in without.values())
