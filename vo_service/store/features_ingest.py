"""The ``features`` rows of ingest: features measured on each position's selected spectra.

One row per position (``pipeline.features.measure_position``: broad features from the LR
spectrum, each line from the arm that measures it best), at the catalogue's redshift: the
cross-identification table's when it gives one, else the product's, else 0 (observed
frame). A position whose product is unchanged is measured again when it has no row yet (an
atlas ingested before the table existed) or when its redshift changed.

Measuring costs ~0.1 s a position (``benchmarks/results/features/``), so more than
``_PARALLEL_FROM`` positions are measured in a pool of worker processes (spawned: the
parent holds database connections a fork would share).
"""

from __future__ import annotations

import logging
import math
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np

from pipeline.features import Spectrum1D, columns, measure_position
from pipeline.products import Product

__all__ = ["feature_redshift", "measure_rows", "stale_feature_ids"]

log = logging.getLogger(__name__)

_PARALLEL_FROM = 64
_MAX_WORKERS = 4


def feature_redshift(product: Product, xmatch: Mapping[str, dict[str, Any]]) -> float:
    """The redshift the features of ``product`` are measured at (module docstring)."""
    for value in (xmatch.get(product.cj_id, {}).get("redshift"),
                  product.metadata.get("redshift")):
        if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
            return float(value)
    return 0.0


def _selected(product: Product) -> dict[str, Spectrum1D]:
    out = {}
    for arm in product.arms:
        s = product.best(arm)
        if s is not None:
            out[arm] = Spectrum1D(s.wavelength_um, s.flux_jy, s.flux_error_jy)
    return out


def _measure(task: tuple[str, dict[str, Spectrum1D], float]) -> dict[str, Any]:
    cj_id, spectra, z = task
    try:
        return measure_position(cj_id, spectra, redshift=z)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        # one spectrum the decomposition cannot handle must not stop an atlas's ingest:
        # its position gets a row of NULLs (not measured), and the log says why
        log.warning("features of %s not measured: %s", cj_id, exc)
        return {**{c.name: None for c in columns()}, "cj_id": cj_id, "redshift": z}


#: rows measured recently, by (product content hash, redshift): the same file at the same
#: redshift has the same features, so ingesting it into another store (SQLite and
#: PostgreSQL, a staging copy, a test's fresh atlas) does not measure it again; bounded
#: (a row is ~10 kB)
_RECENT: OrderedDict[tuple[str, float], dict[str, Any]] = OrderedDict()
_RECENT_MAX = 2048


def measure_rows(items: Iterable[tuple[Product, float, str]]) -> list[dict[str, Any]]:
    """The features rows of (product, redshift, content hash) triples, in a process pool
    when many."""
    items = list(items)
    todo = [(p.cj_id, _selected(p), z) for p, z, digest in items
            if (digest, z) not in _RECENT]
    if len(todo) < _PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        measured = [_measure(t) for t in todo]
    else:
        workers = min(_MAX_WORKERS, os.cpu_count() or 1)
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            measured = list(pool.map(_measure, todo, chunksize=16))
    fresh = {row["cj_id"]: row for row in measured}
    out = []
    for product, z, digest in items:
        row = fresh.get(product.cj_id)
        if row is None:
            row = _RECENT[(digest, z)]
            _RECENT.move_to_end((digest, z))
        else:
            _RECENT[(digest, z)] = row
            while len(_RECENT) > _RECENT_MAX:
                _RECENT.popitem(last=False)
        out.append({**row, "cj_id": product.cj_id})
    return out


def stale_feature_ids(store, cur, wanted: Mapping[str, float]) -> set[str]:
    """IDs of ``wanted`` (ID -> redshift) whose stored features are missing or were
    measured at another redshift."""
    cur.execute(f"SELECT cj_id, redshift FROM {store.physical('features')}")
    have = {cj_id: z for cj_id, z in cur.fetchall()}
    return {cj_id for cj_id, z in wanted.items()
            if cj_id not in have or have[cj_id] is None or abs(have[cj_id] - z) > 1e-9}
