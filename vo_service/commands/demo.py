"""``cassisjuice demo``: build the demonstration atlas (reused when already built)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline.simulate.run import SimulationError, simulate

from . import positive_int, seed

NAME = "demo"
USER_ERRORS = (SimulationError,)

log = logging.getLogger("cassisjuice")


def add_parser(sub) -> argparse.ArgumentParser:
    demo = sub.add_parser(
        NAME,
        help="build the demonstration atlas in ./demo-atlas (reused if present)",
    )
    demo.add_argument("--dir", type=Path, default=Path("demo-atlas"))
    demo.add_argument("--positions", type=positive_int, default=30)
    demo.add_argument("--seed", type=seed, default=1)
    return demo


def run(args: argparse.Namespace) -> int:
    raw = args.dir / "raw"
    if raw.is_dir() and any(raw.iterdir()):
        log.info("reusing the simulated raw atlas in %s", args.dir)
    else:
        simulate(args.dir, args.positions, args.seed, level="raw", progress=True)
    n_aor = sum(1 for p in raw.iterdir() if p.name.startswith("r"))
    sys.stdout.write(
        f"demo atlas: {n_aor} simulated AORs under {raw}/ and their truth under "
        f"{args.dir / 'truth'}/\n"
        "Reduction, the store and the VO services are not built yet (issues 3-6): this demo "
        "currently stops after the simulated raw data.\n"
    )
    return 0
