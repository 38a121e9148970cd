"""``cassisjuice serve``: the service on a production WSGI server (waitress).

waitress accepts ``Transfer-Encoding: chunked`` request bodies and marks them with
``wsgi.input_terminated``, so TOPCAT's streamed multipart uploads reach Flask intact
(clients.md sec. 9 A.4); it listens on 127.0.0.1 unless told otherwise. Behind a reverse
proxy, set ``--base-url`` (or ``trust_proxy`` in the configuration) so every advertised URL
is the public one. For several processes or hosts see ``deploy/``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from vo_service.config import ConfigError, Settings

from . import positive_int

NAME = "serve"
USER_ERRORS = (ConfigError, OSError)

log = logging.getLogger("cassisjuice")


def add_parser(sub) -> argparse.ArgumentParser:
    serve = sub.add_parser(
        NAME, help="serve the atlas's VO endpoints over HTTP",
        description="Serve TAP, SSAP, Datalink, SODA, Cone Search and MOC for a store.")
    serve.add_argument("--store", help="store URL (sqlite:///path or postgresql://...)")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=positive_int, default=8000, help="port (default 8000)")
    serve.add_argument("--base-url", help="public base URL, e.g. https://vo.example.org/cj")
    serve.add_argument("--config", type=Path, help="TOML settings file")
    serve.add_argument("--threads", type=positive_int, default=8,
                       help="request threads per process (default 8)")
    serve.add_argument("--workers", type=positive_int, default=1,
                       help="server processes sharing the port (default 1; one per core "
                       "gives CPU-bound requests, e.g. large results, every core)")
    return serve


def build_server(settings: Settings, host: str, port: int, threads: int = 8,
                 sockets: list | None = None):
    """A waitress server for the app (``port=0`` picks a free port), or on already bound
    ``sockets``; not yet running."""
    from waitress.server import create_server

    from vo_service.app import create_app
    from vo_service.serving import tune_for_serving
    from vo_service.web.tap_async import close_jobs, start_jobs

    app = create_app(settings)
    app.config["CASSISJUICE_LISTEN_HOST"] = host  # the default allowed host (web.urls)
    app.config["CASSISJUICE_THREADS"] = threads
    try:  # the UWS runner starts now: jobs a dead server left EXECUTING are recovered
        start_jobs(app)
    except Exception:  # e.g. no store yet: the first /tap/async request retries
        log.exception("the UWS job runner could not start")
    where = {"sockets": sockets} if sockets else {"host": host, "port": port}
    server = create_server(app, threads=threads, ident="cassisjuice-vo",
                           clear_untrusted_proxy_headers=False, **where)
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
    if args.workers > 1:
        return serve_workers(settings, args.host, args.port, args.threads, args.workers)
    server = build_server(settings, args.host, args.port, args.threads)
    sys.stdout.write(f"serving {settings.store_url} on http://{args.host}:{server.effective_port}/"
                     "\n")
    serve_forever(server)
    return 0


def serve_workers(settings: Settings, host: str, port: int, threads: int,
                  workers: int) -> int:
    """Pre-fork: bind the port once, then ``workers`` processes each run their own app and
    waitress server on it (the kernel hands each connection to one of them). Requests are
    CPU-bound Python (ADQL translation, result encoding), so one process per core is what
    uses the cores; UWS jobs already live in the store, shared by all processes."""
    import contextlib
    import os
    import signal
    import socket

    listener = socket.create_server((host, port), backlog=1024)
    listener.set_inheritable(True)
    sys.stdout.write(f"serving {settings.store_url} on http://{host}:"
                     f"{listener.getsockname()[1]}/ with {workers} processes\n")
    sys.stdout.flush()
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: its own app, store connections and job runner
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                serve_forever(build_server(settings, host, port, threads, [listener]))
            finally:
                os._exit(0)
        children.append(pid)

    def stop(*_):
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    try:
        for child in children:
            os.waitpid(child, 0)
    except KeyboardInterrupt:
        stop()
        for child in children:
            os.waitpid(child, 0)
    return 0


def serve_forever(server) -> None:
    """Run a server built by :func:`build_server` until interrupted, then close it."""
    sys.stdout.flush()
    try:
        server.run()
    finally:
        server.close()
