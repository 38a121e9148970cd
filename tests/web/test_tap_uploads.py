"""UPLOAD by URL cannot make the server fetch what it can reach (TAP 1.1 sec. 2.5.2):
off by default; when allowed, only listed hosts with public addresses, no redirects,
bounded in bytes and time, one error text; inline uploads keep working."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from tests.web.conftest import _serve
from tests.web.tap_client import call, error_message, multipart
from tests.web.test_tap_jobs import _until
from vo_service.config import Settings
from vo_service.protocols.tap_upload import TapError, fetch

_TABLE = (b'<?xml version="1.0"?><VOTABLE version="1.4" '
          b'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>'
          b'<FIELD name="a" datatype="int"/><DATA><TABLEDATA><TR><TD>7</TD></TR>'
          b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")


@pytest.fixture
def listener():
    """A loopback port that records every connection made to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


def _connections(sock: socket.socket) -> int:
    """How many connections reached the listener (a completed handshake waits in the
    accept queue even when its client has gone)."""
    sock.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def _urls(port: int) -> list[str]:
    return [f"http://127.0.0.1:{port}/t.vot", f"http://localhost:{port}/t.vot",
            f"http://2130706433:{port}/t.vot", f"http://[::ffff:127.0.0.1]:{port}/t.vot"]


def _upload_by_url(base: str, url: str, endpoint: str = "sync"):
    return call("POST", f"{base}/tap/{endpoint}", {
        "LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": f"t,{url}"})


def test_upload_by_url_is_off_by_default(any_server, listener):
    base, _ = any_server
    port = listener.getsockname()[1]
    for url in _urls(port):
        status, _, body = _upload_by_url(base, url)
        assert status == 400
        assert "does not fetch uploads by URL" in error_message(body)[1]
    assert _connections(listener) == 0


def test_allowed_hosts_never_reach_private_addresses(store_url, listener):
    """An operator who lists loopback names still gets no fetch from a loopback address,
    and an open port, a closed port and an unlisted host give the same error text."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: a closed port
    srv = _serve(store_url, upload_url_hosts="127.0.0.1,localhost,2130706433,::ffff:127.0.0.1")
    base = f"http://127.0.0.1:{srv.effective_port}"
    try:
        messages = set()
        for url in [*_urls(listener.getsockname()[1]), *_urls(closed.getsockname()[1]),
                    "http://unlisted.example/t.vot", "ftp://127.0.0.1/t.vot"]:
            status, _, body = _upload_by_url(base, url)
            assert status == 400, url
            messages.add(error_message(body)[1])
        assert len(messages - {m for m in messages if "unsupported URI" in m}) == 1, messages
        # an async job fetches when it runs: it fails the same way
        status, headers, _ = _upload_by_url(base, _urls(listener.getsockname()[1])[0],
                                            "async")
        assert status == 303
        call("POST", f"{headers['Location']}/phase", {"PHASE": "RUN"})
        for _ in range(100):
            _, _, phase = call("GET", f"{headers['Location']}/phase")
            if phase in (b"ERROR", b"COMPLETED"):
                break
            time.sleep(0.1)
        assert phase == b"ERROR"
        assert _connections(listener) == 0
    finally:
        srv.close()
        closed.close()


def test_inline_uploads_still_work(any_server):
    base, _ = any_server
    status, _, body = multipart(f"{base}/tap/sync", {
        "LANG": "ADQL", "QUERY": "SELECT a FROM TAP_UPLOAD.t", "UPLOAD": "t,param:t",
        "RESPONSEFORMAT": "csv"}, {"t": _TABLE})
    assert (status, body) == (200, b"a\r\n7\r\n")


class _Handler(threading.Thread):
    """A loopback HTTP server answering every request with ``reply`` (then lingering
    ``linger_s`` before closing)."""

    def __init__(self, reply: bytes, linger_s: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.reply, self.linger_s, self.requests = reply, linger_s, 0
        self.start()

    def run(self) -> None:
        try:
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    conn.recv(65536)
                    self.requests += 1
                    conn.sendall(self.reply)
                    time.sleep(self.linger_s)
        except OSError:
            return


def test_fetch_policy_redirects_size_and_time(monkeypatch):
    """With the address check lifted (the only way to serve on loopback), a redirect is
    not followed, and a body over the size limit or slower than the time limit fails,
    all with the one error text."""
    import vo_service.protocols.tap_upload as tap_upload

    monkeypatch.setattr(tap_upload, "_public", lambda address: True)
    settings = Settings(upload_url_hosts="127.0.0.1", upload_limit_bytes=1000,
                        upload_url_timeout_s=1.0)
    target = _Handler(b"HTTP/1.0 200 OK\r\n\r\n" + _TABLE)
    redirect = _Handler(b"HTTP/1.0 302 Found\r\nLocation: http://127.0.0.1:"
                        + str(target.sock.getsockname()[1]).encode() + b"/t\r\n\r\n")
    big = _Handler(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000)
    slow = _Handler(b"HTTP/1.0 200 OK\r\n\r\n<VOTABLE", linger_s=3)
    lingering = [_Handler(b"HTTP/1.0 200 OK\r\n\r\n<VOTABLE", linger_s=3)
                 for _ in range(tap_upload.MAX_FETCHES)]
    try:
        port = target.sock.getsockname()[1]
        assert fetch("t", f"http://127.0.0.1:{port}/t", settings) == _TABLE
        texts = set()
        for handler in (redirect, big, slow):
            with pytest.raises(TapError) as caught:
                fetch("t", f"http://127.0.0.1:{handler.sock.getsockname()[1]}/t", settings)
            texts.add(str(caught.value))
        assert len(texts) == 1 and target.requests == 1  # the redirect was not followed
        # slow servers take at most MAX_FETCHES fetches at once; a further one is refused
        # at once instead of waiting for a request thread
        busy = [threading.Thread(target=_ignore_errors, args=(
            fetch, "t", f"http://127.0.0.1:{h.sock.getsockname()[1]}/t", settings))
            for h in lingering]
        for thread in busy:
            thread.start()
        assert _until(lambda: all(h.requests for h in lingering), 10.0)
        with pytest.raises(TapError, match="fetching other uploads"):
            fetch("t", f"http://127.0.0.1:{port}/t", settings)
        for thread in busy:
            thread.join()
        assert fetch("t", f"http://127.0.0.1:{port}/t", settings) == _TABLE
    finally:
        for handler in (target, redirect, big, slow, *lingering):
            handler.sock.close()


def _ignore_errors(call, *args) -> None:
    with contextlib.suppress(TapError):
        call(*args)
