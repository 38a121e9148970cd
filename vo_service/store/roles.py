"""Least-privilege PostgreSQL roles for one atlas database (``cassisjuice roles``).

Three login roles, named ``<prefix>_ingest``, ``<prefix>_reader`` and ``<prefix>_uws``:

* **ingest** owns the published schemas (``cassisjuice``, ``ivoa``, ``tap_schema``) and
  everything in them; ``cassisjuice ingest`` connects as it.
* **reader** is what TAP, SSAP, Cone Search, Datalink and the spectra use (the server's
  ``store_url``): CONNECT, USAGE on the published schemas, SELECT on their tables (and on
  the tables ingest creates later, through default privileges), nothing else. Its
  sessions default to ``default_transaction_read_only = on`` and to a statement timeout
  (queries set their own, shorter or longer, with ``SET LOCAL``). Temporary tables are
  refused (PostgreSQL lets a read-only transaction write temporary tables), so a
  statement that got past the ADQL parser and tried to write would fail on permissions.
* **uws** owns the ``uws`` schema, where the job tables are made on first use (its
  ``search_path`` is ``uws``); the server's ``jobs_store_url``. It cannot read the atlas.

The statements are plain SQL (``role_statements``; ``cassisjuice roles --print`` shows
them for a DBA who would rather run them with psql); they are idempotent, so running them
again after an upgrade repairs the grants. Passwords are not set here: use ``\\password``
in psql, or certificate or peer authentication in ``pg_hba.conf`` (``deploy/README.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

__all__ = ["PUBLISHED_SCHEMAS", "Roles", "RolesError", "apply_roles", "role_statements"]

#: the schemas the services read; ingest owns them
PUBLISHED_SCHEMAS = ("cassisjuice", "ivoa", "tap_schema")
UWS_SCHEMA = "uws"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,40}")


class RolesError(ValueError):
    """A bad prefix or database name, or the roles could not be made."""


@dataclass(frozen=True)
class Roles:
    """The three role names of a prefix."""

    prefix: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.prefix):
            raise RolesError(f"role prefix {self.prefix!r}: use lower-case letters, digits "
                             "and _ (at most 41), starting with a letter or _")

    @property
    def ingest(self) -> str:
        return f"{self.prefix}_ingest"

    @property
    def reader(self) -> str:
        return f"{self.prefix}_reader"

    @property
    def uws(self) -> str:
        return f"{self.prefix}_uws"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def role_statements(database: str, roles: Roles, statement_timeout_s: int = 120,
                    existing_roles: frozenset[str] = frozenset()) -> list[str]:
    """The SQL that creates (or repairs) the roles' rights in ``database``; run by a
    superuser (or the database's owner with CREATEROLE) connected to that database."""
    db = _ident(database)
    ingest, reader, uws = (_ident(r) for r in (roles.ingest, roles.reader, roles.uws))
    out = [f"CREATE ROLE {_ident(r)} LOGIN" for r in (roles.ingest, roles.reader, roles.uws)
           if r not in existing_roles]
    out += [
        # PUBLIC may make temporary tables by default: only the writing roles keep it
        f"REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {db} TO {ingest}",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {uws}",
        f"GRANT CONNECT ON DATABASE {db} TO {reader}",
        f"REVOKE TEMPORARY, CREATE ON DATABASE {db} FROM {reader}",
        f"ALTER ROLE {reader} IN DATABASE {db} SET default_transaction_read_only = on",
        f"ALTER ROLE {reader} IN DATABASE {db} SET statement_timeout = "
        f"'{int(statement_timeout_s)}s'",
        f"ALTER ROLE {uws} IN DATABASE {db} SET search_path = {UWS_SCHEMA}",
        f"CREATE SCHEMA IF NOT EXISTS {UWS_SCHEMA} AUTHORIZATION {uws}",
        f"ALTER SCHEMA {UWS_SCHEMA} OWNER TO {uws}",
        f"REVOKE ALL ON SCHEMA {UWS_SCHEMA} FROM PUBLIC",
    ]
    for schema in PUBLISHED_SCHEMAS:
        s = _ident(schema)
        out += [
            f"CREATE SCHEMA IF NOT EXISTS {s} AUTHORIZATION {ingest}",
            f"ALTER SCHEMA {s} OWNER TO {ingest}",
            f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC",
            f"GRANT USAGE ON SCHEMA {s} TO {reader}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {reader}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {ingest} IN SCHEMA {s} "
            f"GRANT SELECT ON TABLES TO {reader}",
        ]
    return out


def _owner_changes(cur, roles: Roles) -> list[str]:
    """ALTER ... OWNER for the tables and sequences an earlier ingest made as another
    user (e.g. a superuser before the roles existed)."""
    cur.execute("SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind IN "
                "('r', 'p', 'S', 'v', 'm') AND pg_get_userbyid(c.relowner) <> %s",
                (list(PUBLISHED_SCHEMAS), roles.ingest))
    kinds = {"r": "TABLE", "p": "TABLE", "S": "SEQUENCE", "v": "VIEW",
             "m": "MATERIALIZED VIEW"}
    return [f"ALTER {kinds[kind]} {_ident(schema)}.{_ident(name)} OWNER TO "
            f"{_ident(roles.ingest)}" for schema, name, kind in cur.fetchall()]


def apply_roles(admin_url: str, prefix: str = "cassisjuice",
                statement_timeout_s: int = 120) -> list[str]:
    """Create or repair the roles in the database of ``admin_url`` (a superuser's URL);
    the statements run, in one transaction."""
    import psycopg

    parsed = urlparse(admin_url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise RolesError("roles are for PostgreSQL stores: give a postgresql:// URL")
    roles = Roles(prefix)
    if statement_timeout_s <= 0:
        raise RolesError("the statement timeout must be positive")
    try:
        with psycopg.connect(admin_url, connect_timeout=10) as conn, conn.cursor() as cur:
            database = conn.info.dbname
            cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                        ([roles.ingest, roles.reader, roles.uws],))
            existing = frozenset(r[0] for r in cur.fetchall())
            statements = role_statements(database, roles, statement_timeout_s, existing)
            for statement in statements:
                cur.execute(statement)
            changes = _owner_changes(cur, roles)
            for statement in changes:
                cur.execute(statement)
            return statements + changes
    except psycopg.Error as exc:
        raise RolesError(f"could not set up the roles: {exc}") from exc
