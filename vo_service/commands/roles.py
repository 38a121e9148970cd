"""``cassisjuice roles --store postgresql://ADMIN@HOST/DB``: the least-privilege roles of a
PostgreSQL store (``vo_service.store.roles``): ``<prefix>_ingest`` owns the published
schemas, ``<prefix>_reader`` serves them read-only, ``<prefix>_uws`` keeps the UWS jobs."""

from __future__ import annotations

import argparse
import sys

from vo_service.store.roles import Roles, RolesError, apply_roles, role_statements

from . import positive_int

NAME = "roles"
USER_ERRORS = (RolesError,)


def add_parser(sub) -> argparse.ArgumentParser:
    cmd = sub.add_parser(
        NAME, help="create the ingest, read-only serving and UWS roles of a PostgreSQL store",
        description="Create (or repair: it is idempotent) three login roles in the store's "
        "database: PREFIX_ingest (owner of the cassisjuice, ivoa and tap_schema schemas; "
        "for cassisjuice ingest), PREFIX_reader (SELECT on them only, read-only sessions, "
        "a statement timeout, no temporary tables; the server's store_url) and PREFIX_uws "
        "(owner of the uws schema; the server's jobs_store_url). Run it as a superuser. "
        "Passwords are not set: see deploy/README.md.")
    cmd.add_argument("--store", required=True,
                     help="a superuser's URL of the atlas database, postgresql://...")
    cmd.add_argument("--prefix", default="cassisjuice",
                     help="role name prefix (default cassisjuice)")
    cmd.add_argument("--statement-timeout", type=positive_int, default=120, metavar="S",
                     help="the reader's default statement timeout in seconds (default 120; "
                     "TAP queries set their own)")
    cmd.add_argument("--print", action="store_true",
                     help="print the SQL for a database named by --store and do nothing")
    return cmd


def run(args: argparse.Namespace) -> int:
    if args.print:
        from urllib.parse import urlparse

        database = urlparse(args.store).path.lstrip("/") or "postgres"
        for statement in role_statements(database, Roles(args.prefix),
                                         args.statement_timeout):
            sys.stdout.write(statement + ";\n")
        return 0
    done = apply_roles(args.store, args.prefix, args.statement_timeout)
    roles = Roles(args.prefix)
    sys.stdout.write(f"roles ready ({len(done)} statements): {roles.ingest} (ingest), "
                     f"{roles.reader} (store_url), {roles.uws} (jobs_store_url)\n")
    return 0
