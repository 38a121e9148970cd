"""The store's speed (issue 4): ingest rate, cone latency against a full scan, size.

* an atlas of ``--positions`` IDs (default 20,400) simulated at the products level and
  ingested with ``cassisjuice ingest``'s code: ingest time and rate, bytes per spectrum;
* a catalogue of ``--big`` rows (default 1,000,000) at random positions written straight
  into the catalogue table (no product files: the cone search only reads the catalogue);
* on both: the median latency of random 1-arcmin cones through the HEALPix prefilter and
  the exact test, against the same exact test as a full scan, side by side in one run.

    python3 benchmarks/bench_store.py --positions 20400 --big 1000000 \\
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from pipeline.simulate.run import simulate
from vo_service.store import open_store
from vo_service.store.healpix import Cone, healpix_index
from vo_service.store.ingest import _insert, ingest


def _fill_catalog(url: str, n: int, seed: int) -> None:
    store = open_store(url)
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    hpx = healpix_index(ra, dec)
    with closing(store.connect(readonly=False)) as conn:
        cur = conn.cursor()
        for statement in store.ddl():
            cur.execute(statement)
        for start in range(0, n, 50_000):
            stop = min(start + 50_000, n)
            _insert(store, cur, "positions", [
                {"cj_id": f"{i}_0", "aorkey": i, "pointing": 0, "ra": float(ra[i]),
                 "dec": float(dec[i]), "object_name": "random", "has_lr": True,
                 "has_hr": False, "provenance": "simulated", "healpix": int(hpx[i])}
                for i in range(start, stop)])
        conn.commit()


def _cones(url: str, n_cones: int, seed: int, scan_cones: int) -> dict:
    store = open_store(url)
    rng = np.random.default_rng(seed)
    centres = [(float(rng.uniform(0, 360)), float(np.degrees(np.arcsin(rng.uniform(-1, 1)))))
               for _ in range(n_cones)]
    indexed, scanned = [], []
    table = store.physical("positions")
    for k, (ra, dec) in enumerate(centres):
        cone = Cone(ra, dec, 1 / 60)
        start = time.perf_counter()
        _, rows = store.region(cone, columns=["cj_id"])
        indexed.append(time.perf_counter() - start)
        if k < scan_cones:
            exact, params = cone.sql_contains('"ra"', '"dec"', store.dialect)
            start = time.perf_counter()
            _, full, _ = store.execute_readonly(f'SELECT "cj_id" FROM {table} WHERE {exact}',
                                             params, 10**6, 600)
            scanned.append(time.perf_counter() - start)
            assert sorted(full) == sorted(rows)
    med_i, med_s = statistics.median(indexed), statistics.median(scanned)
    return {"cone_1arcmin_ms_median": round(med_i * 1e3, 3),
            "full_scan_ms_median": round(med_s * 1e3, 1),
            "speedup": round(med_s / med_i, 1), "cones": n_cones, "scans": scan_cones}


def _spectrum_reads(url: str, n: int, seed: int) -> dict:
    """Median time to read one spectrum's arrays (a fresh connection each time, as a
    service request does)."""
    store = open_store(url)
    ids = [r[0] for r in store.execute_readonly(
        f"SELECT spectrum_id FROM {store.physical('spectra')}", [], 10**6, 60)[1]]
    rng = np.random.default_rng(seed)
    times = []
    for sid in rng.choice(ids, size=min(n, len(ids)), replace=False):
        start = time.perf_counter()
        arrays = store.spectrum_arrays(str(sid))
        times.append(time.perf_counter() - start)
        assert arrays is not None
    return {"spectrum_read_ms_median": round(statistics.median(times) * 1e3, 3),
            "spectrum_reads": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=20_400)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--cones", type=int, default=200)
    parser.add_argument("--scans", type=int, default=5)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--postgres", help="also measure on this (empty) PostgreSQL database")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        simulate(tmp / "sim", args.positions, args.seed, level="products", jobs=2,
                 progress=False)
        results["simulate_products_s"] = round(time.perf_counter() - start, 1)
        urls = {"sqlite": f"sqlite:///{tmp}/atlas.sqlite"}
        if args.postgres:
            urls["postgresql"] = args.postgres
        for name, url in urls.items():
            start = time.perf_counter()
            report = ingest(tmp / "sim" / "products", url)
            elapsed = time.perf_counter() - start
            store = open_store(url)
            n_spectra = store.execute_readonly(
                f"SELECT count(*) FROM {store.physical('spectra')}", [], 1, 60)[1][0][0]
            entry = {"ingest_s": round(elapsed, 1),
                     "ingest_ids_per_s": round(report.added / elapsed, 1),
                     "spectra": n_spectra,
                     **_cones(url, args.cones, args.seed, args.scans),
                     **_spectrum_reads(url, args.cones, args.seed)}
            if name == "sqlite":
                size = (tmp / "atlas.sqlite").stat().st_size
                entry["bytes_per_spectrum"] = round(size / n_spectra)
            start = time.perf_counter()
            again = ingest(tmp / "sim" / "products", url)
            entry["reingest_unchanged_s"] = round(time.perf_counter() - start, 1)
            entry["reingest_unchanged"] = again.unchanged
            results[f"{name}_{args.positions}"] = entry
        big = f"sqlite:///{tmp}/big.sqlite"
        start = time.perf_counter()
        _fill_catalog(big, args.big, args.seed)
        results[f"sqlite_{args.big}"] = {"fill_s": round(time.perf_counter() - start, 1),
                                         **_cones(big, args.cones, args.seed, args.scans)}
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
