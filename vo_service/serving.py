"""A server process tuned for request latency: warmed up, its start-up objects frozen out
of the garbage collector, and collections made rarer.

CPython's cyclic collector walks every tracked object of the generation it collects. A
serving process holds a few hundred thousand long-lived objects (astropy, numpy, Flask,
the resdir metadata, the ADQL schema): measured on a 20,400-row TAP download, a
generation-2 collection took about 78 ms and hit a third of the downloads (p90 115 ms
with the collector on, 51 ms with it off). ``gc.freeze()`` (Python 3.7+) moves everything
alive after start-up into a permanent generation that collections never walk, so a full
collection costs what the requests themselves allocated; a higher generation-0 threshold
makes the young collections rarer during a large result (each chunk of 5000 rows
allocates tens of thousands of tuples and lists). Reference counting still frees
everything without cycles at once, so memory does not grow.
"""

from __future__ import annotations

import contextlib
import gc
import logging

__all__ = ["GC_THRESHOLDS", "prepare_app", "tune_for_serving", "warm_up"]

log = logging.getLogger("cassisjuice")

#: (generation 0, 1, 2) thresholds of a serving process; CPython's default is (700, 10, 10)
GC_THRESHOLDS = (20_000, 20, 20)

#: requests that load what a first request would load lazily (the store connection, the
#: ADQL schema, the protocol modules), so it is frozen with the rest of start-up
_WARM_UP = (
    ("GET", "/tap/availability", None),
    ("POST", "/tap/sync", {"LANG": "ADQL", "QUERY": "SELECT TOP 1 * FROM TAP_SCHEMA.tables"}),
    ("POST", "/tap/sync", {"LANG": "ADQL", "RESPONSEFORMAT": "csv", "QUERY":
                           "SELECT TOP 1 cj_id FROM cassisjuice.positions WHERE 1 = CONTAINS("
                           "POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, 10, 0.1))"}),
    ("GET", "/scs?RA=10&DEC=10&SR=0.01", None),
    ("GET", "/ssa?REQUEST=queryData&POS=10,10&SIZE=0.01", None),
)


def prepare_app(app, host: str | None, threads: int) -> None:
    """What a serving process does to its app whatever the server (waitress or a gunicorn
    worker): the app learns its thread count and listening host (the default allowed
    host, ``web.urls``; None: keep the default), and the UWS job runner starts, so jobs a
    dead server left EXECUTING are recovered without waiting for a request."""
    from vo_service.web.tap_async import start_jobs

    if host is not None:
        app.config["CASSISJUICE_LISTEN_HOST"] = host
    app.config["CASSISJUICE_THREADS"] = threads
    try:
        start_jobs(app)
    except Exception:  # e.g. the store is down: the first /tap/async request retries
        log.exception("the UWS job runner could not start")


def warm_up(app) -> None:
    """The requests of ``_WARM_UP`` through the app, in this process, when its store is
    available; a failure is only logged (the first real request then loads what it
    needs)."""
    client = app.test_client()
    for method, path, data in _WARM_UP:
        try:
            response = client.open(path, method=method, data=data)
            body = response.get_data()
            response.close()
        except Exception:  # a warm-up never stops a server from starting
            log.debug("warm-up request %s failed", path, exc_info=True)
            continue
        if path.endswith("/availability") and b">true<" not in body:
            return  # no store (yet): nothing to warm up, and no warnings to log


def tune_for_serving(app=None) -> None:
    """Warm ``app`` up (when given), collect, freeze what is alive and raise the
    collector's thresholds (see the module docstring). Call it once per serving process,
    after any fork."""
    if app is not None:
        with contextlib.suppress(Exception):
            warm_up(app)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
