"""``cassisjuice serve``: the service on waitress (one process, the default) or gunicorn.

waitress accepts ``Transfer-Encoding: chunked`` request bodies and marks them with
``wsgi.input_terminated``, so TOPCAT's streamed multipart uploads reach Flask intact
(clients.md sec. 9 A.4); it listens on 127.0.0.1 unless told otherwise. Behind a reverse
proxy, set ``--base-url`` (or ``trust_proxy`` in the configuration) so every advertised URL
is the public one. Several processes run under gunicorn (``vo_service/wsgi.py``), which
supervises them; for a production host see ``deploy/`` (systemd, nginx).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
from pathlib import Path

from vo_service.config import ConfigError, Settings
from vo_service.wsgi import default_workers

from . import UsageError, positive_int

NAME = "serve"
USER_ERRORS = (ConfigError, OSError)



def add_parser(sub) -> argparse.ArgumentParser:
    serve = sub.add_parser(
        NAME, help="serve the atlas's VO endpoints over HTTP",
        description="Serve TAP, SSAP, Datalink, SODA, Cone Search and MOC for a store: on "
        "waitress in this process (the default, for laptops and tests), or with "
        "--server gunicorn (or --workers N > 1) on gunicorn's pre-forked workers, which "
        "replace a worker that dies and reload on SIGHUP (production: see deploy/).")
    serve.add_argument("--store", help="store URL, sqlite:///path or postgresql://...; "
                       "default: the store_url setting (CASSISJUICE_STORE_URL, --config), "
                       "whose default is sqlite:///demo-atlas/atlas.sqlite")
    serve.add_argument("--host", default="127.0.0.1",
                       help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=positive_int, default=8000, help="port (default 8000)")
    serve.add_argument("--base-url", help="public base URL behind a reverse proxy, e.g. "
                       "https://vo.example.org/cj; default: URLs name the request's host "
                       "when it is one of the allowed_hosts setting")
    serve.add_argument("--config", type=Path,
                       help="TOML settings file (vo_service/config.py; default: "
                       "$CASSISJUICE_CONFIG if set), under CASSISJUICE_* variables")
    serve.add_argument("--server", choices=("waitress", "gunicorn"),
                       help="WSGI server (default: waitress for one worker, gunicorn for more)")
    serve.add_argument("--threads", type=positive_int, default=8,
                       help="request threads per process (default 8)")
    serve.add_argument("--workers", type=positive_int,
                       help="server processes (default: 1 on waitress, one per core "
                       f"({default_workers()} here) on gunicorn)")
    return serve


def build_server(settings: Settings, host: str, port: int, threads: int = 8,
                 sockets: list | None = None):
    """A waitress server for the app (``port=0`` picks a free port), or on already bound
    ``sockets``; not yet running."""
    from waitress.server import create_server

    from vo_service import waitress_tuning
    from vo_service.app import create_app
    from vo_service.serving import prepare_app, tune_for_serving
    from vo_service.web.tap_async import close_jobs

    app = create_app(settings)
    prepare_app(app, host, threads)
    where = {"sockets": sockets} if sockets else {"host": host, "port": port}
    # waitress takes a dispatcher of its own making (``_dispatcher``): the thread pool
    # that wakes the last idle thread first (``waitress_tuning``)
    server = create_server(app, threads=threads, ident="cassisjuice-vo",
                           clear_untrusted_proxy_headers=False,
                           _dispatcher=waitress_tuning.LifoDispatcher(threads), **where)
    waitress_tuning.install(server)
    close_server, run_server = server.close, server.run
    closing = threading.Event()

    def run() -> None:
        tune_for_serving(app)  # warmed up, start-up objects frozen out of the collector
        try:
            run_server()
        except (OSError, ValueError):  # closed from another thread: the select loop saw
            # its sockets go (EBADF, or a closed socket's fd of -1)
            if not closing.is_set():
                raise

    def close() -> None:  # the UWS job runner stops with the server
        closing.set()
        try:
            close_server()
        finally:
            close_jobs(app)

    server.run, server.close = run, close
    return server


def run(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config, store_url=args.store, base_url=args.base_url)
    server = args.server or ("gunicorn" if (args.workers or 1) > 1 else "waitress")
    if server == "gunicorn":
        return serve_gunicorn(settings, args.host, args.port, args.threads,
                              args.workers or default_workers())
    if (args.workers or 1) > 1:
        raise UsageError("waitress runs one process: use --server gunicorn for --workers")
    server = build_server(settings, args.host, args.port, args.threads)
    sys.stdout.write(f"serving {settings.store_url} on http://{args.host}:{server.effective_port}/"
                     "\n")
    serve_forever(server)
    return 0


def serve_gunicorn(settings: Settings, host: str, port: int, threads: int,
                   workers: int) -> int:
    """gunicorn's master and ``workers`` workers with the production settings of
    ``vo_service.wsgi`` (the same as ``deploy/gunicorn.conf.py``); runs until SIGTERM or
    SIGINT, reloads on SIGHUP."""
    from gunicorn.app.base import BaseApplication

    from vo_service import wsgi

    made_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    metrics_dir = wsgi.prepare_metrics_dir()
    options = {**wsgi.DEFAULTS, "bind": f"{host}:{port}", "workers": workers,
               "threads": threads, "post_worker_init": wsgi.post_worker_init,
               "worker_exit": wsgi.worker_exit, "child_exit": wsgi.child_exit,
               "proc_name": "cassisjuice-vo"}

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:  # settings of newer versions are skipped
                    self.cfg.set(key, value)

        def load(self):
            return wsgi.create(settings)

    sys.stdout.write(f"serving {settings.store_url} on http://{host}:{port}/ with "
                     f"{workers} gunicorn workers\n")
    sys.stdout.flush()
    try:
        Gunicorn().run()
    finally:
        if made_metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def serve_forever(server) -> None:
    """Run a server built by :func:`build_server` until interrupted, then close it."""
    sys.stdout.flush()
    try:
        server.run()
    finally:
        server.close()
