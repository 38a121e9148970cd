"""A private PostgreSQL cluster for tests that stop and restart the server: ``initdb`` in a
temporary directory, on a free port, started and stopped with ``pg_ctl`` (never the
machine's shared server). Skipped only when the PostgreSQL server binaries are absent
outside CI."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted((d for d in Path("/usr/lib/postgresql").glob("*/bin")
                   if (d / "initdb").exists() and d.parent.name.isdigit()),
                  key=lambda d: int(d.parent.name))
    return dirs[-1] if dirs else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A running private cluster: ``url`` (database ``postgres``), ``stop()``, ``start()``."""

    def __init__(self, bindir: Path, root: Path, port: int, user: str | None) -> None:
        self.bindir, self.root, self.port, self._user = bindir, root, port, user
        self.data = root / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self._user:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", self._user, "--", *command]
        out = subprocess.run(command, capture_output=True, text=True, timeout=120,
                             check=False)
        assert out.returncode == 0, f"{tool} failed: {out.stdout}{out.stderr}"

    def initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.root} -c fsync=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    bindir = _bin_dir()
    if bindir is None:
        if os.environ.get("CI"):
            raise RuntimeError("initdb not found: CI must have the PostgreSQL server "
                               "binaries (deploy/system-packages.txt)")
        pytest.skip("initdb not found (PostgreSQL server binaries are not installed)")
    user = None
    root = Path(tempfile.mkdtemp(prefix="cj_pg_"))
    if os.geteuid() == 0:
        user = "postgres"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            shutil.rmtree(root)
            raise RuntimeError("running as root without a 'postgres' user to run "
                               "initdb as") from None
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(bindir, root, _free_port(), user)
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        try:
            if (cluster.data / "postmaster.pid").exists():
                cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
