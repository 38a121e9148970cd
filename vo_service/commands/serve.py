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
                       help="request threads (default 8)")
    return serve


def build_server(settings: Settings, host: str, port: int, threads: int = 8):
    """A waitress server for the app (``port=0`` picks a free port); not yet running."""
    from waitress.server import create_server

    from vo_service.app import create_app

    return create_server(create_app(settings), host=host, port=port, threads=threads,
                         ident="cassisjuice-vo", clear_untrusted_proxy_headers=False)


def run(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config, store_url=args.store, base_url=args.base_url)
    server = build_server(settings, args.host, args.port, args.threads)
    sys.stdout.write(f"serving {settings.store_url} on http://{args.host}:{server.effective_port}/"
                     "\n")
    serve_forever(server)
    return 0


def serve_forever(server) -> None:
    """Run a server built by :func:`build_server` until interrupted, then close it."""
    sys.stdout.flush()
    try:
        server.run()
    finally:
        server.close()
