"""``cassisjuice similar REFERENCE``: the atlas spectra most like a reference, and
``cassisjuice template``: a rest-frame template of a selection (the Atlas API's
``similar`` and ``template``, from the command line)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vo_service.atlas import Atlas, AtlasError
from vo_service.config import Settings
from vo_service.store import StoreError

from . import UsageError, positive_int

NAME = "similar"
USER_ERRORS = (AtlasError, StoreError)


def _window(text: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an interval 'LOW HIGH' in um: {text!r}") \
            from None
    return low, high


def add_parser(sub) -> argparse.ArgumentParser:
    cmd = sub.add_parser(
        NAME, help="find the atlas spectra most similar to a reference",
        description="Score every selected spectrum of an arm against the reference (chi2 "
        "per bin with both uncertainties, in the rest frame) and print the best as CSV.")
    cmd.add_argument("reference", help="an atlas ID (AORKEY_N), a spectrum file "
                     "(VOTable, FITS, CSV) or a model (blackbody:300, powerlaw:-2)")
    cmd.add_argument("--store", default=None, help="store URL (default from the settings)")
    cmd.add_argument("--arm", default="LR", choices=("LR", "HR"))
    cmd.add_argument("--window", type=_window, action="append", metavar="'LOW HIGH'",
                     help="rest-frame window in um (repeatable; default: all)")
    cmd.add_argument("--mode", default="normalised",
                     choices=("normalised", "absolute", "continuum"))
    cmd.add_argument("--redshift", type=float, help="redshift of the reference")
    cmd.add_argument("--top", type=positive_int, default=20, help="matches (default 20)")
    cmd.add_argument("--config", type=Path, help="TOML settings file")
    return cmd


def run(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config, store_url=args.store)
    if args.redshift is not None and args.redshift < 0:
        raise UsageError("--redshift must be >= 0")
    table = Atlas.open(settings.store_url).similar(
        args.reference, args.arm, windows=args.window, mode=args.mode,
        redshift=args.redshift, top=args.top)
    table.write(sys.stdout, format="ascii.csv")
    return 0
