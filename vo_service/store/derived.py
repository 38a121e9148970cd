"""What ingest derives from the whole published atlas, rebuilt at the end of every ingest
(inside its transaction or staging copy, so readers see it change with the atlas):

* the similarity matrix of each arm (``science.grids``, in ``store_meta``);
* ``coverage``: one row per segment (order) of every selected spectrum: observed and
  rest-frame wavelength range, resolving power at both ends, median SNR, for the
  line-coverage search and ADQL;
* ``object_names``: every name of every position with its normalised key (``science.names``);
* ``lines``: the line list (``science.lines``).

Rebuilt rather than updated per ID because a cross-identification (a redshift, a SIMBAD
name) can change any position without its product changing. Cost: one pass over the
selected spectra's arrays, 25 s for the 25,657 of a 20,400-position atlas (measured on
the shared project VM, load average 5-8).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from pipeline.instrument.model import HR_RESOLVING_POWER, LR_R_PER_UM

from ..science.grids import build_grids
from ..science.lines import line_list
from ..science.names import name_key
from . import Store, decode_segments, quote_identifier

__all__ = ["rebuild_derived"]

log = logging.getLogger(__name__)
_FETCH = 500


def _resolving_power(segment: str, wavelength_um: float) -> float:
    per_um = LR_R_PER_UM.get(segment)
    return per_um * wavelength_um if per_um is not None else HR_RESOLVING_POWER


def _selected(store: Store, conn) -> Iterator[tuple]:
    """The selected spectra with their arrays, a few hundred at a time (PostgreSQL: a
    server-side cursor; a client-side one would hold the whole atlas in memory)."""
    cur = conn.cursor(name="cj_derived") if store.dialect == "postgresql" else conn.cursor()
    cur.execute(
        f"SELECT s.spectrum_id, s.cj_id, s.arm, c.redshift, d.wavelength, d.flux, "
        f"d.flux_error, d.segment FROM {store.physical('spectra')} AS s JOIN "
        f"{store.physical('spectrum_data')} AS d ON d.spectrum_id = s.spectrum_id JOIN "
        f"{store.physical('positions')} AS c ON c.cj_id = s.cj_id WHERE s.selected = 1 "
        "ORDER BY s.arm, s.cj_id")
    try:
        while rows := cur.fetchmany(_FETCH):
            yield from rows
    finally:
        cur.close()


def _coverage_rows(spectrum_id: str, cj_id: str, arm: str, redshift: float | None,
                   wave: np.ndarray, flux: np.ndarray, err: np.ndarray,
                   segment: np.ndarray) -> list[dict[str, Any]]:
    z = redshift if redshift is not None else 0.0
    out = []
    for name in dict.fromkeys(segment.tolist()):
        pick = (segment == name) & np.isfinite(wave)
        if not pick.any():
            continue
        w = wave[pick]
        with np.errstate(divide="ignore", invalid="ignore"):
            snr = flux[pick] / err[pick]
        snr = snr[np.isfinite(snr)]
        low, high = float(w.min()), float(w.max())
        out.append({"spectrum_id": spectrum_id, "cj_id": cj_id, "arm": arm,
                    "segment": name, "wl_min": low, "wl_max": high,
                    "rest_wl_min": low / (1 + z), "rest_wl_max": high / (1 + z),
                    "res_power_min": _resolving_power(name, low),
                    "res_power_max": _resolving_power(name, high),
                    "snr": float(np.median(snr)) if len(snr) else None})
    return out


def _replace(store: Store, cur, table_id: str, rows: list[dict[str, Any]]) -> None:
    cur.execute(f"DELETE FROM {store.physical(table_id)}")
    if not rows:
        return
    names = list(rows[0])
    cur.executemany(
        f"INSERT INTO {store.physical(table_id)} "
        f"({', '.join(map(quote_identifier, names))}) VALUES "
        f"({', '.join([store.mark] * len(names))})",
        [tuple(r[n] for n in names) for r in rows])


def _name_rows(store: Store, cur) -> list[dict[str, Any]]:
    cur.execute(f"SELECT cj_id, object_name, simbad_name, ned_name FROM "
                f"{store.physical('positions')}")
    out = []
    for cj_id, *names in cur.fetchall():
        for source, name in zip(("observer", "simbad", "ned"), names, strict=True):
            key = name_key(name)
            if key:
                out.append({"cj_id": cj_id, "name": name, "name_key": key,
                            "source": source})
    return out


def rebuild_derived(store: Store, cur, put_meta) -> None:
    """Rewrite the derived tables and matrices (module docstring); ``put_meta(cur, key,
    value)`` stores one ``store_meta`` entry."""
    coverage: list[dict[str, Any]] = []

    def spectra():
        for sid, cj_id, arm, z, wl, flux, err, segment in _selected(store, cur.connection):
            wave = np.frombuffer(bytes(wl), "<f8")
            f = np.frombuffer(bytes(flux), "<f8")
            e = np.frombuffer(bytes(err), "<f8")
            coverage.extend(_coverage_rows(sid, cj_id, arm, z, wave, f, e,
                                           decode_segments(segment)))
            yield cj_id, arm, z, wave, f, e

    grids = build_grids(spectra())
    for key, value in grids.items():
        put_meta(store, cur, key, value)
    _replace(store, cur, "coverage", coverage)
    _replace(store, cur, "object_names", _name_rows(store, cur))
    _replace(store, cur, "lines", [line.row() for line in line_list()])
    log.info("derived: %d coverage rows, matrices %s", len(coverage),
             ", ".join(f"{k} {len(v) // 1_000_000} MB" for k, v in grids.items()))
