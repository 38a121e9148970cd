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
