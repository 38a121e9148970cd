"""The offline Python API (issue 4, item 5): cone and name look-ups, spectra as astropy
tables with units, export readable by astropy/specutils."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.table import Table

from pipeline.simulate.run import simulate
from vo_service.atlas import Atlas, AtlasError
from vo_service.store.ingest import ingest


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    root = tmp_path_factory.mktemp("atlasapi")
    simulate(root / "sim", 20, 2, level="products", progress=False)
    ingest(root / "sim" / "products", f"sqlite:///{root}/atlas.sqlite")
    return Atlas.open(root / "atlas.sqlite")


def test_cone_name_and_spectrum(atlas, tmp_path):
    first = atlas.cone(0, 0, 180)
    assert len(first) == 20 and first["ra"].unit == u.deg
    row = first[0]
    near = atlas.cone(float(row["ra"]), float(row["dec"]), 1 / 3600)
    assert row["cj_id"] in list(near["cj_id"])
    assert row["cj_id"] in list(atlas.by_name(str(row["object_name"]).upper())["cj_id"])
    arm = "LR" if row["has_lr"] else "HR"
    spec = atlas.spectrum(row["cj_id"], arm)
    assert spec["wavelength"].unit == u.um and spec["flux"].unit == u.Jy
    assert np.all(np.isfinite(spec["flux"].value))
    other = next(v for v in atlas.variants(row["cj_id"]) if v.startswith(arm))
    assert len(atlas.spectrum(row["cj_id"], arm, other.split("/", 1)[1])) > 0
    path = atlas.export(row["cj_id"], tmp_path / "s.fits", arm)
    assert Table.read(path, hdu=1)["flux"].unit == u.Jy


def test_unknown_things_are_clear_errors(atlas, tmp_path):
    with pytest.raises(AtlasError, match="not a spectrum identifier"):
        atlas.spectrum("1_0", "LR")
    with pytest.raises(AtlasError, match="no spectrum 1234_0/LR/best"):
        atlas.spectrum("1234_0", "LR")
    cj = atlas.cone(0, 0, 180)["cj_id"][0]
    with pytest.raises(AtlasError, match="it has: "):
        atlas.spectrum(cj, atlas.variants(cj)[0][:2], "optimal/bynod/common/nonsense")
    with pytest.raises(AtlasError, match="unknown export format"):
        atlas.export(cj, tmp_path / "s.pdf", atlas.variants(cj)[0][:2])


def test_features_stored_and_measured_on_request(atlas):
    import json

    root = atlas.store.path.parent
    truth = {p["cj_id"]: (p["features"], p["source"]["spectrum"]["redshift"]) for line in
             (root / "sim" / "truth" / "aors.jsonl").read_text().splitlines()
             for p in json.loads(line)["pointings"]}
    rows = atlas.cone(0, 0, 180)
    lr = [str(c) for c, has in zip(rows["cj_id"], rows["has_lr"], strict=True) if has]
    checked = 0
    for cj in lr:
        stored = atlas.features(cj)
        assert len(stored) == 1 and stored["cont_15"].unit == u.Jy
        assert stored["pah_7p7_flux"].unit == u.W / u.m**2
        if stored["arm_continuum"][0] != "LR" or np.ma.is_masked(stored["cont_15"][0]):
            continue
        # the simulated catalogue has no redshift: features at z = 0, compared where the
        # truth is at z = 0 too
        features, z = truth[cj]
        if z != 0.0 or stored["redshift"][0] != 0.0:
            continue
        value, err = stored["cont_15"][0], stored["cont_15_err"][0]
        assert abs(value - features["cont_15"]) < 5 * err + 0.05 * features["cont_15"]
        again = atlas.measure_features(cj, "LR", "best")
        assert again["cont_15"][0] == pytest.approx(stored["cont_15"][0], rel=1e-9)
        checked += 1
    assert checked > 0
    with pytest.raises(AtlasError, match="no features"):
        atlas.features("1234_0")
    with pytest.raises(AtlasError, match="redshift"):
        atlas.measure_features(lr[0], "LR", "best", redshift=-0.5)
    other = next(v for v in atlas.variants(lr[0]) if v.startswith("LR/") and "best" not in v)
    measured = atlas.measure_features(lr[0], "LR", other.split("/", 1)[1], redshift=0.0)
    assert measured["arm_continuum"][0] == "LR" and measured["redshift"][0] == 0.0


def test_features_command(atlas, capsys):
    import json

    from vo_service.cli import main

    cj = str(atlas.cone(0, 0, 180)["cj_id"][0])
    url = atlas.store.url
    assert main(["features", cj, "--store", url, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    stored = atlas.features(cj)
    assert row["cj_id"] == cj and set(row) == set(stored.colnames)
    assert main(["features", cj, "--store", url]) == 0
    assert "arm_continuum" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["features", "1234_0", "--store", url])
    assert exc.value.code == 2 and "no features" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["features", cj, "--variant", "best", "--redshift", "-1", "--store", url])
    assert exc.value.code == 2 and "must be >= 0" in capsys.readouterr().err
