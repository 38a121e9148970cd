"""The production server, gunicorn with ``deploy/gunicorn.conf.py``, on PostgreSQL: TOPCAT's
chunked uploads arrive whole (clients.md sec. 9 A.4), and a worker killed under load is
replaced while the clients of the other worker see no error."""

from __future__ import annotations

import http.client
import io
import os
import signal
import threading
import time
import urllib.parse

from astropy.io.votable import parse

from tests.gunicorn_server import Gunicorn, worker_serving
from tests.web.tap_client import post_chunked

BOUNDARY = "<<<--------------MULTIPART-BOUNDARY------->>>"  # TOPCAT's, quoted in the header
ROWS = 20_000  # about 0.8 MB of TABLEDATA: many chunks


def _table() -> bytes:
    rows = "".join(f"<TR><TD>{i}</TD></TR>" for i in range(ROWS))
    return ('<?xml version="1.0"?><VOTABLE version="1.4" '
            'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>'
            '<FIELD name="a" datatype="long"/><DATA><TABLEDATA>' + rows
            + "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>").encode()


def _multipart(query: str) -> bytes:
    fields = {"LANG": "ADQL", "QUERY": query, "UPLOAD": "t1,param:t1"}
    body = b"".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n'
                    f"Content-Type: text/plain; charset=UTF-8\r\n\r\n{v}\r\n".encode()
                    for k, v in fields.items())
    body += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="t1"; filename="t1"\r\n'
             "Content-Type: application/x-votable+xml\r\n\r\n").encode() + _table() + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def test_chunked_tap_upload_arrives_whole_under_gunicorn(pg_server):
    base, _ = pg_server
    body = _multipart("SELECT COUNT(*) AS n, MIN(a) AS low, MAX(a) AS high FROM TAP_UPLOAD.t1")
    status, data = post_chunked(base + "/tap/sync", body, BOUNDARY)
    assert status == 200, data[-500:]
    row = parse(io.BytesIO(data)).get_first_table().array[0]
    assert int(row["n"]) == ROWS
    assert (int(row["low"]), int(row["high"])) == (0, ROWS - 1)


def _keep_alive_clients(server: Gunicorn, per_worker: int = 2
                        ) -> dict[int, list[http.client.HTTPConnection]]:
    """``per_worker`` kept-alive connections held by each worker, each served once. The
    kernel would hand every connection to whichever worker wakes first, so the others
    are paused (SIGSTOP) while one worker accepts; which worker holds a connection is
    read from /proc."""
    held: dict[int, list[http.client.HTTPConnection]] = {}
    workers = server.workers()
    for pid in workers:
        others = [w for w in workers if w != pid]
        for other in others:
            os.kill(other, signal.SIGSTOP)
        try:
            for _ in range(per_worker):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                conn.request("GET", "/tap/availability")
                conn.getresponse().read()
                held.setdefault(worker_serving(server, conn.sock), []).append(conn)
        finally:
            for other in others:
                os.kill(other, signal.SIGCONT)
    return held


def test_a_killed_worker_is_replaced_and_other_clients_see_no_error(pg_server, tmp_path):
    _, store = pg_server
    server = Gunicorn(store.url, workers=2, threads=4, log=tmp_path / "gunicorn.log")
    try:
        held = _keep_alive_clients(server)
        assert len(held) == 2 and all(len(c) == 2 for c in held.values()), held
        victim, survivor = sorted(held)
        query = "/tap/sync?" + urllib.parse.urlencode({
            "LANG": "ADQL", "QUERY": "SELECT TOP 200 * FROM cassisjuice.positions"})
        paths = [query, "/ssa?POS=0,0&SIZE=360", "/tap/availability"]
        stop = threading.Event()
        outcomes: dict[int, list] = {pid: [] for pid in held}

        def client(pid: int, conn: http.client.HTTPConnection) -> None:
            i = 0
            while not stop.is_set():
                try:
                    conn.request("GET", paths[i % len(paths)])
                    response = conn.getresponse()
                    response.read()
                    outcomes[pid].append(response.status)
                except (OSError, http.client.HTTPException) as exc:
                    outcomes[pid].append(exc)
                    return  # this connection is gone
                i += 1

        threads = [threading.Thread(target=client, args=(pid, conn))
                   for pid, conns in held.items() for conn in conns]
        for thread in threads:
            thread.start()
        time.sleep(0.6)
        os.kill(victim, signal.SIGKILL)  # mid-load
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(60)
        # the killed worker's clients lost their connections (the kill hit them mid-load);
        # the other worker's clients: every request answered 200, before and after
        assert any(isinstance(o, Exception) for o in outcomes[victim]), outcomes[victim]
        assert len(outcomes[survivor]) > 4 and set(outcomes[survivor]) == {200}, \
            outcomes[survivor]
        # the master replaces the dead worker: two live workers, the victim not one
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
                victim in server.workers() or len(server.workers()) < 2):
            time.sleep(0.2)
        workers = server.workers()
        assert victim not in workers and len(workers) == 2, workers
        held_after = _keep_alive_clients(server, per_worker=1)
        assert set(held_after) == set(workers)  # the new worker answers too
        for conns in held_after.values():
            for conn in conns:
                conn.request("GET", query)
                response = conn.getresponse()
                assert response.status == 200 and b"<TABLEDATA>" in response.read()
                conn.close()
        for conns in held.values():
            for conn in conns:
                conn.close()
    finally:
        server.stop()
