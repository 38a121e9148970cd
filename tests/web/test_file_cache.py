"""The served-file cache (``vo_service.web.file_cache``): what it keeps, what it never keeps,
and that a new ingest is never answered from the old one; on a live server, cached
responses carry the same bytes and headers as the app's."""

from __future__ import annotations

import shutil
import threading

import pytest

from tests.http_get import http_get
from vo_service.commands.serve import build_server
from vo_service.config import ConfigError, Settings
from vo_service.store.ingest import ingest
from vo_service.web.file_cache import FileCache


class _App:
    """A WSGI app that counts its calls and answers with the path and a call number."""

    def __init__(self, status: str = "200 OK", size: int = 10) -> None:
        self.calls, self.status, self.size = 0, status, size

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response(self.status, [("Content-Type", "application/fits"),
                                     ("X-Call", str(self.calls))])
        return [environ["PATH_INFO"].encode(), b"." * self.size]


def _get(cache, path: str, query: str = "", method: str = "GET", **headers):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen.update(status=status, headers=dict(headers))

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1:1", **headers}
    body = b"".join(cache(environ, start_response))
    return seen["status"], seen["headers"], body


def test_a_repeated_file_request_is_answered_from_memory():
    app, version = _App(), ["v1"]
    cache = FileCache(app, lambda: version[0], 10_000)
    first = _get(cache, "/spectra/1_0/LR/best", "format=fits")
    second = _get(cache, "/spectra/1_0/LR/best", "format=fits")
    assert first == second and app.calls == 1 and cache.hits == 1
    _get(cache, "/spectra/1_0/LR/best", "format=votable")  # another query: another file
    _get(cache, "/spectra/1_0/LR/best", "format=fits", HTTP_X_FORWARDED_HOST="proxy")
    assert app.calls == 3
    version[0] = "v2"  # a new ingest: nothing kept from the old one is served
    assert _get(cache, "/spectra/1_0/LR/best", "format=fits")[1]["X-Call"] == "4"


@pytest.mark.parametrize("status, path, method", [
    ("404 NOT FOUND", "/spectra/9_0/LR/best", "GET"),  # errors always go through the app
    ("200 OK", "/spectra/1_0/LR/best", "POST"),
    ("200 OK", "/ssa", "GET"),  # query responses are not files
])
def test_errors_queries_and_posts_are_never_kept(status, path, method):
    app = _App(status)
    cache = FileCache(app, lambda: "v", 10_000)
    for _ in range(2):
        assert _get(cache, path, method=method)[0] == status
    assert app.calls == 2 and cache.hits == 0


def test_memory_stays_within_its_bound():
    app = _App(size=100)
    cache = FileCache(app, lambda: "v", 1_000)  # entries above 125 bytes are not kept
    for i in range(30):
        _get(cache, f"/spectra/{i}_0/LR/best")
    assert cache._size <= 1_000 and len(cache._entries) == 1_000 // 121  # 121-byte bodies
    _get(cache, "/spectra/29_0/LR/best")
    assert cache.hits == 1  # the most recent is kept, the oldest went first
    _get(cache, "/spectra/0_0/LR/best")
    assert cache.hits == 1
    big = FileCache(_App(size=200), lambda: "v", 1_000)
    _get(big, "/spectra/1_0/LR/best")
    assert not big._entries
    off = FileCache(app, lambda: "v", 0)
    _get(off, "/spectra/1_0/LR/best")
    assert not off._entries


def test_a_negative_cache_size_is_refused():
    with pytest.raises(ConfigError, match="file_cache_bytes"):
        Settings(file_cache_bytes=-1)


def test_live_server_serves_the_same_file_and_the_new_ingest(demo, tmp_path):
    """Through the real app: the cached answer equals the first one (CORS included), and
    after a re-ingest into the served SQLite file the new content is served."""
    products = tmp_path / "products"
    shutil.copytree(demo / "products", products)
    url = f"sqlite:///{tmp_path / 'atlas.sqlite'}"
    ingest(products, url)
    srv = build_server(Settings(store_url=url), "127.0.0.1", 0, threads=2)
    threading.Thread(target=srv.run, daemon=True).start()
    base = f"http://127.0.0.1:{srv.effective_port}"
    try:
        cj_id = sorted(p.stem for p in products.glob("*.fits"))[0]
        path = f"{base}/spectra/{cj_id}/LR/best?format=csv"
        first, second = http_get(path), http_get(path)
        assert first[0] == 200 and first[2] == second[2]
        assert second[1]["Access-Control-Allow-Origin"] == "*"
        assert second[1]["Content-Type"] == first[1]["Content-Type"]
        (products / f"{cj_id}.fits").unlink()  # the position leaves the atlas
        ingest(products, url, prune=True)
        assert http_get(path)[0] == 404
    finally:
        srv.close()
