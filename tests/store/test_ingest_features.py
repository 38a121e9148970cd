"""Ingest and the features table: one row per position, measured again when a position
has none (an atlas ingested before the table existed) or its redshift changes."""

from __future__ import annotations

import csv

import pytest

from pipeline.simulate.run import simulate
from vo_service.store import open_store
from vo_service.store.ingest import ingest


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    root = tmp_path_factory.mktemp("features")
    simulate(root / "sim", 4, 21, level="products", progress=False)
    return root / "sim" / "products"


def _features(store):
    _, rows, _ = store.execute_readonly(
        f"SELECT cj_id, redshift, cont_15 FROM {store.physical('features')} ORDER BY cj_id",
        [], 100, 10)
    return rows


def test_features_rows_follow_the_catalogue(products, tmp_path):
    url = f"sqlite:///{tmp_path / 'atlas.sqlite'}"
    ingest(products, url)
    store = open_store(url)
    first = _features(store)
    ids = sorted(p.stem for p in products.glob("*.fits"))
    assert [r[0] for r in first] == ids and all(r[1] == 0.0 for r in first)
    # an atlas whose features were lost (or predate the table): measured again
    with store.connect(readonly=False) as conn:
        conn.execute(f"DELETE FROM {store.physical('features')} WHERE cj_id = ?", [ids[0]])
        conn.commit()
    report = ingest(products, url)
    assert report.unchanged == len(ids) and _features(open_store(url)) == first
    # a redshift from the cross-identification: that position is measured at it
    xmatch = tmp_path / "xmatch.csv"
    with xmatch.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["cj_id", "simbad_name", "ned_name", "object_type", "redshift"])
        writer.writerow([ids[1], "", "", "", "0.02"])
    ingest(products, url, xmatch=xmatch)
    after = {r[0]: r for r in _features(open_store(url))}
    assert after[ids[1]][1] == pytest.approx(0.02)
    assert all(after[r[0]] == r for r in first if r[0] != ids[1])
