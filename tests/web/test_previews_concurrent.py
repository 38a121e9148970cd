"""PNG previews rendered by many request threads at once (matplotlib's text layout and
mathtext parser keep module-level state, so unserialised rendering fails under load)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.http_get import http_get
from vo_service.commands.serve import build_server
from vo_service.config import Settings

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def threaded_server(request, demo):
    """The demo atlas on 8 request threads, without the file cache (every request renders),
    on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{demo / 'atlas.sqlite'}"
    else:
        url = request.getfixturevalue("pg_server")[1].url
    srv = build_server(Settings(store_url=url, file_cache_bytes=0), "127.0.0.1", 0, threads=8)
    threading.Thread(target=srv.run, daemon=True).start()
    yield f"http://127.0.0.1:{srv.effective_port}", url
    srv.close()


def test_eight_concurrent_previews_are_all_png(threaded_server):
    from vo_service.store import open_store

    base, url = threaded_server
    store = open_store(url)
    _, rows = store._rows(f"SELECT spectrum_id FROM {store.physical('spectra')} "
                          "ORDER BY spectrum_id", [])
    store.close()
    paths = [r[0] for r in rows if "interleaved" not in r[0]]
    assert len(paths) >= 8
    # three rounds of 8 simultaneous requests over distinct spectra
    urls = [f"{base}/spectra/{paths[i % len(paths)]}?format=png" for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(http_get, urls))
    bad = [(u, s, b[:80]) for u, (s, _, b) in zip(urls, answers, strict=True)
           if s != 200 or not b.startswith(PNG_MAGIC)]
    assert not bad, f"{len(bad)} of {len(urls)} previews failed: {bad[:3]}"
    assert all(h["Content-Type"] == "image/png" for _, h, _ in answers)
