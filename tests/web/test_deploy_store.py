"""The store's operations in deploy/: backup and restore (PostgreSQL and SQLite), and the
switch from one atlas to the next by a graceful gunicorn reload (systemctl reload), with
no request failing while the workers change."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import time
import urllib.parse

from astropy.io.votable import parse

from tests.gunicorn_server import ROOT, Gunicorn
from tests.http_get import http_get
from tests.postgres import fresh_database
from vo_service.store import open_store

BACKUP = ROOT / "deploy" / "backup-store.sh"
RESTORE = ROOT / "deploy" / "restore-store.sh"
COUNT = "/tap/sync?" + urllib.parse.urlencode(
    {"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM cassisjuice.positions"})


def _script(*args) -> None:
    out = subprocess.run(["sh", *map(str, args)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def _state(url: str) -> tuple:
    store = open_store(url)
    try:
        _, rows = store._rows(f"SELECT cj_id, ra, dec FROM {store.physical('positions')} "
                              "ORDER BY cj_id", [])
        return bytes(store.meta_value("data_version")), rows  # the ingest's token
    finally:
        store.close()


def _count(base: str) -> int:
    status, _, body = http_get(base + COUNT)
    assert status == 200, body[-300:]
    return int(parse(io.BytesIO(body)).get_first_table().array["n"][0])


def test_sqlite_backup_and_restore(demo, tmp_path):
    source = f"sqlite:///{demo / 'atlas.sqlite'}"
    _script(BACKUP, source, tmp_path / "atlas.backup")
    restored = f"sqlite:///{tmp_path / 'restored' / 'atlas.sqlite'}"
    _script(RESTORE, tmp_path / "atlas.backup", restored)
    assert _state(restored) == _state(source)
    assert not list(tmp_path.glob("*.part*"))


def test_postgres_backup_restore_and_a_reload_switches_atlas(pg_server, tmp_path):
    _, store = pg_server
    _script(BACKUP, store.url, tmp_path / "atlas.backup")
    with fresh_database("cj_restore_") as copy:
        _script(RESTORE, tmp_path / "atlas.backup", copy)
        assert _state(copy) == _state(store.url)
        _script(RESTORE, tmp_path / "atlas.backup", copy)  # over itself: replaced whole
        version, rows = _state(copy)
        assert (version, rows) == _state(store.url)
        # the next atlas differs: one position fewer
        import psycopg

        with psycopg.connect(copy, autocommit=True) as conn:
            conn.execute("DELETE FROM cassisjuice.positions WHERE cj_id = %s", (rows[0][0],))
        config = tmp_path / "service.toml"
        config.write_text(f'store_url = "{store.url}"\n')
        host = Gunicorn(None, workers=2, threads=4, log=tmp_path / "gunicorn.log",
                        config=config)
        try:
            assert _count(host.base) == len(rows)
            failures, seen, stop = [], set(), threading.Event()

            def client() -> None:
                while not stop.is_set():
                    status, _, body = http_get(host.base + COUNT)
                    if status != 200:
                        failures.append((status, body[-200:]))
                    else:
                        seen.add(int(parse(io.BytesIO(body)).get_first_table()
                                     .array["n"][0]))

            threads = [threading.Thread(target=client) for _ in range(3)]
            for thread in threads:
                thread.start()
            time.sleep(0.3)
            old = set(host.workers())
            config.write_text(f'store_url = "{copy}"\n')
            os.kill(host.pid, signal.SIGHUP)  # systemctl reload
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                    set(host.workers()) & old or len(host.workers()) < 2):
                time.sleep(0.2)
            time.sleep(0.5)
            stop.set()
            for thread in threads:
                thread.join(60)
            assert not set(host.workers()) & old  # every worker was replaced
            assert not failures, failures[:3]
            assert _count(host.base) == len(rows) - 1
            assert len(rows) - 1 in seen
        finally:
            host.stop()
