"""The errors of the store (re-exported by ``vo_service.store``)."""

from __future__ import annotations

__all__ = ["QueryTimeoutError", "StoreError", "StoreUnavailableError"]


class StoreError(RuntimeError):
    """The store cannot be opened or is not an atlas store."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached now (database server down or restarting, atlas file
    missing): transient, so the services answer 503 with Retry-After. The message is for
    logs and the command line; the services never show it (it names the database)."""


class QueryTimeoutError(StoreError):
    """A read-only query ran past its time limit and was cancelled."""
