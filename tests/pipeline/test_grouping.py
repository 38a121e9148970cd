"""Grouping raw exposures into AORs and CASSISjuice positions."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from astropy.io import fits

from pipeline.grouping import group_positions, scan_raw
from pipeline.simulate.run import simulate

REAL = Path(__file__).parent.parent / "data" / "real_bcd" / "hd173511.61a2.0301.ic.fits"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("group") / "out"
    simulate(out, 6, 21)
    return out


def truth_ids(sim):
    with (sim / "truth" / "positions.csv").open() as handle:
        return sorted(row["cj_id"] for row in csv.DictReader(handle))


def test_positions_match_the_truth(sim):
    dces, problems = scan_raw(sim / "raw")
    assert problems == []
    positions = group_positions(dces)
    assert sorted(p.cj_id for p in positions) == truth_ids(sim)
    for position in positions:
        assert position.missing_nods() == []
        assert all(d.func_path and d.bmask_path for d in position.dces)
        assert all(d.simulated for d in position.dces)


def test_cluster_pointings_become_separate_ids(tmp_path):
    from pipeline.simulate.observe import plan_observations
    from pipeline.simulate.raw import write_aor
    from pipeline.simulate.sample import sky_sample

    plans = plan_observations(sky_sample(40, 3), 3, cluster_fraction=1.0)
    plan = next(p for p in plans if len(p.pointings) > 1)
    write_aor(plan, tmp_path, 3)
    positions = group_positions(scan_raw(tmp_path)[0])
    assert [p.cj_id for p in positions] == [p.cj_id for p in plan.pointings]
    for ours, planned in zip(positions, plan.pointings, strict=True):
        assert ours.ra_rqst_deg == pytest.approx(planned.ra_rqst_deg)
        assert set(ours.modules) == {s.module for s in plan.setups}
        # the AOR's other pointings, known sources for this one's slits
        others = [(p.ra_rqst_deg, p.dec_rqst_deg) for p in plan.pointings if p is not planned]
        assert len(ours.siblings) == len(others)
        for (ra, dec), (ra_planned, dec_planned) in zip(ours.siblings, others, strict=True):
            assert (ra, dec) == (pytest.approx(ra_planned), pytest.approx(dec_planned))


def test_real_hd173511_image_is_grouped(tmp_path):
    shutil.copy(REAL, tmp_path)
    dces, problems = scan_raw(tmp_path)
    assert problems == []
    (dce,) = dces
    assert (dce.module, dce.subslit, dce.nod, dce.aorkey) == ("SL", "SL2", 2, 34270464)
    assert dce.func_path is None and not dce.simulated
    (position,) = group_positions(dces)
    assert position.cj_id == "34270464_0"
    assert position.missing_nods() == ["SL2"]
    assert position.arms == ("LR",)


def test_bad_files_are_reported_not_raised(tmp_path):
    (tmp_path / "junk.fits").write_bytes(b"not a fits file at all" * 200)
    fits.PrimaryHDU(data=[[1.0]]).writeto(tmp_path / "tiny.fits")
    header = fits.getheader(REAL)
    header["FOVID"] = 99
    fits.PrimaryHDU(data=fits.getdata(REAL), header=header).writeto(tmp_path / "fov.fits")
    dces, problems = scan_raw(tmp_path)
    assert dces == []
    reasons = {Path(p.path).name: p.reason for p in problems}
    assert "unreadable" in reasons["junk.fits"] or "not an IRS" in reasons["junk.fits"]
    assert "lacks" in reasons["tiny.fits"]
    assert "FOVID 99" in reasons["fov.fits"]


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan_raw(tmp_path / "absent")
