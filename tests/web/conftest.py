"""A demonstration atlas built once per test session and served on 127.0.0.1."""

from __future__ import annotations

import threading

import pytest

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


@pytest.fixture(scope="session")
def server(demo):
    url = f"sqlite:///{demo / 'atlas.sqlite'}"
    srv = build_server(Settings(store_url=url), "127.0.0.1", 0, threads=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}", open_store(url)
    srv.close()
