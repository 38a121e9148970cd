"""The production server: TOPCAT-shaped chunked multipart uploads reach Flask intact
(clients.md sec. 2.3 and 9 A.4), errors stay VOTables over a real socket."""

from __future__ import annotations

import http.client
import threading

import pytest
from flask import Blueprint, jsonify

from tests.web.tap_client import post_chunked
from vo_service.commands.serve import build_server
from vo_service.config import Settings
from vo_service.web.params import params

BOUNDARY = "<<<--------------MULTIPART-BOUNDARY------->>>"  # TOPCAT's, quoted in the header
upload = Blueprint("upload_probe", __name__)


@upload.route("/probe/upload", methods=["POST"])
def echo_upload():
    p = params()
    table = p.file("t1")
    return jsonify(upload=p.get("UPLOAD"), table=table.read().decode() if table else None)


@pytest.fixture(scope="module")
def server():
    srv = build_server(Settings(), "127.0.0.1", 0, threads=2)
    srv.application.register_blueprint(upload)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield srv.effective_port
    srv.close()


def _multipart() -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="UPLOAD"\r\n'
        "Content-Type: text/plain; charset=UTF-8\r\n\r\nt1,param:t1\r\n",
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="t1"; filename="t1"\r\n'
        "Content-Type: application/x-votable+xml\r\n\r\n" + "<VOTABLE>" + "x" * 300_000
        + "</VOTABLE>\r\n",
        f"--{BOUNDARY}--\r\n",
    ]
    return "".join(parts).encode()


def test_chunked_multipart_upload_arrives_whole(server):
    body = _multipart()
    status, data = post_chunked(f"http://127.0.0.1:{server}/probe/upload", body, BOUNDARY)
    assert status == 200, data
    assert b'"upload":"t1,param:t1"' in data and b"x" * 1000 in data
    assert len(data) > 300_000


def test_unknown_path_over_the_socket_is_a_votable_error(server):
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    conn.request("GET", "/nowhere")
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 404 and b'value="ERROR"' in body
    assert response.getheader("Access-Control-Allow-Origin") == "*"
