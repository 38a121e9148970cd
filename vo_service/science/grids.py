"""The similarity matrix: every selected spectrum of an arm on one rest-frame grid.

Built at ingest (:func:`build_grids`, from the spectra just published) and kept in the
store's ``store_meta`` table (key ``grid:<ARM>``, an uncompressed ``.npz``), so it is
replaced in the same transaction or file swap as the atlas it was made from, and a
PostgreSQL store carries it like an SQLite one. Each spectrum is moved to its rest frame
with the catalogue's redshift (0 when the position has none) and resampled with flux
conservation (:mod:`.resample`) onto the arm's logarithmic grid (``resample.GRIDS``);
flux densities keep their observed-frame values (a stack or a comparison normalises
them, so the (1+z) factor of F_nu cancels).

A server process loads an arm's matrix once (:func:`grids_of`, keyed by the store's
``data_version`` so a new ingest is picked up) and keeps it prepared for a query's one
pass, laid out grid bin by spectrum (each window is a run of whole rows, so a windowed
query reads only its rows):

* ``iv``   1/sigma^2 (0 where the spectrum has no value), ``ivf`` F/sigma^2;
* ``cum_ivf2``, ``cum_valid``: running sums over the bins of F^2/sigma^2 and of the
  bins with a value, so those sums over any run of bins are one subtraction.

All in float64: a chi^2 is a small difference of large sums (sum F^2/sigma^2 is N SNR^2
per spectrum). With float32 sums a bright spectrum of the benchmark atlas (16157952_0,
SNR 1700 per bin) was not even among the best 200 of its own query, and float32 sums in
blocks of 8 bins still differed from float64 by up to 4 per bin.
Memory: 3 x 8 + 4 bytes per bin and spectrum, 110 MB for 17,214 LR spectra on 227 bins.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .resample import GRIDS, LogGrid, resample

__all__ = ["ArmGrid", "build_grids", "grid_bytes", "grids_of", "load_grid", "rest_frame"]

log = logging.getLogger(__name__)

META_KEY = "grid:{arm}"
_LOCK = threading.Lock()


def rest_frame(wave_um, flux, error, redshift: float | None, grid: LogGrid
               ) -> tuple[np.ndarray, np.ndarray]:
    """A spectrum on ``grid`` in its rest frame (``redshift`` None: 0)."""
    z = redshift if redshift is not None and np.isfinite(redshift) else 0.0
    return resample(np.asarray(wave_um) / (1.0 + z), flux, error, grid.edges_um)


def build_grids(rows: Iterable[tuple[str, str, float | None, np.ndarray, np.ndarray,
                                     np.ndarray]]) -> dict[str, bytes]:
    """The serialised matrix of each arm from ``(cj_id, arm, redshift, wavelength_um,
    flux, error)`` rows of the selected spectra."""
    ids: dict[str, list[str]] = {arm: [] for arm in GRIDS}
    redshifts: dict[str, list[float]] = {arm: [] for arm in GRIDS}
    fluxes: dict[str, list[np.ndarray]] = {arm: [] for arm in GRIDS}
    errors: dict[str, list[np.ndarray]] = {arm: [] for arm in GRIDS}
    for cj_id, arm, z, wave, flux, err in rows:
        if arm not in GRIDS:
            continue
        f, e = rest_frame(wave, flux, err, z, GRIDS[arm])
        ids[arm].append(cj_id)
        redshifts[arm].append(np.nan if z is None else float(z))
        fluxes[arm].append(f.astype(np.float32))
        errors[arm].append(e.astype(np.float32))
    out = {}
    for arm, grid in GRIDS.items():
        n = len(ids[arm])
        flux = np.array(fluxes[arm], np.float32).reshape(n, grid.n)
        err = np.array(errors[arm], np.float32).reshape(n, grid.n)
        out[META_KEY.format(arm=arm)] = grid_bytes(grid, ids[arm], redshifts[arm], flux, err)
    return out


def grid_bytes(grid: LogGrid, ids: list[str], redshifts: list[float], flux: np.ndarray,
               error: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, ids=np.array(ids, dtype="U32"), redshift=np.array(redshifts, float),
             flux=flux, error=error,
             grid=np.array([grid.start_um, grid.stop_um, grid.dln]))
    return buf.getvalue()


@dataclass(frozen=True, eq=False)
class ArmGrid:
    """One arm's matrix, prepared for queries (module docstring)."""

    grid: LogGrid
    ids: np.ndarray
    redshift: np.ndarray
    iv: np.ndarray
    ivf: np.ndarray
    cum_ivf2: np.ndarray
    cum_valid: np.ndarray
    row_of: dict[str, int]
    #: rows that may be matched (None: all); False for spectra without a continuum in
    #: the continuum-normalised view (science.continuum)
    usable: np.ndarray | None = None
    #: views derived from this one, built on first use (science.continuum)
    derived: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.ids)

    def spectrum(self, cj_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The rest-frame flux and error of one position on the grid (NaN: no value)."""
        row = self.row_of.get(cj_id)
        if row is None:
            return None
        return self.columns(np.array([row]))

    def columns(self, rows: np.ndarray, bins: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Flux and error of several spectra, (bins, len(rows)), NaN where undefined;
        only the ``bins`` given (indices), or all."""
        pick = np.ix_(np.arange(self.grid.n) if bins is None else bins, rows)
        iv = self.iv[pick]
        with np.errstate(divide="ignore", invalid="ignore"):
            flux = np.where(iv > 0, self.ivf[pick] / iv, np.nan)
            err = np.where(iv > 0, 1.0 / np.sqrt(iv), np.nan)
        return (flux[:, 0], err[:, 0]) if len(rows) == 1 else (flux, err)


def load_grid(data: bytes, arm: str) -> ArmGrid:
    """An :class:`ArmGrid` from its serialised form."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        start, stop, dln = (float(v) for v in npz["grid"])
        grid = LogGrid(arm, start, stop, dln)
        flux = npz["flux"].T  # (bins, spectra)
        err = npz["error"].T
        ids = npz["ids"]
        redshift = npz["redshift"]
    ok = np.isfinite(flux) & np.isfinite(err) & (err > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        iv = np.ascontiguousarray(np.where(ok, 1.0 / np.square(err.astype(np.float64)), 0.0))
    f = np.where(ok, flux.astype(np.float64), 0.0)
    ivf = np.ascontiguousarray(iv * f)
    zero = np.zeros((1, len(ids)))
    cum_ivf2 = np.concatenate([zero, np.cumsum(ivf * f, axis=0)])
    cum_valid = np.concatenate([zero.astype(np.int32), np.cumsum(ok, axis=0,
                                                                  dtype=np.int32)])
    return ArmGrid(grid, ids, redshift, iv, ivf, cum_ivf2, cum_valid,
                   {str(c): i for i, c in enumerate(ids)})


def grids_of(store, arm: str) -> ArmGrid | None:
    """The prepared matrix of ``arm`` for ``store``, loaded once per process and data
    version; None when the atlas has none (nothing ingested with this version)."""
    version = store.data_version()
    cache = getattr(store, "_similarity_grids", None)
    if cache is None or cache[0] != version:
        cache = (version, {})
    if arm not in cache[1]:
        with _LOCK:
            data = store.meta_value(META_KEY.format(arm=arm))
            cache[1][arm] = load_grid(data, arm) if data else None
            store._similarity_grids = cache
    return cache[1][arm]
