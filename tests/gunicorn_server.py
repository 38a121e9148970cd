"""The service under gunicorn, as production runs it: ``deploy/gunicorn.conf.py`` and the
``vo_service.wsgi:create()`` factory, in a child process on a socket the test bound (port
0, handed over as ``fd://``), so no port is guessed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


class Gunicorn:
    """A running gunicorn master: ``base`` URL, ``pid``, ``workers()``, ``stop()``."""

    def __init__(self, store_url: str | None, workers: int = 2, threads: int = 4,
                 log: Path | None = None, **settings: str) -> None:
        """``store_url`` None: from ``CASSISJUICE_CONFIG`` (give ``config=path``)."""
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self._listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        fd = self._listener.fileno()
        self._metrics_dir = tempfile.mkdtemp(prefix="cj_metrics_")
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": self._metrics_dir,
               "GUNICORN_BIND": f"fd://{fd}", "GUNICORN_WORKERS": str(workers),
               "GUNICORN_THREADS": str(threads), "GUNICORN_ACCESSLOG": "",
               "PYTHONPATH": os.pathsep.join(
                   p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        env.pop("CASSISJUICE_STORE_URL", None)
        if store_url is not None:
            env["CASSISJUICE_STORE_URL"] = store_url
        env.update({f"CASSISJUICE_{k.upper()}": str(v) for k, v in settings.items()})
        self._log = open(log or os.devnull, "wb")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "vo_service.wsgi:create()"],
            env=env, pass_fds=(fd,), stdout=self._log, stderr=subprocess.STDOUT,
            cwd=ROOT)
        self.pid = self.process.pid
        self.wait_ready(workers)

    def workers(self) -> list[int]:
        """The pids of the master's live worker processes."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        alive = []
        for pid in map(int, children.split()):
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        return alive

    def wait_ready(self, workers: int, timeout_s: float = 60) -> None:
        """Until ``workers`` workers run and the service answers."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            if len(self.workers()) >= workers:
                try:
                    with urllib.request.urlopen(self.base + "/tap/capabilities",
                                                timeout=10) as r:
                        if r.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._listener.close()
        self._log.close()
        shutil.rmtree(self._metrics_dir, ignore_errors=True)


def worker_serving(server: Gunicorn, client: socket.socket) -> int | None:
    """The pid of the worker holding the other end of a client's TCP connection: the
    server-side socket's inode from /proc/net/tcp, then the worker whose descriptors
    include it."""
    local_port = client.getsockname()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server.port and \
                int(remote.split(":")[1], 16) == local_port:
            inode = fields[9]
            break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in server.workers():
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if str(fd.readlink()) == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None
