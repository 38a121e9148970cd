"""Scale-out as deployed: two app hosts (gunicorn masters on their own ports) over one
PostgreSQL store, behind ``deploy/nginx/cassisjuice.conf`` (run by the machine's nginx with
only its ports changed). Public URLs name the proxy; gzip and the caching headers come
from the proxy; a UWS job made through one host is read through the other; a host killed
with jobs in its hands loses none of them."""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
from astropy.io.votable import parse

from tests.gunicorn_server import ROOT, Gunicorn
from tests.web.tap_client import call, cookie_of, post_chunked
from tests.web.test_gunicorn import BOUNDARY, ROWS, _multipart

NGINX_CONF = ROOT / "deploy" / "nginx" / "cassisjuice.conf"
JOBS = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_nginx(root: Path, port: int, upstreams: list[int]) -> subprocess.Popen:
    site = NGINX_CONF.read_text()
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    for default, ours in zip(("127.0.0.1:8001", "127.0.0.1:8002"), upstreams, strict=True):
        assert f"server {default} " in site
        site = site.replace(f"server {default} ", f"server 127.0.0.1:{ours} ")
    (root / "cassisjuice.conf").write_text(site)
    temp = "\n".join(f"    {kind}_temp_path {root / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (root / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\ndaemon off;\npid {root / 'nginx.pid'};\n"
        f"error_log {root / 'error.log'};\nevents {{ worker_connections 256; }}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    access_log off;\n{temp}\n"
        f"    include {root / 'cassisjuice.conf'};\n}}\n")
    process = subprocess.Popen([shutil.which("nginx"), "-p", str(root), "-c",
                                str(root / "nginx.conf")], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {process.stderr.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("nginx did not start")


@pytest.fixture(scope="module")
def site(pg_server, tmp_path_factory):
    if shutil.which("nginx") is None:
        if os.environ.get("CI"):
            raise RuntimeError("nginx not found: CI installs it (deploy/system-packages.txt)")
        pytest.skip("nginx is not installed")
    _, store = pg_server
    root = tmp_path_factory.mktemp("nginx")
    port = _free_port()
    settings = {"trust_proxy": 1, "allowed_hosts": f"127.0.0.1:{port}"}
    hosts = [Gunicorn(store.url, workers=1, threads=4, log=root / f"host{i}.log",
                      **settings) for i in range(2)]
    nginx = _start_nginx(root, port, [h.port for h in hosts])
    try:
        yield f"http://127.0.0.1:{port}", hosts
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(30)
        except subprocess.TimeoutExpired:
            nginx.kill()
        nginx.stderr.close()
        for host in hosts:
            host.stop()


def test_the_proxy_s_public_urls_gzip_and_caching_headers(site):
    base, _ = site
    status, _, body = call("GET", base + "/tap/capabilities")
    assert status == 200
    urls = set(re.findall(rb"<accessURL[^>]*>([^<]+)<", body))
    assert urls and all(u.startswith(base.encode() + b"/") for u in urls), urls
    query = {"LANG": "ADQL", "QUERY": "SELECT cj_id, ra, dec FROM cassisjuice.positions"}
    status, headers, body = call("GET", base + "/tap/sync", query,
                                 headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    table = parse(io.BytesIO(gzip.decompress(body))).get_first_table()
    assert len(table.array) > 0
    status, headers, _ = call("GET", base + "/moc")
    assert status == 200 and headers["Cache-Control"] == "public, max-age=3600"
    cj_id = str(table.array["cj_id"][0])
    status, headers, _ = call("GET", f"{base}/spectra/{cj_id}/LR/best?format=fits")
    assert status in (200, 404)  # a position may have no LR spectrum
    if status == 200:
        assert headers["Cache-Control"] == "public, max-age=3600"
    status, headers, _ = call("GET", f"{base}/spectra/99999999_0/LR/best")
    assert status == 404 and headers.get("Cache-Control") != "public, max-age=3600"


def _count_query(n: int) -> str:
    tables = ", ".join(f"ivoa.obscore AS t{i}" for i in range(n))
    return f"SELECT COUNT(*) AS n FROM {tables}"


def _phase(url: str, cookie: str) -> str:
    status, _, body = call("GET", url + "/phase", headers={"Cookie": cookie})
    assert status == 200, body[-300:]
    return body.decode().strip()


def test_a_job_made_through_one_host_is_read_through_the_other(site):
    _, (first, second) = site
    status, headers, _ = call("POST", first.base + "/tap/async", {
        "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM ivoa.obscore", "PHASE": "RUN"})
    assert status == 303
    cookie = cookie_of(headers)
    path = urllib.parse.urlsplit(headers["Location"]).path
    deadline = time.monotonic() + 60
    while _phase(second.base + path, cookie) != "COMPLETED" and time.monotonic() < deadline:
        time.sleep(0.2)
    status, _, body = call("GET", second.base + path + "/results/result",
                           headers={"Cookie": cookie})
    assert status == 200
    assert int(parse(io.BytesIO(body)).get_first_table().array["n"][0]) > 0


def test_a_killed_host_loses_no_job(site):
    base, (first, _) = site
    status, _, body = call("GET", base + "/tap/sync", {
        "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM ivoa.obscore"})
    rows = int(parse(io.BytesIO(body)).get_first_table().array["n"][0])
    ways = 6  # rows ** 6 combinations counted: each job keeps a runner busy a while
    jobs = []
    for _ in range(JOBS):  # all through the first host, whose runner takes them
        status, headers, _ = call("POST", first.base + "/tap/async", {
            "LANG": "ADQL", "QUERY": _count_query(ways), "PHASE": "RUN"})
        assert status == 303
        jobs.append((urllib.parse.urlsplit(headers["Location"]).path, cookie_of(headers)))
    for pid in [*first.workers(), first.pid]:  # the whole host, at once
        os.kill(pid, signal.SIGKILL)
    unfinished = [p for p, c in jobs if _phase(base + p, c) != "COMPLETED"]
    assert unfinished, "every job had finished before the host was killed"
    deadline = time.monotonic() + 90
    phases = {}
    while time.monotonic() < deadline:
        phases = {p: _phase(base + p, c) for p, c in jobs}  # through the proxy
        if set(phases.values()) <= {"COMPLETED", "ERROR", "ABORTED"}:
            break
        time.sleep(0.5)
    assert set(phases.values()) == {"COMPLETED"}, phases
    for path, cookie in jobs:
        status, _, body = call("GET", base + path + "/results/result",
                               headers={"Cookie": cookie})
        assert status == 200
        assert int(parse(io.BytesIO(body)).get_first_table().array["n"][0]) == rows ** ways


def test_a_chunked_topcat_upload_passes_the_proxy(site):
    """nginx streams the chunked body on (proxy_request_buffering off, HTTP/1.1)."""
    base, _ = site
    body = _multipart("SELECT COUNT(*) AS n, MAX(a) AS high FROM TAP_UPLOAD.t1")
    status, data = post_chunked(base + "/tap/sync", body, BOUNDARY)
    assert status == 200, data[-500:]
    row = parse(io.BytesIO(data)).get_first_table().array[0]
    assert (int(row["n"]), int(row["high"])) == (ROWS, ROWS - 1)
