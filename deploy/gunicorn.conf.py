"""gunicorn configuration of the production web workers.

    CASSISJUICE_CONFIG=/etc/cassisjuice/service.toml \
        gunicorn -c deploy/gunicorn.conf.py 'vo_service.wsgi:create()'

What each value does is explained in ``vo_service/wsgi.py`` (``DEFAULTS``, which this file
restates so that an operator reads them here). Every value can be overridden by a
``GUNICORN_<NAME>`` variable (e.g. ``GUNICORN_WORKERS=4``) or on gunicorn's command line.
Reload gracefully with ``kill -HUP <master pid>`` (``systemctl reload``).
"""

import os

from vo_service.wsgi import (
    DEFAULTS,
    child_exit,
    default_workers,
    post_worker_init,
    prepare_metrics_dir,
    worker_exit,
)

prepare_metrics_dir()  # PROMETHEUS_MULTIPROC_DIR (systemd: RuntimeDirectory), else a fresh one


def _env(name, default):
    raw = os.environ.get("GUNICORN_" + name.upper())
    if raw is None:
        return default
    return type(default)(raw) if raw else None  # empty: unset (e.g. no access log)


bind = _env("bind", "127.0.0.1:8000")  # nginx (deploy/nginx/) proxies to this
workers = _env("workers", default_workers())  # one per core
worker_class = _env("worker_class", DEFAULTS["worker_class"])
threads = _env("threads", DEFAULTS["threads"])
timeout = _env("timeout", DEFAULTS["timeout"])
graceful_timeout = _env("graceful_timeout", DEFAULTS["graceful_timeout"])
keepalive = _env("keepalive", DEFAULTS["keepalive"])
max_requests = _env("max_requests", DEFAULTS["max_requests"])
max_requests_jitter = _env("max_requests_jitter", DEFAULTS["max_requests_jitter"])
backlog = _env("backlog", DEFAULTS["backlog"])
preload_app = False  # each worker opens its own store connections (vo_service/wsgi.py)
forwarded_allow_ips = _env("forwarded_allow_ips", "127.0.0.1")
accesslog = _env("accesslog", "-")
errorlog = _env("errorlog", "-")
proc_name = "cassisjuice-vo"
control_socket_disable = DEFAULTS["control_socket_disable"]  # several servers per host

__all__ = ["child_exit", "post_worker_init", "worker_exit"]
