"""The service under gunicorn: the app factory and the worker hooks.

``gunicorn -c deploy/gunicorn.conf.py 'vo_service.wsgi:create()'`` (what the systemd unit
runs) and ``cassisjuice serve --server gunicorn`` both come here. Settings come from
``CASSISJUICE_CONFIG`` (a TOML file) and ``CASSISJUICE_*`` variables (``vo_service/config.py``).

Each worker process builds its own app (no ``preload_app``: a store connection or a
thread made before the fork would be shared by every worker), opens its own store
connections and runs a UWS job runner: jobs live in the store, so any worker (of any host)
serves any job and a worker's death leaves its EXECUTING jobs to the others' heartbeat
recovery (``protocols/uws.py``).

Metrics (``web/metrics.py``) are kept per worker in ``PROMETHEUS_MULTIPROC_DIR`` (set
before prometheus-client is first imported: ``deploy/gunicorn.conf.py`` and ``serve``
make a fresh directory when it is unset), so ``/metrics`` of any worker adds up all.

gunicorn rather than the earlier hand-written pre-fork loop: it replaces a worker that dies
or stops answering (``timeout``), restarts workers after ``max_requests`` (with jitter, so
they do not all restart at once), reloads gracefully on SIGHUP and stops on SIGTERM after
``graceful_timeout``. The threaded worker (``gthread``) keeps a UWS WAIT or a long
download from holding a whole process; its parser accepts chunked request bodies and sets
``wsgi.input_terminated``, so TOPCAT's streamed uploads arrive whole (clients.md sec. 9 A.4).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .config import Settings

__all__ = ["DEFAULTS", "child_exit", "create", "default_workers", "post_worker_init",
           "prepare_metrics_dir", "worker_exit"]


#: the production settings of gunicorn, shared by ``deploy/gunicorn.conf.py`` and
#: ``cassisjuice serve --server gunicorn``; ``workers`` defaults to the number of cores
#: (requests are CPU-bound Python: ADQL translation and result encoding)
DEFAULTS: dict[str, Any] = {
    "worker_class": "gthread",
    "threads": 8,
    "timeout": 60,  # a worker silent this long (s) is killed and replaced
    "graceful_timeout": 30,  # in-flight requests get this long (s) on reload or stop
    "keepalive": 5,
    "max_requests": 20_000,  # a worker is replaced after this many requests ...
    "max_requests_jitter": 2_000,  # ... plus up to this many, so not all at once
    "backlog": 1024,
    # gunicorn >= 25 opens a control socket in $HOME by default: several servers on one
    # host (tests, app hosts side by side) would fight over it
    "control_socket_disable": True,
}


def default_workers() -> int:
    return os.cpu_count() or 1


def create(settings: Settings | None = None):
    """The WSGI application of one gunicorn worker (``vo_service.wsgi:create()``)."""
    from .app import create_app  # not at import: the master imports this module first

    return create_app(settings or Settings.load())


def prepare_metrics_dir() -> str:
    """``PROMETHEUS_MULTIPROC_DIR``, made fresh when unset (prometheus-client's multiprocess
    mode: each worker writes its own files, any worker's ``/metrics`` sums them). Called
    in gunicorn's master before any worker imports prometheus-client."""
    import tempfile

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="cassisjuice-metrics-")
    Path(path).mkdir(parents=True, exist_ok=True)
    return path


def post_worker_init(worker) -> None:
    """gunicorn hook, in each worker once its app is loaded: the app is prepared as every
    serving process's is (``vo_service.serving.prepare_app``: thread count, address, UWS
    runner) and tuned for serving (warm-up, ``gc.freeze()``) after the fork."""
    from .serving import prepare_app, tune_for_serving

    app = worker.wsgi
    address = worker.cfg.address[0] if worker.cfg.address else None
    # (host, port); a unix socket or fd is a string/int
    prepare_app(app, address[0] if isinstance(address, tuple) else None,
                worker.cfg.threads)
    tune_for_serving(app)


def child_exit(server, worker) -> None:
    """gunicorn hook, in the master when a worker has gone: its live gauges are dropped
    from the multiprocess metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker) -> None:
    """gunicorn hook: the worker's job runner and store connections are closed."""
    from .web.stores import close_store
    from .web.tap_async import close_jobs

    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        close_jobs(app)
        close_store(app)
