"""The store of the running app: given to ``create_app`` (tests) or opened once per process
from ``Settings.store_url``."""

from __future__ import annotations

from flask import Flask, current_app

from vo_service.store import Store, open_store

__all__ = ["current_store", "store_of"]


def store_of(app: Flask) -> Store:
    """The app's store, opened on first use."""
    store = app.extensions.get("cassisjuice.store")
    if store is None:
        store = open_store(app.config["CASSISJUICE_SETTINGS"].store_url)
        app.extensions["cassisjuice.store"] = store
    return store


def current_store() -> Store:
    return store_of(current_app)
