"""Least-privilege PostgreSQL roles (``cassisjuice roles``), on a private cluster (roles are
cluster-wide: the shared server is left alone): ingest owns the atlas, the serving role
can read it and nothing else, even in a transaction it declares read-write; UWS jobs run
through their own role; tables a later ingest makes are readable through default
privileges."""

from __future__ import annotations

import io
import time
import urllib.parse

import pytest
from astropy.io.votable import parse

from tests.private_postgres import private_cluster
from vo_service.app import create_app
from vo_service.cli import main
from vo_service.config import Settings
from vo_service.store import open_store
from vo_service.store.ingest import ingest
from vo_service.web.tap_async import close_jobs

psycopg = pytest.importorskip("psycopg")

WRITES = (
    "DELETE FROM cassisjuice.positions",
    "UPDATE ivoa.obscore SET obs_id = 'x'",
    "INSERT INTO tap_schema.schemas (schema_name) VALUES ('x')",
    "DROP TABLE cassisjuice.spectra",
    "CREATE TABLE cassisjuice.intruder (a int)",
    "CREATE TABLE public.intruder (a int)",
    "CREATE TEMP TABLE intruder (a int)",
    "CREATE TABLE uws.intruder (a int)",
)


@pytest.fixture(scope="module")
def roles_cluster(demo):
    with private_cluster() as cluster:
        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE atlas")
        url = f"postgresql://{{}}@127.0.0.1:{cluster.port}/atlas"
        assert main(["roles", "--store", url.format("postgres"), "--prefix", "cj",
                     "--statement-timeout", "90"]) == 0
        ingest(demo / "products", url.format("cj_ingest"))
        yield url


def test_the_serving_role_cannot_write_even_in_a_read_write_transaction(roles_cluster):
    store = open_store(roles_cluster.format("cj_reader"))
    try:
        _, rows = store._rows(f"SELECT COUNT(*) FROM {store.physical('positions')}", [])
        assert rows[0][0] > 0
        with store.reader() as conn:  # the connection every service request uses
            for statement in WRITES:
                with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                        conn.transaction():
                    conn.execute("SET TRANSACTION READ WRITE")  # past the role default
                    conn.execute(statement)
    finally:
        store.close()
    with psycopg.connect(roles_cluster.format("cj_reader")) as fresh:
        assert fresh.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert fresh.execute("SHOW statement_timeout").fetchone()[0] == "90s"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):  # the first guard
            fresh.execute("DELETE FROM cassisjuice.positions")


def test_the_uws_role_cannot_read_the_atlas(roles_cluster):
    with psycopg.connect(roles_cluster.format("cj_uws")) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT COUNT(*) FROM cassisjuice.positions")


def _count(body: bytes) -> int:
    return int(parse(io.BytesIO(body)).get_first_table().array["n"][0])


def test_the_service_runs_on_the_reader_and_uws_roles_across_ingests(roles_cluster, demo):
    with psycopg.connect(roles_cluster.format("postgres")) as admin:
        (positions,) = admin.execute("SELECT COUNT(*) FROM cassisjuice.positions").fetchone()
    settings = Settings(store_url=roles_cluster.format("cj_reader"),
                        jobs_store_url=roles_cluster.format("cj_uws"), file_cache_bytes=0)
    app = create_app(settings)
    client = app.test_client()
    query = {"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM cassisjuice.positions"}
    try:
        r = client.get("/tap/sync", query_string=query)
        assert r.status_code == 200 and _count(r.data) == positions
        # a second ingest rewrites TAP_SCHEMA (new tables): the reader still sees them
        ingest(demo / "products", roles_cluster.format("cj_ingest"))
        r = client.get("/tap/sync", query_string={
            "LANG": "ADQL", "QUERY": "SELECT table_name FROM TAP_SCHEMA.tables"})
        assert r.status_code == 200 and b"cassisjuice.positions" in r.data
        r = client.post("/tap/async", data={**query, "PHASE": "RUN"})
        assert r.status_code == 303
        job = urllib.parse.urlsplit(r.headers["Location"]).path
        deadline = time.monotonic() + 60
        while (phase := client.get(job + "/phase").get_data(as_text=True)) not in (
                "COMPLETED", "ERROR") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert phase == "COMPLETED"
        assert _count(client.get(job + "/results/result").data) == positions
    finally:
        close_jobs(app)
    with psycopg.connect(roles_cluster.format("postgres")) as admin:
        (schema,) = admin.execute("SELECT table_schema FROM information_schema.tables "
                                  "WHERE table_name = 'uws_jobs'").fetchone()
    assert schema == "uws"


def test_roles_made_after_an_ingest_take_over_its_tables(roles_cluster, demo):
    """An atlas ingested before the roles existed (as a superuser): ``roles`` hands its
    tables to the ingest role, which can ingest again, and the reader can read them."""
    admin = roles_cluster.format("postgres").rsplit("/", 1)[0]
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE legacy")
    legacy = admin.replace("postgres@", "{}@") + "/legacy"
    ingest(demo / "products", legacy.format("postgres"))
    assert main(["roles", "--store", legacy.format("postgres"), "--prefix", "cj"]) == 0
    ingest(demo / "products", legacy.format("cj_ingest"), prune=True)
    with psycopg.connect(legacy.format("cj_reader"), autocommit=True) as reader:
        assert reader.execute("SELECT COUNT(*) FROM ivoa.obscore").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege), reader.transaction():
            reader.execute("SET TRANSACTION READ WRITE")
            reader.execute("DELETE FROM ivoa.obscore")
