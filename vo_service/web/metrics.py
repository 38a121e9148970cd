"""``/metrics``: the service's own measurements in the Prometheus text format
(prometheus-client).

* ``cassisjuice_http_requests_total{endpoint, method, status}``: every answered request;
* ``cassisjuice_http_request_duration_seconds{endpoint}``: latency histogram, from the
  request's arrival until its last byte was handed to the server (streamed results
  included);
* ``cassisjuice_http_request_errors_total{endpoint, kind}``: ``client`` (4xx) and
  ``server`` (5xx, a store outage's 503 included) answers;
* ``cassisjuice_uws_jobs{phase}``: UWS jobs per phase in the store, read when scraped
  (``QUEUED`` is the queue length; jobs are shared by every worker and host);
* ``cassisjuice_store_up``: 1 when the store answered the scrape's probe.

``endpoint`` is the matched URL rule (``/spectra/<path:spectrum>``), never the
raw path, so the number of series stays bounded; a path no rule matches is ``other``.
The middleware wraps the whole app, the file cache included, so cached answers count;
it costs about 20 us a request (the rule match and three updates, measured on this 2-core
VM), against 0.3 ms for the fastest cached file.

Under gunicorn the counters and histograms live in ``PROMETHEUS_MULTIPROC_DIR`` (one file
per worker, ``vo_service/wsgi.py``) and a scrape of any worker adds up every worker's; the
UWS and store gauges come from the store, the same for all.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.exceptions import HTTPException

__all__ = ["install"]

log = logging.getLogger(__name__)

PATH = "/metrics"
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: seconds; requests range from sub-millisecond cached files to a minute-long sync query
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0, 60.0, float("inf"))


class _Metrics:
    def __init__(self) -> None:
        import prometheus_client as prom  # here: PROMETHEUS_MULTIPROC_DIR is set by now

        self.prom = prom
        prom.disable_created_metrics()  # the *_created series say nothing useful here
        self.requests = prom.Counter(
            "cassisjuice_http_requests", "HTTP requests answered",
            ("endpoint", "method", "status"))
        self.latency = prom.Histogram(
            "cassisjuice_http_request_duration_seconds",
            "time from a request's arrival to its last byte", ("endpoint",), buckets=_BUCKETS)
        self.errors = prom.Counter(
            "cassisjuice_http_request_errors", "HTTP requests answered with an error",
            ("endpoint", "kind"))


_metrics: _Metrics | None = None  # one set per process: prometheus-client's are global


def _process_metrics() -> _Metrics:
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
    return _metrics


class _StoreCollector:
    """The gauges read from the store at each scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from .stores import store_available
        from .tap_async import start_jobs

        with self.app.app_context():
            up, _ = store_available()
            store_up = GaugeMetricFamily("cassisjuice_store_up",
                                         "1 when the atlas store answers")
            store_up.add_metric([], 1.0 if up else 0.0)
            yield store_up
            if not up:
                return
            try:
                counts = start_jobs(self.app)[0].phase_counts()
            except Exception as exc:  # the job tables are unreachable: no gauge this time
                log.warning("UWS job counts unavailable: %s", exc)
                return
        jobs = GaugeMetricFamily("cassisjuice_uws_jobs", "UWS jobs by phase",
                                 labels=("phase",))
        for phase in ("PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED",
                      "HELD", "SUSPENDED", "ARCHIVED"):
            jobs.add_metric([phase], float(counts.get(phase, 0)))
        yield jobs


class MetricsMiddleware:
    """WSGI middleware: answers ``/metrics`` and measures every other request."""

    def __init__(self, app: Flask, inner: Callable) -> None:
        self.app, self.inner = app, inner
        self.metrics = _process_metrics()
        self._store = _StoreCollector(app)
        self._urls = app.url_map

    def _endpoint(self, environ: dict) -> str:
        try:
            rule, _ = self._urls.bind_to_environ(environ).match(return_rule=True)
        except HTTPException:
            return "other"
        return rule.rule

    def _scrape(self, start_response: Callable) -> list[bytes]:
        prom = self.metrics.prom
        registry = prom.CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(registry)
        else:
            for collector in (self.metrics.requests, self.metrics.latency,
                              self.metrics.errors):
                registry.register(collector)
        registry.register(self._store)
        for attempt in range(3):
            try:
                body = prom.generate_latest(registry)
                break
            except struct.error:  # another worker's metrics file was being created
                # (prometheus-client makes it, then sizes it): read again shortly
                if attempt == 2:
                    raise
                time.sleep(0.05)
        start_response("200 OK", [("Content-Type", _CONTENT_TYPE),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [body]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET":
            return self._scrape(start_response)
        started = time.perf_counter()
        status: list[str] = []

        def recording_start_response(code, headers, exc_info=None):
            status[:] = [code.split(" ", 1)[0]]
            return start_response(code, headers, exc_info)

        body = self.inner(environ, recording_start_response)
        return _Measured(body, lambda: self._record(environ, status, started))

    def _record(self, environ: dict, status: list[str], started: float) -> None:
        endpoint = self._endpoint(environ)
        code = status[0] if status else "500"
        metrics = self.metrics
        metrics.requests.labels(endpoint, environ.get("REQUEST_METHOD", ""), code).inc()
        metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        if code[0] in "45":
            metrics.errors.labels(endpoint, "client" if code[0] == "4" else "server").inc()


class _Measured:
    """The response body, passed through; ``done()`` runs once it is closed (PEP 3333:
    the server calls ``close()`` after the last byte, or when the client went away)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body, self._done = body, done

    def __iter__(self):
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            try:
                self._done()
            except Exception:  # a measurement never breaks a response
                log.exception("recording a request's metrics failed")


def install(app: Flask) -> None:
    """Wrap the app (outermost) so every request is measured and ``/metrics`` answered."""
    app.wsgi_app = MetricsMiddleware(app, app.wsgi_app)
