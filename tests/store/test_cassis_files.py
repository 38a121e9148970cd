"""Real CASSIS files (issue 4, item 4): read into products, ingested with provenance
'archive', LR and HR of one AOR merged; corrupt files give a clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from vo_service.store import open_store
from vo_service.store.cassis_files import CassisFileError, read_cassis_file
from vo_service.store.ingest import IngestError, ingest

DATA = Path(__file__).resolve().parents[2] / "vo_service" / "data" / "cassis_examples"


def test_low_resolution_fits_and_ipac_twin_agree():
    fits_p = read_cassis_file(DATA / "cassis_yaaar_spcfw_14203136t.fits")
    tbl_p = read_cassis_file(DATA / "cassis_tbl_spcfw_14203136t.tbl")
    a, b = fits_p.spectra[0], tbl_p.spectra[0]
    assert fits_p.cj_id == tbl_p.cj_id == "14203136_0" and a.n_points == b.n_points == 387
    assert np.allclose(a.flux_jy, b.flux_jy, rtol=1e-4, atol=1e-6)  # the .tbl rounds
    assert list(dict.fromkeys(a.segment)) == ["SL2", "SL3", "SL1", "LL2", "LL3", "LL1"]
    assert a.wavelength_um.min() > 5.24 and a.wavelength_um.max() < 37.4
    assert fits_p.metadata["redshift"] == pytest.approx(0.4333)
    assert fits_p.provenance.software == "CASSIS" and not fits_p.simulated
    assert abs(fits_p.ra_deg - 347.824) < 1e-3 and abs(fits_p.dec_deg - 10.1377) < 1e-3


def test_high_resolution_orders_are_split_into_sh_and_lh():
    diff = read_cassis_file(DATA / "cassis_yaaar_optdiff_9834496.fits").spectra[0]
    assert diff.key == "HR/optimal/diff/diff/point"
    segments = list(dict.fromkeys(diff.segment))
    assert {s[:2] for s in segments} == {"SH", "LH"} and len(segments) == 20
    assert diff.wavelength_um[diff.segment == "SH11"].max() < 19.6
    assert diff.wavelength_um[diff.segment == "LH11"].min() > 33
    lh = read_cassis_file(DATA / "cassis_yaaar_full_27551744_1.fits")
    assert lh.cj_id == "27551744_1" and {str(s)[:2] for s in lh.spectra[0].segment} == {"LH"}


def test_ingest_publishes_real_files_as_archive(tmp_path):
    url = f"sqlite:///{tmp_path}/atlas.sqlite"
    report = ingest(DATA, url)
    assert report.added == 3  # 14203136_0, 9834496_0 (LR + HR merged), 27551744_1
    store = open_store(url)
    row = store.catalog_row("9834496_0")
    assert row["provenance"] == "archive" and row["has_lr"] and row["has_hr"]
    assert {s["arm"] for s in store.spectra_of("9834496_0")} == {"LR", "HR"}
    assert store.catalog_row("14203136_0")["redshift"] == pytest.approx(0.4333)
    assert ingest(DATA, url).unchanged == 3


@pytest.mark.parametrize("damage", ["truncate", "garbage", "columns"])
def test_corrupt_files_are_refused(tmp_path, damage):
    path = tmp_path / "cassis_yaaar_spcfw_14203136t.fits"
    if damage == "truncate":
        path.write_bytes((DATA / path.name).read_bytes()[:3000])
    elif damage == "garbage":
        path.write_bytes(b"\x00garbage" * 400)
    else:
        from astropy.io import fits
        fits.PrimaryHDU(np.zeros((10, 3))).writeto(path)
    with pytest.raises(CassisFileError, match=path.name):
        read_cassis_file(path)
    with pytest.raises(IngestError, match="nothing was published"):
        ingest(tmp_path, f"sqlite:///{tmp_path}/atlas.sqlite")
    assert not (tmp_path / "atlas.sqlite").exists()


def test_unknown_names_and_bad_ipac_tables(tmp_path):
    with pytest.raises(CassisFileError, match="not a CASSIS file name"):
        read_cassis_file(tmp_path / "spectrum.fits")
    bad = tmp_path / "cassis_tbl_spcfw_14203136t.tbl"
    shutil.copy(DATA / bad.name, bad)
    bad.write_text(bad.read_text(encoding="latin-1").replace("strip", "strap"),
                   encoding="latin-1")
    with pytest.raises(CassisFileError, match=bad.name):
        read_cassis_file(bad)


def test_catalogue_and_obscore_columns_from_the_cassis_headers(tmp_path):
    """object_type (OBJTYPE), program_id (PROGID), obs_mjd and ObsCore t_min (MJD_OBS),
    extent_class (EXTENT, arcsec: all these sources are < 2.5\", point-like); t_max and
    t_exptime stay NULL: the header is one exposure's."""
    from astropy.io import fits

    url = f"sqlite:///{tmp_path}/atlas.sqlite"
    ingest(DATA, url)
    store = open_store(url)
    headers: dict[str, list] = {}
    for path in sorted(DATA.glob("cassis_yaaar_*.fits")):
        aorkey, _, pointing = path.stem.split("_", 3)[3].rstrip("t").partition("_")
        headers.setdefault(f"{int(aorkey)}_{int(pointing or 0)}", []).append(
            (path, fits.getheader(path)))
    for cj_id, files in headers.items():
        row = store.catalog_row(cj_id)
        assert row["object_type"] == files[0][1]["OBJTYPE"]
        assert row["program_id"] == files[0][1]["PROGID"]
        assert row["obs_mjd"] == min(h["MJD_OBS"] for _, h in files)
        lowres = [h for p, h in files if "_spcfw_" in p.name]
        if lowres:
            assert lowres[0]["EXTENT"] < 2.5 and row["extent_class"] == "point"
        for path, header in files:
            arm = "LR" if "_spcfw_" in path.name else "HR"
            (t_min, t_max, t_exp), = store._rows(
                f"SELECT t_min, t_max, t_exptime FROM {store.physical('obscore')} "
                f"WHERE obs_id = {store.mark}", [f"{cj_id}/{arm}"])[1]
            assert (t_min, t_max, t_exp) == (header["MJD_OBS"], None, None)
    store.close()


def test_a_store_with_the_old_catalog_table_keeps_its_rows(tmp_path):
    import sqlite3

    products = tmp_path / "products"
    products.mkdir()
    shutil.copy(DATA / "cassis_yaaar_spcfw_14203136t.fits", products)
    url = f"sqlite:///{tmp_path / 'atlas.sqlite'}"
    ingest(products, url)
    with sqlite3.connect(tmp_path / "atlas.sqlite") as conn:  # as an earlier version wrote it
        conn.execute("ALTER TABLE cassisjuice_positions RENAME TO cassisjuice_catalog")
    assert ingest(products, url).unchanged == 1
    store = open_store(url)
    assert store.catalog_row("14203136_0")["object_name"] == "pg2308+098"
    with sqlite3.connect(tmp_path / "atlas.sqlite") as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "cassisjuice_catalog" not in names
