"""What a product and the catalogue say about an observation, checked against what the
simulator wrote: the raw headers (read with astropy) and the truth records. One small
simulation (seed 48: a 3-pointing cluster AOR and a pointing whose offset nod holds a
contaminating source) at raw level, reduced, and at products level with the same plans."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from pipeline.extracted import ArmResult
from pipeline.grouping import group_positions, scan_raw
from pipeline.instrument.astrometry import sky_offset
from pipeline.position import derive_calibration, is_standard, reduce_position
from pipeline.products import list_products, read_product, write_product
from pipeline.simulate.run import simulate
from vo_service.store import open_store
from vo_service.store.ingest import ingest

SEED, POSITIONS = 48, 10


def _truth(root: Path) -> dict[int, dict]:
    with (root / "truth" / "aors.jsonl").open() as fh:
        return {record["aorkey"]: record for record in map(json.loads, fh)}


def _expected_from_headers(root: Path, aors: dict[int, dict]) -> dict[str, dict]:
    """Per ID: PROGID, OBJTYPE, OBJECT, first MJD_OBS, and per arm the first start, the
    last end (MJD_OBS + RAMPTIME) and the summed RAMPTIME of its DCEs, read from the raw
    BCD headers of the files the truth assigns to each pointing."""
    out: dict[str, dict] = {}
    for aorkey, record in aors.items():
        for exposure in record["exposures"]:
            cj_id = f"{aorkey}_{exposure['pointing']}"
            chnl = {"SL": 0, "SH": 1, "LL": 2, "LH": 3}[exposure["module"]]
            path = root / "raw" / f"r{aorkey}" / f"ch{chnl}" / "bcd" / exposure["files"]["bcd"]
            header = fits.getheader(path)
            entry = out.setdefault(cj_id, {"progid": set(), "objtype": set(), "object": set(),
                                           "arms": defaultdict(list)})
            entry["progid"].add(header["PROGID"])
            entry["objtype"].add(header["OBJTYPE"])
            entry["object"].add(header["OBJECT"])
            arm = "LR" if exposure["module"] in ("SL", "LL") else "HR"
            entry["arms"][arm].append((header["MJD_OBS"], header["RAMPTIME"]))
    for entry in out.values():
        (entry["progid"],), (entry["objtype"],), (entry["object"],) = (
            entry["progid"], entry["objtype"], entry["object"])
        entry["mjd_obs"] = min(m for times in entry["arms"].values() for m, _ in times)
        entry["arms"] = {arm: (min(m for m, _ in t), max(m + r / 86400.0 for m, r in t),
                               sum(r for _, r in t)) for arm, t in entry["arms"].items()}
    return out


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    root = tmp_path_factory.mktemp("metadata")
    simulate(root / "raw_sim", POSITIONS, SEED, level="raw")
    simulate(root / "prod_sim", POSITIONS, SEED, level="products")
    positions = group_positions(scan_raw(root / "raw_sim" / "raw")[0])
    calibration = derive_calibration([p for p in positions if is_standard(p)])
    products = {}
    for position in positions:
        product = reduce_position(position, calibration)
        write_product(product, root / "products", fsync=False)
        products[position.cj_id] = product
    aors = _truth(root / "raw_sim")
    return {"root": root, "positions": {p.cj_id: p for p in positions},
            "calibration": calibration, "products": products, "aors": aors,
            "headers": _expected_from_headers(root / "raw_sim", aors)}


def _pointings(aors):
    return {p["cj_id"]: (record, p) for record in aors.values() for p in record["pointings"]}


def test_the_simulation_has_what_these_tests_need(atlas):
    clusters = [r for r in atlas["aors"].values() if len(r["pointings"]) > 1]
    assert clusters and any(p["contaminated"] for r in atlas["aors"].values()
                            for p in r["pointings"])
    assert len({p["target"]["object_name"] for p in clusters[0]["pointings"]}) > 1


@pytest.mark.parametrize("level", ["raw", "products"])
def test_catalogue_and_obscore_columns_hold_the_header_values(atlas, level, tmp_path):
    """obs_mjd, program_id, object_type, extent_class and ObsCore t_min, t_max, t_exptime
    of every position, reduced or simulated at products level, are the raw headers'."""
    directory = atlas["root"] / ("products" if level == "raw" else "prod_sim/products")
    url = f"sqlite:///{tmp_path}/atlas.sqlite"
    ingest(directory, url)
    store = open_store(url)
    expected = atlas["headers"]
    truth = _pointings(atlas["aors"])
    assert set(list_products(directory)) == set(expected)
    for cj_id, want in expected.items():
        row = store.catalog_row(cj_id)
        assert row["obs_mjd"] == pytest.approx(want["mjd_obs"], abs=1e-7)
        assert row["program_id"] == want["progid"]
        assert row["object_type"] == want["objtype"]
        assert row["extent_class"] in ("point", "partial", "extended")
        if level == "products":
            assert row["extent_class"] == truth[cj_id][1]["target"]["extent"]
        for arm, (t_min, t_max, exptime) in want["arms"].items():
            (obscore,) = store._rows(
                f"SELECT t_min, t_max, t_exptime FROM {store.physical('obscore')} "
                f"WHERE obs_id = {store.mark}", [f"{cj_id}/{arm}"])[1]
            assert obscore[0] == pytest.approx(t_min, abs=1e-7)
            assert obscore[1] == pytest.approx(t_max, abs=1e-7)
            assert obscore[2] == pytest.approx(exptime, rel=1e-9)
    store.close()


