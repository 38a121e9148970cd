"""Peak memory of ``cassisjuice export-dachs`` against the size of the tables it dumps.

An atlas ingested from the real CASSIS example files, whose ``positions`` table is then
grown to ``--rows`` rows by copies of its rows under new IDs (SQL ``generate_series``; the
other tables keep their rows: the dump treats every table alike). Each size is exported
``--repeat`` times by ``cassisjuice export-dachs`` in a fresh process whose peak resident
set (GNU time's %M) and wall time are reported, median of the runs, side by
side in one run for the checkouts given (``--checkout DIR``, default this one: compare a
checkout that reads whole tables with one that streams them).

    python3 benchmarks/bench_export_dachs.py --rows 100000 400000 \\
        --postgres postgresql://postgres@127.0.0.1:5432/bench_export [--checkout DIR ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
EXAMPLES = HERE / "vo_service" / "data" / "cassis_examples"


def _grow_positions(url: str, rows: int) -> None:
    from vo_service.store import open_store

    store = open_store(url)
    names = [c.name for c in store.table("positions").columns]
    table = store.physical("positions")
    copied = ", ".join("p.cj_id || '_c' || g" if n == "cj_id" else f'p."{n}"'
                       for n in names)
    with closing(store.connect(readonly=False)) as conn:
        cur = conn.cursor()
        cur.execute(f"DELETE FROM {table} WHERE cj_id LIKE '%\\_c%' ESCAPE '\\'")
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        base = cur.fetchone()[0]
        copies = -(-max(0, rows - base) // base)
        cur.execute(f"INSERT INTO {table} ({', '.join(chr(34) + n + chr(34) for n in names)}) "
                    f"SELECT {copied} FROM {table} AS p, generate_series(1, {copies}) AS g")
        conn.commit()
    store.close()


def _export(checkout: Path, url: str, out: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one export in a child process, measured by GNU time
    (Linux hands a process's peak RSS on to what it execs, so a child forked from this
    one, grown by the ingest, would report at least this process's size)."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m",
                           "vo_service.cli", "export-dachs", str(out), "--store", url],
                          capture_output=True, text=True, cwd=checkout,
                          env={**os.environ, "PYTHONPATH": str(checkout)})
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"export-dachs failed in {checkout}: {done.stderr[-2000:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--postgres", required=True, help="a database of the benchmark's own")
    parser.add_argument("--checkout", type=Path, nargs="+", default=[HERE])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from vo_service.store.ingest import ingest

    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        products = Path(tmp) / "products"
        products.mkdir()
        for f in EXAMPLES.glob("cassis_yaaar_*.fits"):
            shutil.copy(f, products / f.name)
        ingest(products, args.postgres)
        results = []
        for rows in sorted(args.rows):
            _grow_positions(args.postgres, rows)
            for checkout in args.checkout:
                runs = [_export(checkout, args.postgres, Path(tmp) / "out")
                        for _ in range(args.repeat)]
                results.append({"positions_rows": rows, "checkout": str(checkout),
                                "seconds": statistics.median(r[0] for r in runs),
                                "peak_rss_mb": statistics.median(r[1] for r in runs)})
                print(json.dumps(results[-1]), flush=True)


if __name__ == "__main__":
    main()
