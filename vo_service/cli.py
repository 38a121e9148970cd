"""The ``cassisjuice`` command.

Subcommands:

* ``simulate``: write a simulated IRS raw tree (BCD, uncertainty and mask files per DCE, as
  the SSC archive lays them out) with its ground truth, or with ``--level products`` noisy
  1-D products in the pipeline's product format;
* ``demo``: build the demonstration atlas in ``./demo-atlas`` (reused when already built).

Errors the user can fix (bad arguments, an output directory in the way) are reported in one
line on stderr with exit status 2; nothing is written in that case.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline import __version__
from pipeline.simulate.run import SimulationError, simulate

__all__ = ["main"]

log = logging.getLogger("cassisjuice")


def _int_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``, with a one-line error otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_seed = _int_at_least(0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cassisjuice",
        description="The CASSISjuice Spitzer/IRS atlas: simulate, reduce, publish.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser(
        "simulate",
        help="simulate IRS observations (raw BCD tree + truth) or 1-D products",
        description="Simulate staring-mode IRS observations of a sky sample built from the "
        "real IRS target list. Raw level: BCD/func/bmask FITS per DCE under "
        "OUT/raw/r<AORKEY>/ch<N>/bcd/ and the truth under OUT/truth/. Products level: one "
        "product per position under OUT/products/ (no detector simulation).",
    )
    sim.add_argument("--positions", type=_positive_int, default=50,
                     help="number of targeted positions (default 50)")
    sim.add_argument("--seed", type=_seed, default=1, help="random seed (default 1)")
    sim.add_argument("--out", type=Path, required=True,
                     help="output directory (must not exist or be empty)")
    sim.add_argument("--level", choices=("raw", "products"), default="raw",
                     help="raw exposures or reduced-format products (default raw)")
    sim.add_argument("--jobs", type=_positive_int, default=1,
                     help="worker processes (default 1)")
    sim.add_argument("--no-progress", action="store_true", help="no progress bar")

    demo = sub.add_parser(
        "demo",
        help="build the demonstration atlas in ./demo-atlas (reused if present)",
    )
    demo.add_argument("--dir", type=Path, default=Path("demo-atlas"))
    demo.add_argument("--positions", type=_positive_int, default=30)
    demo.add_argument("--seed", type=_seed, default=1)
    return parser


def _demo(args: argparse.Namespace) -> int:
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "simulate":
            report = simulate(args.out, args.positions, args.seed, level=args.level,
                              jobs=args.jobs, progress=not args.no_progress)
            sys.stdout.write(report.summary() + "\n")
            return 0
        if args.command == "demo":
            return _demo(args)
    except SimulationError as exc:
        parser.exit(2, f"cassisjuice {args.command}: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"cassisjuice {args.command}: interrupted; nothing was published\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