@pytest.mark.parametrize("level", ["raw", "products"])
def test_each_cluster_pointing_carries_its_own_name(atlas, level):
    directory = atlas["root"] / ("products" if level == "raw" else "prod_sim/products")
    truth = _pointings(atlas["aors"])
    for cj_id in list_products(directory):
        product = read_product(directory / f"{cj_id}.fits")
        assert product.object_name == truth[cj_id][1]["target"]["object_name"], cj_id
        if level == "raw":  # and the raw headers say so too
            assert atlas["headers"][cj_id]["object"] == product.object_name


def test_the_measured_position_is_the_true_source_position(atlas):
    """RA_SLT/DEC_SLT plus the fitted along-slit offset: within 1" of where the simulator
    put the source, for every position (the requested ones are off by the catalogue
    error, the measured ones by the pointing error across the slit and the fit)."""
    truth = _pointings(atlas["aors"])
    for cj_id, product in atlas["products"].items():
        source = truth[cj_id][1]["source"]
        assert math.isfinite(product.ra_deg) and math.isfinite(product.dec_deg), cj_id
        miss = float(np.hypot(*sky_offset(source["ra_deg"], source["dec_deg"],
                                          product.ra_deg, product.dec_deg)))
        assert miss < 1.0, (cj_id, miss)
        assert product.metadata["position"]["along_slit_arcsec"]
        assert dict(product.provenance.steps)["measure position"] == "COMPLETE"


def test_provenance_says_what_ran_was_refused_or_failed(atlas):
    products, aors = atlas["products"], atlas["aors"]
    truth = _pointings(aors)
    for cj_id, product in products.items():
        steps = dict(product.provenance.steps)
        has_hr = any(s.arm == "HR" for s in product.spectra)
        assert ("HR reduction" in steps) == has_hr
        assert "HR defringe" not in steps or has_hr
        if "LR reduction" in steps:  # a method the LR arm never attempts
            assert steps["LR background none"] == "SKIPPED"
        for what in truth[cj_id][1]["contaminated"]:
            # a contaminated offset nod: that background is not COMPLETE, and says why
            subslit, background = what.split(":")
            assert steps[f"LR background {background}"] in ("PARTIAL", "REFUSED"), steps
            assert any(line.startswith(subslit) and background in line
                       for line in product.metadata["LR"]["refused"])
    clean = [p for cj, p in products.items() if not truth[cj][1]["contaminated"]
             and "LR reduction" in dict(p.provenance.steps)]
    assert any(dict(p.provenance.steps)["LR background bynod"] == "COMPLETE" for p in clean)


def test_a_failing_arm_is_recorded_failed_and_the_other_arm_still_published(atlas):
    def broken(position, irs=None) -> ArmResult:
        raise ValueError("synthetic HR failure")

    from pipeline.lowres import reduce_lowres

    position = next(p for p in atlas["positions"].values()
                    if set(p.arms) == {"LR", "HR"} and not is_standard(p))
    product = reduce_position(position, atlas["calibration"],
                              reducers={"LR": reduce_lowres, "HR": broken})
    steps = dict(product.provenance.steps)
    assert steps["HR reduction"] == "FAILED" and steps["LR reduction"] == "COMPLETE"
    assert product.metadata["failed"]["HR reduction"] == "ValueError: synthetic HR failure"
    assert product.arms == ("LR",) and "HR calibrate" not in steps


def test_each_selected_order_carries_its_calibration_uncertainty(atlas):
    """The uncertainty of each selected order's absolute level (the standards' scatter
    over the number of distinct stars) is written beside the spectrum, and is at least
    the response's per-point part that the flux errors carry."""
    calibration = atlas["calibration"]
    for product in atlas["products"].values():
        for arm in product.arms:
            best = product.best(arm)
            if best is None:
                continue
            levels = product.metadata[arm]["calibration_uncertainty"]
            assert set(levels) == set(best.segment.tolist())
            for order, level in levels.items():
                response = next(r for key, r in calibration.responses.items()
                                if key[0] == arm and key[4] == order)
                assert 0.0 < level < 0.2
                assert level >= 0.5 * float(np.median(response.fractional_error))
