"""waitress with ``vo_service.waitress_tuning``: the same bytes on the wire as waitress's
own channel (small and large bodies, streamed and chunked ones, HEAD, keep-alive, a body
beyond the buffer's high watermark), and no busy turns of the main loop while a worker
writes a response."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest
from waitress.channel import HTTPChannel
from waitress.server import create_server

from vo_service import waitress_tuning

BIG = bytes(range(256)) * 4096  # 1 MiB


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/small":
        body = b"<VOTABLE>one row</VOTABLE>"
        start_response("200 OK", [("Content-Type", "text/xml"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(BIG)))])
        return [BIG]
    if path == "/stream":  # no length: chunked (HTTP/1.1) or up to the close
        start_response("200 OK", [("Content-Type", "text/csv")])
        return (BIG[i:i + 300_000] for i in range(0, len(BIG), 300_000))
    if path == "/empty-first":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"", b"a", b"", b"bc"])
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"no"]


def _server(lean: bool, **adjust):
    server = create_server(_app, host="127.0.0.1", port=0, threads=2, **adjust)
    if lean:
        waitress_tuning.install(server)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="module")
def servers():
    pair = [_server(False), _server(True)]
    yield [s.effective_port for s in pair]
    for s in pair:
        s.close()


def _exchange(port: int, raw: bytes) -> bytes:
    """The whole answer to ``raw`` (the requests end with a Connection: close one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return re.sub(rb"Date: [^\r]*\r\n", b"", b"".join(chunks))


def _request(path: str, method: str = "GET", version: str = "1.1", close: bool = True
             ) -> bytes:
    return (f"{method} {path} HTTP/{version}\r\nHost: 127.0.0.1\r\n" +
            ("Connection: close\r\n" if close else "") + "\r\n").encode()


@pytest.mark.parametrize("raw", [
    _request("/small"), _request("/big"), _request("/stream"), _request("/empty-first"),
    _request("/stream", version="1.0"), _request("/small", "HEAD"), _request("/nowhere"),
    # keep-alive: several requests on one connection, answered in order
    _request("/small", close=False) + _request("/stream", close=False) +
    _request("/big", close=False) + _request("/small"),
])
def test_the_same_bytes_as_waitress(servers, raw):
    plain, lean = servers
    expected = _exchange(plain, raw)
    assert expected.startswith(b"HTTP/1.")
    assert _exchange(lean, raw) == expected


def test_a_body_beyond_the_high_watermark():
    """A worker whose buffer is over the high watermark waits for the main loop to send:
    the loop still does (no dead lock), every byte arrives."""
    plain = _server(False, outbuf_high_watermark=65536, outbuf_overflow=65536)
    lean = _server(True, outbuf_high_watermark=65536, outbuf_overflow=65536)
    try:
        for raw in (_request("/stream"), _request("/big")):
            expected = _exchange(plain.effective_port, raw)
            assert len(expected) > len(BIG)
            assert _exchange(lean.effective_port, raw) == expected
    finally:
        plain.close()
        lean.close()


def _loop_turns(lean: bool, monkeypatch) -> int:
    """Turns of the main loop's write handling for 20 small responses, each ``send`` of
    the socket made slow (10 ms, the interpreter lock released as in a real send) and
    the loop woken as it starts (as any event would: another client, a trigger)."""
    turns: list[int] = []
    handle_write, send = HTTPChannel.handle_write, HTTPChannel.send

    def counted(self):
        turns.append(1)
        return handle_write(self)

    def slow_send(self, data, do_close=True):
        self.server.pull_trigger()
        time.sleep(0.01)
        return send(self, data, do_close)

    monkeypatch.setattr(HTTPChannel, "handle_write", counted)
    monkeypatch.setattr(HTTPChannel, "send", slow_send)
    server = _server(lean)
    try:
        for _ in range(20):
            assert _exchange(server.effective_port, _request("/small")).startswith(
                b"HTTP/1.1 200 OK")
    finally:
        server.close()
        monkeypatch.undo()
    return len(turns)


def test_no_busy_loop_while_a_worker_writes(monkeypatch):
    """waitress's own channel is writable while a worker holds its buffer to send, so the
    main loop turns without being able to do anything; the lean one is not: one turn a
    request (the close once the response is out)."""
    assert _loop_turns(True, monkeypatch) <= 2 * 20
    assert _loop_turns(False, monkeypatch) > 10 * 20  # what it spares


def _threads_serving(dispatcher) -> int:
    """How many of 4 request threads served 30 requests one after the other."""
    seen: set[int] = set()

    def app(environ, start_response):
        seen.add(threading.get_ident())
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    kw = {"_dispatcher": dispatcher} if dispatcher is not None else {}
    server = create_server(app, host="127.0.0.1", port=0, threads=4, **kw)
    waitress_tuning.install(server)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        for _ in range(30):
            assert _exchange(server.effective_port, _request("/")).startswith(b"HTTP/1.1 200")
    finally:
        server.close()
    return len(seen)


def test_the_last_idle_thread_serves_the_next_request():
    """One client's requests one after the other stay on one or two warm threads; waitress's
    own pool sends them round all of its threads."""
    assert _threads_serving(waitress_tuning.LifoDispatcher(4)) <= 2
    assert _threads_serving(None) >= 3  # what it spares
