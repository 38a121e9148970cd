"""The store of the running app: given to ``create_app`` (tests) or opened once per process
from ``Settings.store_url``."""

from __future__ import annotations

import logging

from flask import Flask, current_app

from vo_service.store import Store, open_store

__all__ = ["close_store", "current_store", "store_available", "store_of"]

log = logging.getLogger(__name__)


def store_of(app: Flask) -> Store:
    """The app's store, opened on first use."""
    store = app.extensions.get("cassisjuice.store")
    if store is None:
        store = open_store(app.config["CASSISJUICE_SETTINGS"].store_url)
        app.extensions["cassisjuice.store"] = store
    return store


def current_store() -> Store:
    return store_of(current_app)


def store_available() -> tuple[bool, str]:
    """(available, note) for the VOSI availability documents (VOSI 1.1 sec. 3.2: a
    service SHOULD probe what it depends on): one small read from the store, every time.
    The note never names the database."""
    try:
        current_store().meta_value("data_version")
    except Exception as exc:  # any failure of the probe means: not available now
        log.warning("availability probe failed: %s", exc)
        return False, "the atlas database does not answer; the service is down until it does"
    return True, "the atlas database answers"


def close_store(app: Flask) -> None:
    """Close the connections of the store the app opened (a worker's exit)."""
    store = app.extensions.pop("cassisjuice.store", None)
    if store is not None:
        store.close()
