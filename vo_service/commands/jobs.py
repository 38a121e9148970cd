"""``cassisjuice jobs``: a UWS job runner without a web server. The web processes queue the
jobs in the store (``uws_runner_threads = 0`` makes them run none themselves); any number
of these processes, on any host, take them from the queue, and re-queue the jobs of a
runner that died (``protocols/uws.py``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from vo_service.config import ConfigError, Settings

from . import positive_int

NAME = "jobs"
USER_ERRORS = (ConfigError, OSError)


def add_parser(sub) -> argparse.ArgumentParser:
    cmd = sub.add_parser(
        NAME, help="run the store's queued UWS (TAP async) jobs, without a web server",
        description="Take queued TAP async jobs from the store and run them until SIGTERM "
        "or Ctrl-C (then the jobs it is running are finished, the others stay queued for "
        "another runner).")
    cmd.add_argument("--store", help="store URL (default: the store_url setting)")
    cmd.add_argument("--config", type=Path, help="TOML settings file (default: "
                     "$CASSISJUICE_CONFIG if set), under CASSISJUICE_* variables")
    cmd.add_argument("--threads", type=positive_int, default=2,
                     help="jobs run at once (default 2)")
    return cmd


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    from vo_service.app import create_app
    from vo_service.web.tap_async import close_jobs, start_jobs

    settings = Settings.load(args.config, store_url=args.store,
                             uws_runner_threads=args.threads)
    app = create_app(settings)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    start_jobs(app)
    sys.stdout.write(f"running the UWS jobs of {settings.store_url} with {args.threads} "
                     "threads\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        close_jobs(app)
    return 0
