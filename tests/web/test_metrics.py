"""``/metrics`` in the Prometheus text format, read with prometheus-client's own parser,
from gunicorn's two workers (multiprocess mode: any worker's scrape adds up both)."""

from __future__ import annotations

import time
import urllib.parse

from prometheus_client.parser import text_string_to_metric_families

from tests.http_get import http_get
from tests.web.tap_client import call


def _samples(base: str) -> dict[tuple, float]:
    status, headers, body = http_get(base + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _delta(after: dict, before: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_count_every_worker_s_requests_errors_and_jobs(pg_server):
    base, _ = pg_server
    before = _samples(base)
    for _ in range(6):  # new connections: both workers get some
        assert http_get(base + "/ssa?POS=0,0&SIZE=360")[0] == 200
    for _ in range(4):
        assert http_get(base + "/ssa?POS=nowhere&SIZE=1")[0] == 400
    cj_id = "99999999_0"  # well formed, not in the atlas
    assert http_get(f"{base}/spectra/{cj_id}/LR/best")[0] == 404
    query = {"LANG": "ADQL", "QUERY": "SELECT TOP 1 cj_id FROM cassisjuice.positions"}
    status, headers, _ = call("POST", f"{base}/tap/async", query)  # PENDING: no RUN
    assert status == 303
    # a request is counted once its last byte is handed over: the client may read
    # /metrics from the other worker a moment before
    deadline = time.monotonic() + 10
    while True:
        after = _samples(base)
        if _delta(after, before, "cassisjuice_http_requests_total", endpoint="/tap/async",
                  method="POST", status="303") >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    requests = "cassisjuice_http_requests_total"
    assert _delta(after, before, requests, endpoint="/ssa", method="GET", status="200") == 6
    assert _delta(after, before, requests, endpoint="/ssa", method="GET", status="400") == 4
    spectra = "/spectra/<path:spectrum>"  # the URL rule, not the raw path
    assert _delta(after, before, requests, endpoint=spectra, method="GET", status="404") == 1
    assert not any(cj_id in str(key) for key in after)
    errors = "cassisjuice_http_request_errors_total"
    assert _delta(after, before, errors, endpoint="/ssa", kind="client") == 4
    assert _delta(after, before, errors, endpoint="/ssa", kind="server") == 0
    latency = "cassisjuice_http_request_duration_seconds"
    assert _delta(after, before, latency + "_count", endpoint="/ssa") == 10
    assert _delta(after, before, latency + "_bucket", endpoint="/ssa", le="+Inf") == 10
    assert _delta(after, before, latency + "_sum", endpoint="/ssa") > 0
    assert after[("cassisjuice_store_up", ())] == 1
    assert _delta(after, before, "cassisjuice_uws_jobs", phase="PENDING") == 1
    job = urllib.parse.urlsplit(headers["Location"]).path
    assert call("DELETE", base + job, headers={"Cookie": headers["Set-Cookie"]
                                               .split(";")[0]})[0] == 303


def test_metrics_of_one_waitress_process(server):
    """Without PROMETHEUS_MULTIPROC_DIR (the embedded server): the process's own counts."""
    base, _ = server
    before = _samples(base)
    for _ in range(3):
        assert http_get(base + "/scs?RA=0&DEC=0&SR=10")[0] == 200
    assert http_get(base + "/scs?RA=x&DEC=0&SR=1")[0] == 400
    requests = "cassisjuice_http_requests_total"
    # a request is counted once its response is sent, on the thread that sent it: the next
    # request, on another thread, may be counted first, so wait for all four
    deadline = time.monotonic() + 10
    while True:
        after = _samples(base)
        ok = _delta(after, before, requests, endpoint="/scs", method="GET", status="200")
        bad = _delta(after, before, requests, endpoint="/scs", method="GET", status="400")
        if (ok >= 3 and bad >= 1) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert _delta(after, before, requests, endpoint="/scs", method="GET", status="200") == 3
    assert _delta(after, before, requests, endpoint="/scs", method="GET", status="400") == 1
    assert _delta(after, before, "cassisjuice_http_request_errors_total", endpoint="/scs",
                  kind="client") == 1
    assert after[("cassisjuice_store_up", ())] == 1
