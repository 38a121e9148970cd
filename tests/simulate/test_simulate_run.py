"""`cassisjuice simulate` end to end: file names, headers, truth, determinism, bad input."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from pipeline.instrument import default_model
from pipeline.instrument.astrometry import sky_offset
from pipeline.products import list_products, read_product
from pipeline.simulate.bcd_header import validate_header
from pipeline.simulate.naming import parse_bcd_filename
from pipeline.simulate.observe import plan_observations
from pipeline.simulate.run import SimulationError, simulate
from pipeline.simulate.sample import sky_sample
from vo_service.cli import main


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "out"
    simulate(out, 8, 5)
    return out


def bcd_files(root: Path):
    return sorted((root / "raw").rglob("*_bcd.fits"))


def test_tree_and_names_follow_the_archive(sim):
    files = sorted((sim / "raw").rglob("*.fits"))
    assert files
    kinds = {}
    for path in files:
        name = parse_bcd_filename(path.name)
        assert path.parent.name == "bcd"
        assert path.parent.parent.name == f"ch{name.chnlnum}"
        assert path.parent.parent.parent.name == f"r{name.aorkey}"
        kinds.setdefault((name.aorkey, name.chnlnum, name.expid, name.dcenum), set()).add(
            name.kind)
    assert all(k == {"bcd", "func", "bmask"} for k in kinds.values())
    assert not any(p.name.startswith(".") for p in sim.parent.iterdir())  # no partial tree


def test_headers_are_valid_and_labelled_simulated(sim):
    for path in bcd_files(sim)[:40]:
        with fits.open(path) as hdul:
            header = hdul[0].header
            assert hdul[0].data.shape == (128, 128)
        assert validate_header(header, check_orientation=True) == [], path.name
        assert header["SIMULATE"] is True
        assert isinstance(header["AORKEY"], str)
        assert header["BUNIT"] == "e-/sec"


def test_target_lands_at_the_nod_position_in_the_header_frame(sim):
    """The requested position, seen from RA_SLT/DEC_SLT/PA_SLT, sits at DFRAC of the nod."""
    irs = default_model()
    checked = 0
    for path in bcd_files(sim):
        header = fits.getheader(path)
        module = irs.by_channel(header["CHNLNUM"])
        sub = next(s for s in module.subslits.values() if header["FOVID"] in s.fov_ids.values())
        nod = next(k for k, v in sub.fov_ids.items() if v == header["FOVID"])
        xi, eta = sky_offset(header["RA_SLT"], header["DEC_SLT"], header["RA_RQST"],
                             header["DEC_RQST"])
        pa = np.radians(header["PA_SLT"])
        along = xi * np.sin(pa) + eta * np.cos(pa)
        expected = (sub.nod_fraction[nod] - 0.5) * module.slit_length_arcsec
        assert along == pytest.approx(expected, abs=1.5)  # pointing errors: 0.35" rms/axis
        checked += 1
    assert checked > 10


def test_truth_is_separate_and_complete(sim):
    with (sim / "truth" / "positions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8
    assert len({r["cj_id"] for r in rows}) == 8
    assert int(rows[0]["cj_id"].split("_")[0]) > 0
    lines = (sim / "truth" / "aors.jsonl").read_text().splitlines()
    assert len(lines) >= 1
    for line in lines:
        truth = json.loads(line)
        assert truth["exposures"]
        assert all("spectrum" in p["source"] for p in truth["pointings"])
    assert not list((sim / "raw").rglob("*.json"))


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted((root / "raw").rglob("*.fits")):
        data = path.read_bytes()
        # DATE is the write time; everything else must be identical
        h.update(path.name.encode())
        with fits.open(path) as hdul:
            h.update(hdul[0].data.tobytes())
    return h.hexdigest() + str(len(data))


def test_same_seed_same_files(tmp_path, sim):
    again = tmp_path / "again"
    simulate(again, 8, 5)
    assert digest(again) == digest(sim)


def test_cluster_pointings_are_distinct_positions():
    targets = sky_sample(300, 9)
    plans = plan_observations(targets, 9, cluster_fraction=0.5)
    clusters = [p for p in plans if len(p.pointings) > 1]
    assert clusters
    for plan in clusters:
        assert plan.objtype == "TargetFixedCluster"
        ids = [p.cj_id for p in plan.pointings]
        assert ids == [f"{plan.aorkey}_{k}" for k in range(len(ids))]
        positions = {(round(p.ra_rqst_deg, 5), round(p.dec_rqst_deg, 5)) for p in plan.pointings}
        assert len(positions) == len(ids)
        # EXPIDs of one pointing form one block, after the previous pointing's
        blocks = [[e.expid for e in plan.exposures if e.pointing == k] for k in range(len(ids))]
        assert all(max(a) < min(b) for a, b in itertools.pairwise(blocks))
    assert sum(len(p.pointings) for p in plans) == 300
    assert sum(p.standard for p in plans) >= 2


def test_products_level_writes_readable_products(tmp_path):
    out = tmp_path / "p"
    report = simulate(out, 12, 2, level="products")
    ids = list_products(out / "products")
    assert len(ids) == 12 == report.positions
    product = read_product(out / "products" / f"{ids[0]}.fits")
    assert product.simulated
    for arm in product.arms:
        best = product.best(arm)
        assert best is not None and np.all(np.isfinite(best.flux_jy))


@pytest.mark.parametrize("argv, message", [
    (["--positions", "0"], ">= 1"),
    (["--positions", "x"], "not an integer"),
    (["--seed", "-1"], ">= 0"),
    (["--level", "cube"], "invalid choice"),
])
def test_bad_arguments_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--out", str(out), *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_refused(tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--out", str(tmp_path / "o"), "--positions", "2", "--no-progress"])
    assert exc.value.code == 2
    assert "not an empty directory" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["keep.txt"]


def test_failure_midway_leaves_no_output(tmp_path, monkeypatch):
    import pipeline.simulate.run as run

    def boom(task):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run, "_raw_worker", boom)
    with pytest.raises(RuntimeError):
        simulate(tmp_path / "o", 3, 1)
    assert list(tmp_path.iterdir()) == []


def test_simulation_error_for_missing_parent(tmp_path):
    with pytest.raises(SimulationError, match="parent directory"):
        simulate(tmp_path / "a" / "b", 2, 1)


def test_truth_says_shapes_neighbours_zodi_and_offsets(sim):
    with (sim / "truth" / "positions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {"shape", "components", "half_light_radius_arcsec", "neighbours"} <= set(rows[0])
    for line in (sim / "truth" / "aors.jsonl").read_text().splitlines():
        truth = json.loads(line)
        assert set(truth["wavelength_offset_px"]) == {s["module"] for s in truth["setups"]}
        assert 240.0 < truth["zodi"]["temperature_k"] < 290.0
        for p, z in zip(truth["pointings"], truth["zodi"]["pointings"], strict=True):
            shape = p["source"]["morphology"]
            assert sum(c["fraction"] for c in shape["components"]) == pytest.approx(1.0)
            assert isinstance(p["neighbours"], list)
            for module in z["modules"].values():
                assert module["zody_est_mjy_sr"] == pytest.approx(
                    module["rendered_mjy_sr"], rel=0.1)


def test_neighbours_sit_along_a_slit_at_their_documented_distances():
    from pipeline.instrument import default_model
    from pipeline.instrument.astrometry import sky_offset, sky_to_focal_offset
    from pipeline.simulate.raw import aor_truth

    plans = plan_observations(sky_sample(1500, 4), 4, exposures=False)
    singles = [(plan, p) for plan in plans for p in plan.pointings
               if len(plan.pointings) == 1 and not plan.standard]
    with_neighbour = [(plan, p) for plan, p in singles if p.neighbours]
    assert 0.07 < len(with_neighbour) / len(singles) < 0.13
    for plan, p in with_neighbour:
        (n,) = p.neighbours
        xi, eta = sky_offset(p.source.ra_deg, p.source.dec_deg, n.ra_deg, n.dec_deg)
        y, z = sky_to_focal_offset(xi, eta, plan.roll_deg)
        axis = next(iter(default_model().module(n.note.split()[0]).subslits.values())).axis
        along, across = y * axis[0] + z * axis[1], -y * axis[1] + z * axis[0]
        assert 2.9 < abs(along) < 30.1 and abs(across) < 0.05
        ratio = n.spectrum.continuum_15um_jy / p.source.spectrum.flux_15um_jy
        assert 0.0299 < ratio < 1.0001 or n.spectrum.continuum_15um_jy == 1e-4
        record = aor_truth(plan, [], 4)["pointings"][0]["neighbours"][0]
        assert record["separation_arcsec"] == pytest.approx(abs(along), abs=0.05)
        assert record["role"] == "neighbour"


def test_sky_fields_are_blank_high_resolution_aors_that_change_no_other_plan():
    targets = sky_sample(12, 23)
    plain = plan_observations(targets, 23, exposures=False)
    with_skies = plan_observations(targets, 23, exposures=False, skies=3)
    assert with_skies[:len(plain)] == plain
    skies = with_skies[len(plain):]
    assert [p.object_name for p in skies] == [f"IRS sky field {k:02d}" for k in (1, 2, 3)]
    assert len({p.aorkey for p in with_skies}) == len(with_skies)
    for plan in skies:
        assert {s.module for s in plan.setups} == {"SH", "LH"}
        assert not plan.standard and plan.aorlabel.startswith("calsky-")
        (pointing,) = plan.pointings
        assert pointing.source.spectrum.flux_jy(np.array([10.0, 20.0, 30.0]),
                                                np.full(3, 600.0)).max() == 0.0
        assert not pointing.contaminants and not pointing.neighbours


def test_the_wavelength_calibrator_visits_every_campaign_and_changes_no_other_plan():
    from pipeline.instrument.standards import WAVELENGTH_CALIBRATORS
    from pipeline.simulate.observe import campaign_for

    targets = sky_sample(12, 23)
    plain = plan_observations(targets, 23, exposures=False, skies=2)
    with_calibrator = plan_observations(targets, 23, exposures=False, skies=2, wavecals=True)
    assert with_calibrator[:len(plain)] == plain
    added = with_calibrator[len(plain):]
    # every CAMPAIGN a science AOR can carry (its start drawn over the mission) has one
    mission = {campaign_for(mjd)[0] for mjd in np.linspace(53080.0, 54960.0, 20000)}
    assert [p.campaign for p in added] == sorted(mission)
    calibrator = WAVELENGTH_CALIBRATORS[0]
    for plan in added:
        assert plan.object_name == calibrator.name and plan.aorlabel == f"calwave-{plan.campaign}"
        assert {s.module for s in plan.setups} == {"SL", "LL", "SH", "LH"}
        (pointing,) = plan.pointings
        spectrum = pointing.source.spectrum
        assert spectrum.redshift == pytest.approx(calibrator.velocity_km_s / 299792.458)
        assert len(spectrum.lines) >= 10


def test_a_calibration_campaign_observes_the_instrument_of_the_run_it_calibrates():
    from pipeline.simulate.raw import aor_truth

    science = plan_observations(sky_sample(40, 5), 5, exposures=False)
    campaign = plan_observations(sky_sample(3, 1005), 1005, exposures=False, wavecals=True,
                                 instrument=5)
    other = plan_observations(sky_sample(3, 1005), 1005, exposures=False, wavecals=True)
    offsets = {p.campaign: aor_truth(p, [], 1005)["wavelength_offset_px"] for p in campaign
               if p.object_name == "NGC 6543"}
    elsewhere = {p.campaign: aor_truth(p, [], 1005)["wavelength_offset_px"] for p in other
                 if p.object_name == "NGC 6543"}
    for plan in science:
        truth = aor_truth(plan, [], 5)["wavelength_offset_px"]
        for module, value in truth.items():
            assert offsets[plan.campaign][module] == value
    assert any(elsewhere[c] != offsets[c] for c in offsets)
