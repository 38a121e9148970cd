"""``cassisjuice serve --server gunicorn``: gunicorn's master and workers from the command,
stopped by SIGTERM with nothing left behind; waitress refuses several workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.gunicorn_server import ROOT
from tests.http_get import http_get
from vo_service.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_on_gunicorn_answers_and_stops_cleanly(demo, tmp_path):
    port = _free_port()
    metrics_dirs = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("cassisjuice-metrics-*"))
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "vo_service.cli", "serve", "--server", "gunicorn",
             "--workers", "2", "--threads", "2", "--port", str(port), "--store",
             f"sqlite:///{demo / 'atlas.sqlite'}"], env=env, stdout=subprocess.PIPE,
            stderr=log, cwd=tmp_path)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if http_get(base + "/tap/availability")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        status, _, body = http_get(base + "/tap/availability")
        assert status == 200 and b"<avail:available>true<" in body
        assert http_get(base + "/metrics")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    out = process.stdout.read().decode()
    process.stdout.close()
    assert "with 2 gunicorn workers" in out
    leftover = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("cassisjuice-metrics-*"))
    assert leftover <= metrics_dirs  # the metrics directory it made is gone


def test_waitress_refuses_several_workers(capsys):
    try:
        main(["serve", "--server", "waitress", "--workers", "2", "--store",
              "sqlite:///nowhere.sqlite"])
    except SystemExit as stop:
        assert stop.code == 2
    else:
        raise AssertionError("no error")
    assert "--server gunicorn" in capsys.readouterr().err
