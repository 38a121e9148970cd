"""``cassisjuice template``: stack a selection into a rest-frame template (SDM file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vo_service.atlas import Atlas, AtlasError
from vo_service.config import Settings
from vo_service.protocols.similar import TemplateQuery, ToolError, run_template, template_spectrum
from vo_service.spectra import FORMATS
from vo_service.store import StoreError

from . import UsageError

NAME = "template"
USER_ERRORS = (AtlasError, StoreError, ToolError)
_SUFFIX = {".fits": "fits", ".fit": "fits", ".vot": "votable", ".xml": "votable",
           ".csv": "csv"}


def add_parser(sub) -> argparse.ArgumentParser:
    cmd = sub.add_parser(
        NAME, help="stack a selection of spectra into a rest-frame template",
        description="Resample the selected spectra of the IDs (or of the positions an ADQL "
        "query returns) to the rest frame with flux conservation, normalise and stack "
        "them; write an SDM spectrum with the number of spectra per bin.")
    pick = cmd.add_mutually_exclusive_group(required=True)
    pick.add_argument("--id", action="append", help="an atlas ID (repeatable)")
    pick.add_argument("--query", help="ADQL returning a cj_id column")
    cmd.add_argument("--out", type=Path, required=True,
                     help="output file: .fits, .vot/.xml or .csv")
    cmd.add_argument("--store", default=None, help="store URL (default from the settings)")
    cmd.add_argument("--arm", default="LR", choices=("LR", "HR"))
    cmd.add_argument("--stat", default="mean", choices=("mean", "median", "wmean"))
    cmd.add_argument("--norm", default="14.5 15",
                     help="normalisation window 'LOW HIGH' um, or none (default 14.5 15)")
    cmd.add_argument("--config", type=Path, help="TOML settings file")
    return cmd


def run(args: argparse.Namespace) -> int:
    kind = _SUFFIX.get(args.out.suffix.lower())
    if kind is None:
        raise UsageError(f"--out must end in {', '.join(_SUFFIX)}")
    norm = None
    if args.norm.strip().lower() != "none":
        try:
            norm = tuple(float(v) for v in args.norm.split())
        except ValueError:
            raise UsageError(f"--norm {args.norm!r}: 'LOW HIGH' in um or none") from None
        if len(norm) != 2:
            raise UsageError(f"--norm {args.norm!r}: 'LOW HIGH' in um or none")
    settings = Settings.load(args.config, store_url=args.store)
    atlas = Atlas.open(settings.store_url, settings.authority)
    ids = tuple(i for v in args.id or () for i in v.split(",") if i.strip())
    result, simulated = run_template(atlas.store, TemplateQuery(
        args.arm, ids, args.query, args.stat, norm, kind))
    args.out.write_bytes(FORMATS[kind][1](template_spectrum(result, settings.authority,
                                                            simulated)))
    sys.stdout.write(f"template of {len(result.used)} spectra ({len(result.left_out)} left "
                     f"out) written to {args.out}\n")
    return 0
