"""``cassisjuice export-dachs DIR``: the atlas as a GAVO DaCHS resource directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vo_service.config import Settings
from vo_service.store import StoreError, open_store
from vo_service.store.dachs_dump import dump_for_dachs

NAME = "export-dachs"
USER_ERRORS = (StoreError, OSError)


def add_parser(sub) -> argparse.ArgumentParser:
    cmd = sub.add_parser(
        NAME, help="write the atlas as a GAVO DaCHS resource directory",
        description="Write q.rd, every table its data elements import (data/<table>.csv) "
        "and the selected spectra (data/spectra/<ID>_<ARM>.fits) into DIR; then, in DIR "
        "under the DaCHS inputs directory: dachs imp q.")
    cmd.add_argument("out", type=Path, help="the resource directory, e.g. "
                     "/var/gavo/inputs/cassisjuice")
    cmd.add_argument("--store", default=None, help="store URL (default from the settings)")
    cmd.add_argument("--config", type=Path, help="TOML settings file")
    return cmd


def run(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config, store_url=args.store)
    store = open_store(settings.store_url)
    try:
        report = dump_for_dachs(store, args.out, settings.authority)
    finally:
        store.close()
    tables = ", ".join(f"{t} {n}" for t, n in report.rows.items())
    sys.stdout.write(f"{args.out}: q.rd, rows: {tables}; {report.spectra} spectrum files\n")
    return 0
