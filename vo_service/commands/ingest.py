"""``cassisjuice ingest PRODUCTS --store URL``: publish products in the store (issue 4)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vo_service.config import Settings
from vo_service.store import StoreError
from vo_service.store.ingest import DEFAULT_LOCK_WAIT_S, IngestError, ingest

NAME = "ingest"
USER_ERRORS = (IngestError, StoreError)


def add_parser(sub) -> argparse.ArgumentParser:
    cmd = sub.add_parser(
        NAME, help="load reduced products into the atlas store (atomic, incremental)",
        description="Add new IDs, replace changed ones, keep unchanged ones; readers see "
        "the old atlas until the new one is complete.")
    cmd.add_argument("products", type=Path, help="directory of <AORKEY>_<N>.fits products")
    cmd.add_argument("--store", default=None,
                     help="sqlite:///path/atlas.sqlite (default from the settings) or "
                     "postgresql://user@host:port/db")
    cmd.add_argument("--xmatch", type=Path,
                     help="CSV of cross-identifications: cj_id, simbad_name, ned_name, "
                     "object_type, redshift")
    cmd.add_argument("--prune", action="store_true",
                     help="remove IDs that are no longer among the products")
    cmd.add_argument("--lock-wait", type=float, default=DEFAULT_LOCK_WAIT_S, metavar="S",
                     help="seconds to wait for another ingest of the same store to finish "
                     f"(default {DEFAULT_LOCK_WAIT_S:g}; 0: fail at once)")
    cmd.add_argument("--config", type=Path, help="TOML settings file")
    return cmd


def run(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config, store_url=args.store)
    report = ingest(args.products, settings.store_url, xmatch=args.xmatch, prune=args.prune,
                    authority=settings.authority, lock_wait_s=max(args.lock_wait, 0.0))
    sys.stdout.write(f"{report.summary()} into {settings.store_url}\n")
    return 0
