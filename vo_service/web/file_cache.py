"""Served files kept in memory: WSGI middleware in front of the Flask app.

A spectrum file (``/spectra/...``) or a position's dataset (``/datasets/...``) is a pure
function of the request and of the store's content, so its bytes are kept, bounded by
``Settings.file_cache_bytes`` per server process (least recently used dropped first), and
a repeated request is answered without entering Flask, the store or the encoders, the way
a static file server answers from the page cache. The key is the request as the app sees
it (method, script name, path, query, host, scheme and the X-Forwarded-* headers that
change URLs) plus ``Store.data_version()``, so a new ingest is never answered from the
old one. Only complete 200 responses are kept; errors always go through the app.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

__all__ = ["FileCache"]

#: URL path prefixes whose GET responses are cached
CACHED_PREFIXES = ("/spectra/", "/datasets/")
#: request headers that change a response (URLs built from them)
_VARYING = ("HTTP_HOST", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO",
            "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_X_FORWARDED_FOR")


class FileCache:
    """``FileCache(app, version, max_bytes)``: a WSGI app that answers cached file
    requests itself and passes everything else to ``app``.

    Parameters
    ----------
    app : WSGI application
    version : callable
        The store's current content token (``Store.data_version``).
    max_bytes : int
        Memory bound of the cached bodies; 0 turns the cache off. A response larger
        than an eighth of it is served but not kept.
    """

    def __init__(self, app: Callable, version: Callable[[], object], max_bytes: int) -> None:
        self.app = app
        self.version = version
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[str, list, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._version: object = None
        self.hits = self.misses = 0

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (not self.max_bytes or environ.get("REQUEST_METHOD") != "GET"
                or not environ.get("PATH_INFO", "").startswith(CACHED_PREFIXES)):
            return self.app(environ, start_response)
        try:
            version = self.version()
        except Exception:  # the store is unreachable: not cacheable; the app answers 503
            return self.app(environ, start_response)
        key = (environ.get("SCRIPT_NAME", ""), environ["PATH_INFO"],
               environ.get("QUERY_STRING", ""), environ.get("wsgi.url_scheme"),
               *(environ.get(h) for h in _VARYING), version)
        with self._lock:
            if version != self._version:  # a new ingest: what is kept is stale
                self._entries.clear()
                self._size = 0
                self._version = version
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if entry is not None:
            status, headers, body = entry
            start_response(status, list(headers))
            return [body]
        return self._fill(key, environ, start_response)

    def _fill(self, key: tuple, environ: dict, start_response: Callable) -> Iterable[bytes]:
        seen: list = []

        def keep_status(status, headers, exc_info=None):
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, keep_status)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if seen and seen[0].startswith("200 ") and len(body) <= self.max_bytes // 8:
            with self._lock:
                self.misses += 1
                if key not in self._entries and key[-1] == self._version:
                    self._entries[key] = (seen[0], list(seen[1]), body)
                    self._size += len(body)
                while self._size > self.max_bytes:
                    _, (_, _, dropped) = self._entries.popitem(last=False)
                    self._size -= len(dropped)
        return [body]
