"""The store of the running app: given to ``create_app`` (tests) or opened once per process
from ``Settings.store_url``."""

from __future__ import annotations

from flask import current_app

from vo_service.store import Store, open_store

__all__ = ["current_store"]


def current_store() -> Store:
    store = current_app.extensions.get("cassisjuice.store")
    if store is None:
        store = open_store(current_app.config["CASSISJUICE_SETTINGS"].store_url)
        current_app.extensions["cassisjuice.store"] = store
    return store
