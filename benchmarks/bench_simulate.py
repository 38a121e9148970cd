"""Simulation throughput, raw level and products level, in positions per second per core.

Targets (issue 2): products level >= 500 positions/s/core, raw level >= 10 positions/s/core.
Runs single-process (one core) so the figure is per core; repeats and reports the median.

    python3 benchmarks/bench_simulate.py --raw-positions 40 --products-positions 2000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from pipeline.simulate.run import simulate


def measure(level: str, positions: int, seed: int, repeats: int, where: str | None) -> dict:
    rates, files = [], 0
    for k in range(repeats):
        with tempfile.TemporaryDirectory(dir=where) as tmp:
            start = time.perf_counter()
            report = simulate(Path(tmp) / "out", positions, seed + k, level=level)
            elapsed = time.perf_counter() - start
            rates.append(positions / elapsed)
            files = report.files
            size = sum(p.stat().st_size for p in (Path(tmp) / "out").rglob("*") if p.is_file())
    return {
        "level": level,
        "directory": where or tempfile.gettempdir(),
        "positions": positions,
        "repeats": repeats,
        "positions_per_s_per_core_median": round(statistics.median(rates), 2),
        "all": [round(r, 2) for r in rates],
        "files_last_run": files,
        "bytes_per_position_last_run": round(size / positions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-positions", type=int, default=40)
    parser.add_argument("--products-positions", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--dir", action="append", default=None,
                        help="where to write (repeatable: e.g. --dir /tmp --dir /dev/shm to "
                        "separate CPU cost from file-creation cost)")
    args = parser.parse_args()
    results = []
    for where in args.dir or [None]:
        results.append(measure("products", args.products_positions, args.seed, args.repeats,
                               where))
        results.append(measure("raw", args.raw_positions, args.seed, args.repeats, where))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
