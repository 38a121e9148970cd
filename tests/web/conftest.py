"""A demonstration atlas built once per test session and served on 127.0.0.1: from SQLite
on waitress (the embedded server), from PostgreSQL on gunicorn (the production one)."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from werkzeug.test import Client

from vo_service.app import create_app
from vo_service.cli import main
from vo_service.commands.serve import build_server
from vo_service.config import Settings
from vo_service.store import open_store


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--dir", str(root / "atlas"), "--positions", "6", "--seed", "3",
                 "--no-serve"]) == 0
    return root / "atlas"


@pytest.fixture(scope="module")
def apps(demo):
    """For the routes answered in front of Flask (``web.direct_routes``, ``direct_tap``):
    (the whole app, the Flask app alone (its blueprints, no middleware), a list that
    counts the requests Flask dispatched, the store)."""
    url = f"sqlite:///{demo / 'atlas.sqlite'}"
    store = open_store(url)
    app = create_app(Settings(store_url=url, file_cache_bytes=0), store=store)
    dispatched: list[str] = []
    app.before_request(lambda: dispatched.append("flask") and None)
    yield (Client(app), Client(lambda environ, start: Flask.wsgi_app(app, environ, start)),
           dispatched, store)
    store.close()


@pytest.fixture(scope="session")
def server(demo):
    url = f"sqlite:///{demo / 'atlas.sqlite'}"
    srv = build_server(Settings(store_url=url), "127.0.0.1", 0, threads=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}", open_store(url)
    srv.close()


def _serve(url: str, threads: int = 4, **settings):
    srv = build_server(Settings(store_url=url, **settings), "127.0.0.1", 0, threads=threads)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    return srv


@pytest.fixture(scope="session")
def pg_server(demo, tmp_path_factory):
    """The demo atlas ingested into a fresh PostgreSQL database and served as production
    serves it: gunicorn with ``deploy/gunicorn.conf.py``, two workers (so a UWS job made
    through one worker is read through the other)."""
    from tests.gunicorn_server import Gunicorn
    from tests.postgres import fresh_database
    from vo_service.store.ingest import ingest

    with fresh_database("cj_web_") as url:
        ingest(demo / "products", url)
        srv = Gunicorn(url, workers=2, threads=4,
                       log=tmp_path_factory.mktemp("gunicorn") / "log")
        store = open_store(url)
        try:
            yield srv.base, store
        finally:
            srv.stop()
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_server(request):
    """The demo atlas served from SQLite and from PostgreSQL (tests run on both)."""
    name = "server" if request.param == "sqlite" else "pg_server"
    return request.getfixturevalue(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request):
    """The URL of the demo atlas's store on SQLite and on PostgreSQL, for tests that
    start a server with settings of their own (``_serve(url, **settings)``)."""
    name = "server" if request.param == "sqlite" else "pg_server"
    return request.getfixturevalue(name)[1].url
