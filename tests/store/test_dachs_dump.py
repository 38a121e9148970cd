"""``cassisjuice export-dachs``: the atlas written as the files q.rd's data elements import
(checked without DaCHS; tests/metadata/test_dachs_serves_rd.py imports them into one)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from astropy.io import fits

from vo_service.cli import main
from vo_service.metadata import default_rd_path
from vo_service.store import open_store
from vo_service.store.ingest import ingest

EXAMPLES = Path(__file__).resolve().parents[2] / "vo_service" / "data" / "cassis_examples"


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    products = tmp_path_factory.mktemp("products")
    for name in ("cassis_yaaar_spcfw_9834496t.fits", "cassis_yaaar_optdiff_9834496.fits",
                 "cassis_yaaar_spcfw_14203136t.fits"):
        shutil.copy(EXAMPLES / name, products)
    return products


@pytest.fixture(scope="module")
def atlas_url(products, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'atlas.sqlite'}"
    ingest(products, url)
    return url


def test_export_writes_every_imported_table_and_the_spectrum_files(atlas_url, tmp_path):
    url = atlas_url
    out = tmp_path / "resdir"
    assert main(["export-dachs", str(out), "--store", url]) == 0
    assert (out / "q.rd").read_bytes() == default_rd_path().read_bytes()
    store = open_store(url)
    for table_id in ("positions", "spectra", "obscore", "features", "lines"):
        with (out / "data" / f"{table_id}.csv").open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0]) == [c.name for c in store.table(table_id).columns]
        _, count, _ = store.execute_readonly(
            f"SELECT COUNT(*) FROM {store.physical(table_id)}", [], 1, 30)
        assert len(rows) == count[0][0] > 0
    with (out / "data" / "positions.csv").open(encoding="utf-8") as f:
        positions = {r["cj_id"]: r for r in csv.DictReader(f)}
    assert set(positions) == {"9834496_0", "14203136_0"}
    nulls = [(cj, name) for cj in positions for name, value in store.catalog_row(cj).items()
             if value is None]
    assert nulls and all(positions[cj][name] == "" for cj, name in nulls)  # NULL: empty
    assert (positions["9834496_0"]["has_lr"], positions["9834496_0"]["has_hr"]) == ("1", "1")
    files = sorted(p.name for p in (out / "data" / "spectra").iterdir())
    assert files == ["14203136_0_LR.fits", "9834496_0_HR.fits", "9834496_0_LR.fits"]
    with fits.open(out / "data" / "spectra" / "9834496_0_HR.fits") as hdus:
        assert hdus[0].header["DS_IDPUB"].endswith("cassisjuice?9834496_0/HR")
        assert len(hdus[1].data) > 100


def test_export_to_an_unwritable_place_is_a_one_line_error(atlas_url, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SystemExit) as stopped:
        main(["export-dachs", str(blocker / "resdir"), "--store", atlas_url])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "export-dachs: error:" in err and "Traceback" not in err


def _expected_csv(store, table_id: str) -> str:
    """The table as the dump's format has it (a header of the column names, then one
    line per row in primary-key order; NULL and non-finite numbers empty, booleans 1/0,
    floats as repr), from the whole table read at once."""
    import io
    import math

    table = store.table(table_id)
    names = [c.name for c in table.columns]
    order = f' ORDER BY "{table.primary}"' if table.primary else ""
    _, rows, _ = store.execute_readonly(
        f"SELECT {', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)} FROM "
        f"{store.physical(table_id)}{order}", [], 1_000_000, 60)

    def cell(v):
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return ""
        if isinstance(v, bool):
            return str(int(v))
        return repr(v) if isinstance(v, float) else str(v)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_tables_streamed_in_chunks_are_the_whole_tables(kind, products, atlas_url,
                                                         request, tmp_path, monkeypatch):
    """The dump reads each table in chunks (a PostgreSQL server-side cursor); with chunks
    of 7 rows (every table of more rows spans several) its files are what the whole
    tables read at once give, and the same as with the default chunk size."""
    from vo_service.store import dachs_dump

    url = atlas_url
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
        ingest(products, url)
    assert main(["export-dachs", str(tmp_path / "default"), "--store", url]) == 0
    monkeypatch.setattr(dachs_dump, "CHUNK_ROWS", 7)
    assert main(["export-dachs", str(tmp_path / "small"), "--store", url]) == 0
    store = open_store(url)
    try:
        for table_id, source in store.resource.imports.items():
            small = (tmp_path / "small" / source).read_text(encoding="utf-8")
            assert small == _expected_csv(store, table_id), table_id
            assert (tmp_path / "default" / source).read_text(encoding="utf-8") == small
        lines = (tmp_path / "small" / store.resource.imports["lines"]).read_text(
            encoding="utf-8").count("\n")
        assert lines - 1 > 3 * 7  # the line list alone spans several chunks
    finally:
        store.close()
