"""A spoofed ``Host`` header never reaches an advertised URL (no ``base_url`` configured):
every kind of URL the service hands out names an allowed host, on both backends."""

from __future__ import annotations

import http.client
import re
from urllib.parse import quote, urlencode, urlsplit

import pytest

SPOOF = "evil.example"


def _request(base: str, path: str, host: str, method: str = "GET", body: str | None = None):
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    headers = {"Host": host}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.headers, data.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def ids(server):
    base, _ = server
    _, _, body = _request(base, "/ssa?POS=0,0&SIZE=360", urlsplit(base).netloc)
    did = re.search(r"ivo://cassisjuice\.invalid/cassisjuice\?[0-9]+_[0-9]+/LR", body).group()
    return did, did.split("?")[1].split("/")[0]


def _advertising(did: str, cj_id: str) -> dict[str, str]:
    obscore = "SELECT TOP 3 access_url FROM ivoa.obscore"
    return {
        "ObsCore access_url": "/tap/sync?" + urlencode({"LANG": "ADQL", "QUERY": obscore}),
        "SSAP accref": "/ssa?POS=0,0&SIZE=360",
        "Datalink": "/datalink/links?ID=" + quote(did, safe=""),
        "TAP capabilities": "/tap/capabilities",
        "SSA capabilities": "/ssa/capabilities",
        "SCS capabilities": "/scs/capabilities",
        "TAP examples": "/tap/examples",
        "OAI records": "/oai?verb=ListRecords&metadataPrefix=ivo_vor",
        "TAP page (HTML)": "/tap",
        "ID card (HTML)": f"/cards/{cj_id}",
        "portal (HTML)": "/",
    }


@pytest.mark.parametrize("kind", list(_advertising("x", "y")))
def test_spoofed_host_is_not_advertised(any_server, ids, kind):
    base, _ = any_server
    own = urlsplit(base).netloc  # 127.0.0.1:<port>, an allowed form of the server's own
    path = _advertising(*ids)[kind]
    status, _, body = _request(base, path, SPOOF)
    assert status == 200, body[:300]
    assert SPOOF not in body
    port = urlsplit(base).port
    assert re.search(rf"http://(localhost|127\.0\.0\.1|\[::1\]):{port}/", body), body[:500]
    # the control: an allowed Host is the one advertised
    status, _, body = _request(base, path, own)
    assert status == 200 and f"http://{own}/" in body


def test_spoofed_host_is_not_in_async_job_locations(any_server):
    base, _ = any_server
    port = urlsplit(base).port
    form = urlencode({"LANG": "ADQL", "QUERY": "SELECT TOP 1 cj_id FROM cassisjuice.positions",
                      "PHASE": "RUN"})
    status, headers, _ = _request(base, "/tap/async", SPOOF, "POST", form)
    assert status == 303
    location = headers["Location"]
    assert SPOOF not in location
    assert re.match(rf"http://(localhost|127\.0\.0\.1|\[::1\]):{port}/tap/async/", location)
    job = urlsplit(location).path
    status, _, document = _request(base, job + "?WAIT=30", SPOOF)
    assert status == 200 and SPOOF not in document
    # the job's result URL, stored with the job, names the server too
    status, _, results = _request(base, job + "/results", SPOOF)
    assert status == 200 and SPOOF not in results
    _request(base, job, urlsplit(base).netloc, "DELETE")
