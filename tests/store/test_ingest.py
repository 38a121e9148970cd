"""Ingest (issue 4): atomic, idempotent, incremental, cross-identifications, bad input;
the same products give the same rows on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import nullcontext

import numpy as np
import pytest

from pipeline.products import read_product, write_product
from pipeline.simulate.run import simulate
from tests.postgres import fresh_database
from vo_service.cli import main
from vo_service.store import open_store
from vo_service.store.healpix import Cone
from vo_service.store.ingest import _ADVISORY_KEY as ADVISORY_KEY
from vo_service.store.ingest import IngestError, ingest


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    root = tmp_path_factory.mktemp("ingest")
    simulate(root / "sim", 60, 8, level="products", progress=False)
    return root / "sim" / "products"


def _count(store, table):
    return store.execute_readonly(f"SELECT count(*) FROM {store.physical(table)}", [], 5,
                                  10)[1][0][0]


def _check_atlas(store, directory):
    ids = sorted(p.stem for p in directory.glob("*.fits"))
    assert _count(store, "positions") == len(ids)
    product = read_product(directory / f"{ids[0]}.fits")
    row = store.catalog_row(ids[0])
    assert row["object_name"] == product.object_name
    spectra = store.spectra_of(ids[0])
    assert len(spectra) == len(product.spectra)
    best = next(s for s in spectra if s["selected"])
    arrays = store.spectrum_arrays(best["spectrum_id"])
    expected = product.variant(best["spectrum_id"].split("/", 1)[1])
    assert np.array_equal(arrays["flux"], expected.flux_jy)
    assert list(arrays["segment"]) == list(expected.segment)
    assert _count(store, "obscore") == sum(len(read_product(p).arms)
                                           for p in directory.glob("*.fits"))
    _, found = store.region(Cone(row["ra"], row["dec"], 1 / 3600), columns=["cj_id"])
    assert (ids[0],) in found
    assert store.meta_value("coverage_moc").startswith(b"SIMPLE")


def test_ingest_is_idempotent_and_incremental_on_sqlite(products, tmp_path):
    url = f"sqlite:///{tmp_path}/atlas.sqlite"
    first = ingest(products, url)
    assert first.added == 60
    store = open_store(url)
    _check_atlas(store, products)
    # the planner has statistics of the new atlas (ANALYZE at publication)
    _, stats = store._rows("SELECT tbl FROM sqlite_stat1", [])
    assert {"cassisjuice_positions", "cassisjuice_spectra"} <= {r[0] for r in stats}
    again = ingest(products, url)
    assert (again.added, again.replaced, again.unchanged) == (0, 0, 60)
    changed = tmp_path / "changed"
    shutil.copytree(products, changed)
    victim = sorted(changed.glob("*.fits"))[0]
    product = read_product(victim)
    victim.unlink()
    write_product(product.concentrate(), changed, fsync=False)
    gone = sorted(changed.glob("*.fits"))[1]
    gone.unlink()
    report = ingest(changed, url, prune=True)
    assert (report.replaced, report.removed, report.unchanged) == (1, 1, 58)
    assert len(store.spectra_of(product.cj_id)) == len(product.arms)
    assert store.catalog_row(gone.stem) is None


def test_a_store_of_an_earlier_schema_takes_the_new_columns(products, tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path}/atlas.sqlite"
    ingest(products, url)
    # the store as the version before spectra.selection_log wrote it
    with contextlib.closing(sqlite3.connect(tmp_path / "atlas.sqlite")) as db:
        db.execute("ALTER TABLE cassisjuice_spectra DROP COLUMN selection_log")
        db.commit()
    changed = tmp_path / "changed"
    shutil.copytree(products, changed)
    victim = sorted(changed.glob("*.fits"))[0]
    product = read_product(victim)
    victim.unlink()
    write_product(product.concentrate(), changed, fsync=False)
    report = ingest(changed, url)
    assert (report.replaced, report.unchanged) == (1, 59)
    store = open_store(url)
    for spectrum in store.spectra_of(product.cj_id):
        reasons = product.selection[spectrum["arm"]].reasons
        assert spectrum["selection_log"] == "\n".join(reasons) and reasons
    other = sorted(changed.glob("*.fits"))[1].stem
    assert all(s["selection_log"] is None for s in store.spectra_of(other))


def test_cross_identifications(products, tmp_path):
    url = f"sqlite:///{tmp_path}/atlas.sqlite"
    cj = sorted(p.stem for p in products.glob("*.fits"))[0]
    table = tmp_path / "xmatch.csv"
    table.write_text(f"cj_id,simbad_name,ned_name,object_type,redshift\n"
                     f"{cj},NAME Foo,FOO,Sy2,0.0123\n")
    assert ingest(products, url, xmatch=table).xmatched == 1
    row = open_store(url).catalog_row(cj)
    assert (row["simbad_name"], row["object_type"], row["redshift"]) == ("NAME Foo", "Sy2",
                                                                         0.0123)
    table.write_text("cj_id,redshift\nx,not-a-number\n")
    with pytest.raises(IngestError, match="not a number"):
        ingest(products, url, xmatch=table)


def test_bad_products_publish_nothing(products, tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/atlas.sqlite"
    ingest(products, url)
    before = (tmp_path / "atlas.sqlite").read_bytes()
    broken = tmp_path / "broken"
    shutil.copytree(products, broken)
    victim = sorted(broken.glob("*.fits"))[3]
    victim.write_bytes(victim.read_bytes()[:4000])
    with pytest.raises(IngestError, match=victim.name):
        ingest(broken, url)
    assert (tmp_path / "atlas.sqlite").read_bytes() == before
    assert not list(tmp_path.glob(".atlas.sqlite.ingest-*"))
    with pytest.raises(SystemExit) as stop:
        main(["ingest", str(tmp_path / "nothing"), "--store", url])
    assert stop.value.code == 2 and "not a directory" in capsys.readouterr().err


def test_killed_ingest_leaves_the_old_atlas_queryable(products, tmp_path):
    url = f"sqlite:///{tmp_path}/atlas.sqlite"
    small = tmp_path / "small"
    small.mkdir()
    for path in sorted(products.glob("*.fits"))[:10]:
        shutil.copy(path, small)
    ingest(small, url)
    big = tmp_path / "big"
    big.mkdir()
    for k, path in enumerate(sorted(products.glob("*.fits"))):
        for copy in range(20):  # enough work to be killed half way
            product = read_product(path)
            cj = f"{product.aorkey + copy + 1}_{product.pointing}"
            if k == 0 and copy == 0:
                cj = product.cj_id
            from dataclasses import replace
            write_product(replace(product, cj_id=cj, aorkey=int(cj.split("_")[0])), big,
                          fsync=False)
    proc = subprocess.Popen([sys.executable, "-m", "vo_service.cli", "ingest", str(big),
                             "--store", url])
    staging = tmp_path / f".atlas.sqlite.ingest-{proc.pid}"
    for _ in range(600):  # bounded: at most 60 s until the staging copy exists
        if staging.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert staging.exists(), "the ingest was not killed half way"
    store = open_store(url)
    assert _count(store, "positions") == 10
    _check_atlas(store, small)
    # the next ingest removes the dead one's full-size staging copy
    assert ingest(small, url).unchanged == 10
    assert not staging.exists()
    assert sorted(p.name for p in tmp_path.glob(".atlas.sqlite*")) == []


def _halves(products, tmp_path):
    paths = sorted(products.glob("*.fits"))
    out = []
    for name, part in (("a", paths[::2]), ("b", paths[1::2])):
        (tmp_path / name).mkdir()
        for path in part:
            shutil.copy(path, tmp_path / name)
        out.append(tmp_path / name)
    return out


def _concurrently(*calls):
    """Run the calls in threads started together; their results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(k, call):
        barrier.wait()
        try:
            results[k] = call()
        except Exception as exc:  # reported by the caller's assertion
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k, c)) for k, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return results


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_ingests_both_land(products, tmp_path, backend):
    """Two ingests of different products into one store at once: the second waits for
    the first, and every ID of both is published (none lost to the other's publication)."""
    a, b = _halves(products, tmp_path)
    context = fresh_database() if backend == "postgresql" else \
        nullcontext(f"sqlite:///{tmp_path}/atlas.sqlite")
    with context as url:
        reports = _concurrently(lambda: ingest(a, url), lambda: ingest(b, url))
        assert [r.added for r in reports] == [30, 30], reports
        store = open_store(url)
        assert _count(store, "positions") == 60
        assert _count(store, "store_state") == 60
        _check_atlas(store, products)
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_busy_store_refuses_a_second_ingest_clearly(products, tmp_path, backend):
    """With no time to wait, an ingest finding another one running fails, saying why, and
    publishes nothing."""
    a, _ = _halves(products, tmp_path)
    with contextlib.ExitStack() as stack:
        if backend == "postgresql":
            import psycopg

            url = stack.enter_context(fresh_database())
            other = stack.enter_context(psycopg.connect(url, autocommit=True))
            other.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_KEY])
        else:
            url = f"sqlite:///{tmp_path}/atlas.sqlite"
            fd = os.open(tmp_path / "atlas.sqlite.ingest.lock", os.O_RDWR | os.O_CREAT)
            stack.callback(os.close, fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(IngestError, match="another ingest of this store is running"):
            ingest(a, url, lock_wait_s=0)
    if backend == "sqlite":
        assert not (tmp_path / "atlas.sqlite").exists()
    # once the other one is gone, the ingest goes through
    if backend == "sqlite":
        assert ingest(a, url, lock_wait_s=0).added == 30


def test_postgresql_gets_the_same_atlas(products, postgres_url):
    report = ingest(products, postgres_url)
    assert report.added == 60
    store = open_store(postgres_url)
    _check_atlas(store, products)
    _, analyzed = store._rows("SELECT relname FROM pg_stat_user_tables WHERE "
                              "last_analyze IS NOT NULL", [])
    assert {"positions", "spectra"} <= {r[0] for r in analyzed}
    # vacuumed once published: the pages all-visible, so index-only scans stay on the index
    _, vacuumed = store._rows("SELECT relname FROM pg_stat_user_tables WHERE "
                              "last_vacuum IS NOT NULL", [])
    assert {"positions", "spectra"} <= {r[0] for r in vacuumed}
    _, visible = store._rows("SELECT relallvisible FROM pg_class WHERE relname = 'positions'"
                             " AND relnamespace = 'cassisjuice'::regnamespace", [])
    assert visible[0][0] > 0
    assert ingest(products, postgres_url).unchanged == 60
