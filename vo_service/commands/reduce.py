"""``cassisjuice reduce RAW --out PRODUCTS``: every position to its product (issue 3)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.run import ReduceError, reduce_atlas

from . import positive_int

NAME = "reduce"
USER_ERRORS = (ReduceError,)


def add_parser(sub) -> argparse.ArgumentParser:
    red = sub.add_parser(
        NAME, help="reduce raw IRS exposures into one product per position",
        description="Group the raw exposures into targeted positions, calibrate on the "
        "standard stars, and reduce every position (all method variants, the selected "
        "best one per arm) into PRODUCTS/<ID>.fits. Resumable: finished IDs are skipped. "
        "A run report is written to PRODUCTS/run-report.json.")
    red.add_argument("raw", type=Path, help="directory of raw IRS data (any layout)")
    red.add_argument("--out", type=Path, required=True, help="products directory")
    red.add_argument("--jobs", type=positive_int, default=None,
                     help="worker processes (default: one per CPU)")
    red.add_argument("--scheduler", metavar="ADDRESS",
                     help="run on a Dask cluster (e.g. tcp://127.0.0.1:8786)")
    red.add_argument("--recalibrate", action="store_true",
                     help="derive the calibration again even if PRODUCTS has one")
    red.add_argument("--calibration", type=Path, metavar="FILE",
                     help="calibrate with this calibration.json of another run (e.g. a "
                     "calibration campaign simulated with --standards equal to --positions) "
                     "instead of the standard stars among RAW")
    red.add_argument("--no-progress", action="store_true", help="no progress bar")
    return red


def run(args: argparse.Namespace) -> int:
    try:
        report = reduce_atlas(args.raw, args.out, jobs=args.jobs, scheduler=args.scheduler,
                              recalibrate=args.recalibrate,
                              calibration_file=args.calibration,
                              progress=not args.no_progress)
    except KeyboardInterrupt:
        sys.stderr.write(f"cassisjuice reduce: interrupted; the finished products stay in "
                         f"{args.out} and a new run resumes from them\n")
        return 130
    sys.stdout.write(report.summary() + "\n")
    return 1 if report.failures and not report.reduced else 0
