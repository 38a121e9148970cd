"""Real CASSIS files served back point for point: every input row with a finite wavelength
and flux comes out of ingest and of the served SDM FITS and VOTable spectra, with the
same values bit for bit and its order (segment) still attached. The expected values are
read from the CASSIS files with astropy, never from our reader."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from vo_service.app import create_app
from vo_service.config import Settings
from vo_service.store.ingest import ingest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "vo_service" / "data" / "cassis_examples"
SHARED = ROOT.parent / "shared" / "data" / "spectra"
#: CASSIS LR column 9 (module: 0 SL1 slit, 1 SL2 slit, 2 LL1 slit, 3 LL2 slit) and
#: column 10 (order) name the segment (irs.md 3.3)
_LR_MODULE = {0: "SL", 1: "SL", 2: "LL", 3: "LL"}


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("cassis_yaaar_*.fits"))


def _expected(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """The arm and the finite rows of a CASSIS file, as float64 of the stored float32."""
    data = fits.getdata(path).astype(np.float64)
    keep = np.isfinite(data[:, 0]) & np.isfinite(data[:, 1])
    rows = data[keep]
    lowres = "_spcfw_" in path.name
    out = {"wavelength": rows[:, 0], "flux": rows[:, 1], "error": rows[:, 2]}
    if lowres:
        out["segment"] = np.array([f"{_LR_MODULE[int(m)]}{int(o)}"
                                   for m, o in zip(rows[:, 8], rows[:, 9], strict=True)])
    return ("LR" if lowres else "HR"), out


def _cj_id(path: Path) -> str:
    parts = path.stem.rstrip("t").split("_")
    aorkey = parts[3].rstrip("t")
    return f"{int(aorkey)}_{int(parts[4]) if len(parts) > 4 else 0}"


def _canonical(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows in one order (wavelength, then flux bits, then segment) for a set comparison."""
    keys = [columns["wavelength"], columns["flux"].view(np.int64)]
    if "segment" in columns:
        keys.insert(0, columns["segment"])
    order = np.lexsort(keys[::-1])
    return {k: v[order] for k, v in columns.items()}


def _check_served(client, path: Path) -> int:
    arm, expected = _expected(path)
    url = f"/spectra/{_cj_id(path)}/{arm}/best"
    n = len(expected["wavelength"])
    for kind in ("fits", "votable"):
        response = client.get(f"{url}?FORMAT={kind}")
        assert response.status_code == 200, response.data[:300]
        if kind == "fits":
            table = Table.read(io.BytesIO(response.data), format="fits")
        else:
            table = Table.read(io.BytesIO(response.data), format="votable")
        served = {"wavelength": np.asarray(table["wavelength" if kind == "votable" else
                                                 table.colnames[0]], np.float64),
                  "flux": np.asarray(table[table.colnames[1]], np.float64),
                  "error": np.asarray(table[table.colnames[2]], np.float64),
                  "segment": np.asarray(table[table.colnames[3]]).astype(str)}
        assert len(served["wavelength"]) == n, f"{path.name} {kind}: points lost"
        if "segment" not in expected:
            served.pop("segment")
        want, got = _canonical(expected), _canonical(served)
        for name in ("wavelength", "flux"):
            assert np.array_equal(got[name].view(np.int64), want[name].view(np.int64)), name
        assert np.array_equal(got["error"], want["error"], equal_nan=True)
        if "segment" in want:
            assert np.array_equal(got["segment"], want["segment"])
    return n


@pytest.mark.parametrize("source", ["shipped", "shared"])
def test_every_finite_cassis_point_is_served_back(tmp_path, source) -> None:
    """Overlapping orders (SL1 and SL3, LL1 and LL3) share CASSIS's wavelength grid: no
    point may be dropped as a duplicate wavelength, and each keeps its own order."""
    directories = [SHIPPED] if source == "shipped" else [
        SHARED / "cassis_lowres", SHARED / "cassis_highres"]
    if not all(d.is_dir() for d in directories):
        pytest.skip(f"the real CASSIS files of {SHARED} are not on this machine")
    products = tmp_path / "products"
    products.mkdir()
    for directory in directories:
        for path in directory.glob("cassis_*"):
            shutil.copy(path, products / path.name)
    url = f"sqlite:///{tmp_path}/atlas.sqlite"
    ingest(products, url)
    client = create_app(Settings(store_url=url, file_cache_bytes=0)).test_client()
    files = [p for d in directories for p in _files(d)]
    assert files
    lr_overlaps = 0
    for path in files:
        _check_served(client, path)
        arm, expected = _expected(path)
        if arm == "LR":
            wl = expected["wavelength"]
            lr_overlaps += len(wl) - len(np.unique(wl))
    assert lr_overlaps > 0  # the files do exercise orders sharing wavelengths
