"""Simulation throughput, raw level and products level, in positions per second per core.

Targets (issue 2): products level >= 500 positions/s/core, raw level >= 10 positions/s/core.
Runs single-process (one core) so the figure is per core; repeats and reports the median
of the wall-clock rate, the process's user and system CPU time per position, and what the
directory's file system alone costs to create one file of the same size (open, write,
close: on a VM's ext4 this is most of the gap between --dir /tmp and --dir /dev/shm).

    python3 benchmarks/bench_simulate.py --raw-positions 40 --products-positions 2000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from pipeline.simulate.run import simulate


def measure(level: str, positions: int, seed: int, repeats: int, where: str | None) -> dict:
    rates, user, system, files = [], [], [], 0
    for k in range(repeats):
        with tempfile.TemporaryDirectory(dir=where) as tmp:
            before, start = os.times(), time.perf_counter()
            report = simulate(Path(tmp) / "out", positions, seed + k, level=level)
            elapsed, after = time.perf_counter() - start, os.times()
            rates.append(positions / elapsed)
            user.append((after.user - before.user) / positions * 1e3)
            system.append((after.system - before.system) / positions * 1e3)
            files = report.files
            size = sum(p.stat().st_size for p in (Path(tmp) / "out").rglob("*") if p.is_file())
    return {
        "level": level,
        "directory": where or tempfile.gettempdir(),
        "positions": positions,
        "repeats": repeats,
        "positions_per_s_per_core_median": round(statistics.median(rates), 2),
        "all": [round(r, 2) for r in rates],
        "user_cpu_ms_per_position_median": round(statistics.median(user), 3),
        "system_cpu_ms_per_position_median": round(statistics.median(system), 3),
        "files_last_run": files,
        "bytes_per_position_last_run": round(size / positions),
        "file_system_ms_per_file": file_creation_ms(where, round(size / max(files, 1))),
    }


def file_creation_ms(where: str | None, size: int, n: int = 500) -> float:
    """Median over 3 rounds of creating n files of ``size`` bytes (open, write, close):
    the part of a products-level position that is the file system's, not ours."""
    data, rounds = b"\0" * size, []
    for _ in range(3):
        with tempfile.TemporaryDirectory(dir=where) as tmp:
            start = time.perf_counter()
            for i in range(n):
                fd = os.open(f"{tmp}/f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                os.write(fd, data)
                os.close(fd)
            rounds.append((time.perf_counter() - start) / n * 1e3)
    return round(statistics.median(rounds), 3)


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
        for level, positions in (("products", args.products_positions),
                                 ("raw", args.raw_positions)):
            if positions > 0:  # 0 skips a level
                results.append(measure(level, positions, args.seed, args.repeats, where))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
