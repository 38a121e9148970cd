"""``cassisjuice features ID``: the features of a position, as stored or measured now."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from vo_service.atlas import Atlas, AtlasError
from vo_service.config import Settings
from vo_service.store import StoreError

from . import UsageError

NAME = "features"
USER_ERRORS = (AtlasError, StoreError)


def _redshift(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value >= 0.0):
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_parser(sub) -> argparse.ArgumentParser:
    cmd = sub.add_parser(
        NAME, help="measured features of a position (PAH, silicate, ices, lines, photometry)",
        description="Without --variant: the features measured at ingest on the selected "
        "spectra (cassisjuice.features). With --variant: measured now on that spectrum.")
    cmd.add_argument("cj_id", help="CASSISjuice ID AORKEY_N")
    cmd.add_argument("--arm", choices=("LR", "HR"), default="LR",
                     help="arm of the spectrum to measure (with --variant; default LR)")
    cmd.add_argument("--variant", help="variant key, e.g. best or "
                     "tapered/bynod/common/point (measured now)")
    cmd.add_argument("--redshift", type=_redshift,
                     help="redshift to measure at (default: the catalogue's, else 0)")
    cmd.add_argument("--json", action="store_true", help="one JSON object instead of text")
    cmd.add_argument("--store", default=None, help="store URL (default from the settings)")
    cmd.add_argument("--config", type=Path, help="TOML settings file")
    return cmd


def run(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config, store_url=args.store)
    atlas = Atlas.open(settings.store_url)
    if args.variant is None and args.redshift is not None:
        raise UsageError("--redshift needs --variant (stored features keep their redshift)")
    table = (atlas.features(args.cj_id) if args.variant is None else
             atlas.measure_features(args.cj_id, args.arm, args.variant, args.redshift))
    row = {}
    for name in table.colnames:
        value = table[name][0]
        row[name] = (None if value is None or np.ma.is_masked(value) else
                     value.item() if hasattr(value, "item") else value)
    if args.json:
        sys.stdout.write(json.dumps(row) + "\n")
        return 0
    for name, value in row.items():
        if value is None or name.endswith(("_err", "_flag")):
            continue
        if name in ("cj_id", "redshift", "arm_continuum"):
            sys.stdout.write(f"{name:24s} {value}\n")
            continue
        unit = table[name].unit
        sys.stdout.write(f"{name:24s} {value:11.4g} +- {row[name + '_err']:.2g}"
                         f"{' ' + str(unit) if unit else ''}"
                         f"{'' if row[name + '_flag'] else '  (not detected)'}\n")
    return 0
