"""``cassisjuice simulate``: a simulated IRS raw tree with its truth, or 1-D products."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.simulate.run import DEFAULT_STANDARDS, SimulationError, simulate

from . import int_at_least, positive_int, seed

NAME = "simulate"
USER_ERRORS = (SimulationError,)


def add_parser(sub) -> argparse.ArgumentParser:
    sim = sub.add_parser(
        NAME,
        help="simulate IRS observations (raw BCD tree + truth) or 1-D products",
        description="Simulate staring-mode IRS observations of a sky sample built from the "
        "real IRS target list. Raw level: BCD/func/bmask FITS per DCE under "
        "OUT/raw/r<AORKEY>/ch<N>/bcd/ and the truth under OUT/truth/. Products level: one "
        "product per position under OUT/products/ (no detector simulation).",
    )
    sim.add_argument("--positions", type=positive_int, default=50,
                     help="number of targeted positions (default 50)")
    sim.add_argument("--seed", type=seed, default=1, help="random seed (default 1)")
    sim.add_argument("--out", type=Path, required=True,
                     help="output directory (must not exist or be empty)")
    sim.add_argument("--level", choices=("raw", "products"), default="raw",
                     help="raw exposures or reduced-format products (default raw)")
    sim.add_argument("--jobs", type=positive_int, default=1,
                     help="worker processes (default 1)")
    sim.add_argument("--standards", type=int_at_least(0), default=DEFAULT_STANDARDS,
                     help="standard-star AORs to include at least (default "
                     f"{DEFAULT_STANDARDS}; equal to --positions: a calibration campaign "
                     "for 'reduce --calibration')")
    sim.add_argument("--skies", type=int_at_least(0), default=0,
                     help="blank-sky SH/LH AORs to add (default 0; a calibration campaign's "
                     "fields of zodiacal light, from which 'reduce' learns how a uniform "
                     "sky fills the HR slits)")
    sim.add_argument("--wavecals", action="store_true",
                     help="add the wavelength calibrator (NGC 6543) with every module in "
                     "every campaign of the mission (default off; a calibration campaign's "
                     "AORs from which 'reduce' measures each campaign's wavelength zero "
                     "points)")
    sim.add_argument("--instrument", type=int_at_least(0), default=None,
                     help="the simulated instrument's seed (default: --seed); give a "
                     "calibration campaign the --seed of the science run it calibrates, "
                     "so that both observe the same instrument")
    sim.add_argument("--no-progress", action="store_true", help="no progress bar")
    return sim


def run(args: argparse.Namespace) -> int:
    report = simulate(args.out, args.positions, args.seed, level=args.level,
                      jobs=args.jobs, progress=not args.no_progress,
                      standards=args.standards, skies=args.skies,
                      wavecals=args.wavecals, instrument=args.instrument)
    sys.stdout.write(report.summary() + "\n")
    return 0
