"""Typed settings of the service, from defaults, a TOML file and ``CASSISJUICE_*`` variables.

Later sources win: defaults < file (``--config``/``CASSISJUICE_CONFIG``) < environment <
explicit overrides (command-line options). Every advertised URL is built from
``base_url`` when it is set (the public address behind a reverse proxy, e.g.
``https://vo.example.org/cassisjuice``); otherwise from the request, trusting
``X-Forwarded-*`` headers of ``trust_proxy`` proxies, with the host only when it is one of
``allowed_hosts`` (comma-separated ``name[:port]``; the first is used for any other host;
empty: the server's own name and port and their loopback forms).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "Settings"]

_ENV_PREFIX = "CASSISJUICE_"


class ConfigError(ValueError):
    """A setting has a wrong name, type or value."""


@dataclass(frozen=True)
class Settings:
    """Service settings (units in the names)."""

    store_url: str = "sqlite:///demo-atlas/atlas.sqlite"
    #: PostgreSQL: the URL UWS job tables are kept through (the uws role of
    #: ``cassisjuice roles``); unset: store_url. SQLite keeps jobs beside the atlas file.
    jobs_store_url: str | None = None
    base_url: str | None = None
    trust_proxy: int = 0
    allowed_hosts: str = ""  # advertised hosts, "name[:port],..." (first: fallback); "": own
    authority: str = "cassisjuice.invalid"
    # a domain with a dot: OAI-PMH 2.0's schema refuses an adminEmail without one
    contact_email: str = "cassisjuice-vo@cassisjuice.invalid"
    default_maxrec: int = 10_000
    hard_maxrec: int = 1_000_000
    sync_timeout_s: float = 60.0
    async_execution_duration_s: int = 3600
    job_retention_s: int = 7 * 86400
    wait_cap_s: float = 60.0
    #: requests of a process that may block in a UWS WAIT at once (0: half its request
    #: threads); others return within half a second (web/tap_async.py)
    max_blocking_waits: int = 0
    #: UWS job threads of each server process; 0: the process only queues jobs, which
    #: ``cassisjuice jobs`` processes run (deploy/systemd/cassisjuice-jobs.service)
    uws_runner_threads: int = 2
    upload_limit_bytes: int = 20_000_000
    retry_after_s: int = 30  # Retry-After of the 503 answered while the store is unreachable
    #: hosts UPLOAD=name,http(s)://host/... may fetch from, comma-separated; empty (the
    #: default): upload by URL is off, inline uploads only (protocols/tap_upload.py)
    upload_url_hosts: str = ""
    upload_url_timeout_s: float = 10.0
    file_cache_bytes: int = 64_000_000  # served spectrum files kept per process; 0: off
    #: the Sesame name resolver /names may ask (e.g.
    #: https://cds.unistra.fr/cgi-bin/nph-sesame); empty (the default): stored names only
    sesame_url: str = ""
    sesame_timeout_s: float = 3.0
    #: where the portal's browser libraries are (Aladin Lite, sampjs: the node_modules
    #: directory deploy/install-web-assets.sh fills); "": the checkout's portal/node_modules
    web_assets_dir: str = ""

    def __post_init__(self) -> None:
        if self.base_url is not None:
            if not self.base_url.startswith(("http://", "https://")):
                raise ConfigError(f"base_url must start with http:// or https://, "
                                  f"not {self.base_url!r}")
            object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        for name in ("default_maxrec", "hard_maxrec", "upload_limit_bytes",
                     "async_execution_duration_s", "job_retention_s", "retry_after_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        if self.default_maxrec > self.hard_maxrec:
            raise ConfigError("default_maxrec exceeds hard_maxrec")
        if self.uws_runner_threads < 0:
            raise ConfigError("uws_runner_threads must be >= 0 (0: run no jobs here)")
        if self.max_blocking_waits < 0:
            raise ConfigError("max_blocking_waits must be >= 0 (0: half the threads)")
        if self.trust_proxy < 0:
            raise ConfigError("trust_proxy must be >= 0")
        if self.upload_url_timeout_s <= 0:
            raise ConfigError("upload_url_timeout_s must be positive")
        if self.sesame_url and not self.sesame_url.startswith(("http://", "https://")):
            raise ConfigError("sesame_url must start with http:// or https://")
        if self.sesame_timeout_s <= 0:
            raise ConfigError("sesame_timeout_s must be positive")
        if self.file_cache_bytes < 0:
            raise ConfigError("file_cache_bytes must be >= 0 (0 turns the cache off)")

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None,
             environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then the TOML file, then ``CASSISJUICE_<NAME>`` variables, then
        ``overrides`` (None values are ignored)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = path or environ.get(f"{_ENV_PREFIX}CONFIG")
        if path:
            try:
                values.update(tomllib.loads(Path(path).read_text(encoding="utf-8")))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read configuration {path}: {exc}") from exc
        for f in fields(cls):
            raw = environ.get(_ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **_typed(values))


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    known = {f.name: f for f in fields(Settings)}
    out = {}
    for name, value in values.items():
        if name not in known:
            raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(known))}")
        default = getattr(Settings(), name)
        kind = type(default) if default is not None else str
        if kind is str and isinstance(value, list | tuple):  # a TOML list of hosts
            value = ",".join(str(v) for v in value)
        try:
            out[name] = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {name} = {value!r} is not a {kind.__name__}") from None
    return out
