"""``cassisjuice ingest``: products into the store, atomically, idempotently, incrementally.

* **Atomic.** SQLite: the new atlas is built in a copy beside the published file and moved
  over it with one ``os.replace`` once complete, so readers see the old atlas or the new
  one, never a mixture, and a killed ingest leaves the old file untouched. PostgreSQL:
  everything happens in one transaction (PostgreSQL's DDL is transactional); a failure or a
  lost connection rolls it back.
* **One at a time.** Ingests of one store are serialised: SQLite by an exclusive ``flock``
  on ``<atlas>.ingest.lock`` beside the file (otherwise two ingests would each copy the
  same atlas and the second ``os.replace`` would drop the first one's IDs), PostgreSQL by
  a transaction-level advisory lock. A second ingest waits for the first, at most
  ``lock_wait_s``, then fails with a message saying so. Staging copies left by an ingest
  that was killed are removed by the next one.
* **Idempotent and incremental.** The SHA-256 of each product file is kept per ID
  (``store_state``): an unchanged ID is skipped, a changed one replaced, a new one added;
  IDs absent from PRODUCTS stay unless ``prune``.
* **Consistent.** Products are read only through ``pipeline.products`` (which validates
  them); an unreadable product stops the ingest with its name and nothing is published.

Real CASSIS files (``cassis_yaaar_*.fits``, ``cassis_tbl_*.tbl``) in the same directory are
read by ``store.cassis_files`` and published with provenance ``archive``.

The similarity matrices and the ``coverage``, ``object_names`` and ``lines`` tables are rebuilt
from the whole published atlas at the end (``store.derived``).

Rows: one ``positions`` row per ID, one ``spectra`` row and one ``spectrum_data`` row per
variant, one ``obscore`` row per selected spectrum, one ``features`` row per ID (measured
on its selected spectra, ``store.features_ingest``). ObsCore's ``access_url`` is stored
relative to the service (``datalink/links?ID=...``); the services prefix their public base
URL when they emit it.
"""

from __future__ import annotations

import csv
import fcntl
import glob
import hashlib
import logging
import math
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from pipeline.products import Product, ProductError, list_products, read_product
from vo_service.adql.schema import atlas_schema
from vo_service.metadata.rd import COLUMN_TYPES
from vo_service.protocols.tap_schema import write_tap_schema

from . import Store, encode_segments, open_store, quote_identifier
from .cassis_files import CassisFileError, read_cassis_directory
from .derived import rebuild_derived
from .features_ingest import feature_redshift, measure_rows, stale_feature_ids
from .healpix import healpix_index
from .moc_io import moc_fits_from_cells

__all__ = ["DEFAULT_LOCK_WAIT_S", "IngestError", "IngestReport", "ingest"]

log = logging.getLogger(__name__)

#: how long an ingest waits for another ingest of the same store before giving up
DEFAULT_LOCK_WAIT_S = 600.0
_LOCK_POLL_S = 0.1
#: the PostgreSQL advisory lock key of ingest (any fixed 64-bit number; per database)
_ADVISORY_KEY = 0x63_6A_69_6E_67_65_73_74  # "cjingest"

#: resolving power quoted in ObsCore per arm (irs.md: LR 60-130, HR 600)
_RES_POWER = {"LR": 100.0, "HR": 600.0}
_SLIT_WIDTH_ARCSEC = {"SL": 3.6, "LL": 10.5, "SH": 4.7, "LH": 11.1}
_MOC_ORDER = 12
#: positions whose features are measured together (a process pool's worth of work)
_FEATURE_BATCH = 256


class IngestError(RuntimeError):
    """Products that cannot be ingested (unreadable, inconsistent); nothing was published."""


@dataclass
class IngestReport:
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    xmatched: int = 0
    ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"ingested: {self.added} added, {self.replaced} replaced, {self.unchanged} "
                f"unchanged, {self.removed} removed, {self.xmatched} cross-identified")


def _did(authority: str, cj_id: str, arm: str) -> str:
    return f"ivo://{authority}/cassisjuice?{cj_id}/{arm}"


def _position(p: Product) -> tuple[float, float]:
    if math.isfinite(p.ra_deg) and math.isfinite(p.dec_deg):
        return p.ra_deg, p.dec_deg
    return p.ra_rqst_deg, p.dec_rqst_deg


def _finite(value: Any) -> Any:
    return float(value) if isinstance(value, float | int) and math.isfinite(value) else None


def _rows(p: Product, authority: str, obscore_constants: Mapping[str, Any]
          ) -> dict[str, list[dict[str, Any]]]:
    ra, dec = _position(p)
    hpx = int(healpix_index(ra, dec))
    meta = p.metadata
    best = {arm: p.best(arm) for arm in p.arms}
    lr, hr = meta.get("LR", {}), meta.get("HR", {})
    extent_meta = lr or hr
    catalog = {
        "cj_id": p.cj_id, "aorkey": p.aorkey, "pointing": p.pointing, "ra": ra, "dec": dec,
        "object_name": p.object_name, "simbad_name": meta.get("simbad_name"),
        "ned_name": meta.get("ned_name"),
        # products written before the key was named object_type call it objtype
        "object_type": meta.get("object_type") or meta.get("objtype"),
        "redshift": _finite(meta.get("redshift")), "has_lr": "LR" in p.arms,
        "has_hr": "HR" in p.arms, "extent_arcsec": _finite(extent_meta.get("extent_arcsec")),
        "extent_class": extent_meta.get("extent_class"),
        "snr_lr": _finite(best["LR"].snr) if best.get("LR") else None,
        "snr_hr": _finite(best["HR"].snr) if best.get("HR") else None,
        "obs_mjd": _finite(meta.get("mjd_obs")), "program_id": meta.get("program_id"),
        "provenance": "simulated" if p.simulated else "archive", "healpix": hpx}
    spectra, data, obscore = [], [], []
    for s in p.spectra:
        sid = f"{p.cj_id}/{s.key}"
        spectra.append({
            "spectrum_id": sid, "cj_id": p.cj_id, "arm": s.arm,
            "variant": s.key.split("/", 1)[1], "extraction": s.extraction,
            "background": s.background, "nods": s.nods, "calibration": s.calibration,
            "selected": int(s.selected),
            "selection_log": "\n".join(p.selection[s.arm].reasons)
            if s.selected and s.arm in p.selection else None, "ra": ra, "dec": dec,
            "wl_min": float(s.wavelength_um.min()), "wl_max": float(s.wavelength_um.max()),
            "n_points": s.n_points, "snr": _finite(s.snr), "healpix": hpx})
        data.append({
            "spectrum_id": sid,
            "wavelength": np.asarray(s.wavelength_um, "<f8").tobytes(),
            "flux": np.asarray(s.flux_jy, "<f8").tobytes(),
            "flux_error": np.asarray(s.flux_error_jy, "<f8").tobytes(),
            "flag": np.asarray(s.flag, "<i4").tobytes(),
            "segment": encode_segments(s.segment)})
        if s.selected:
            modules = [m for m in meta.get("modules", []) if (m in ("SL", "LL")) == (
                s.arm == "LR")] or (["SL"] if s.arm == "LR" else ["SH"])
            width = _SLIT_WIDTH_ARCSEC[modules[0]] / 3600.0
            did = _did(authority, p.cj_id, s.arm)
            times = meta.get(s.arm) if isinstance(meta.get(s.arm), dict) else {}
            t_min = _finite(times.get("t_min_mjd"))
            if t_min is None:  # a product that only knows when it started
                t_min = _finite(meta.get("mjd_obs"))
            t_max = _finite(times.get("t_max_mjd"))
            obscore.append({
                **obscore_constants,
                "dataproduct_subtype": f"{s.arm.lower()}-spectrum",
                "obs_collection": "CASSISjuice" if not p.simulated else
                "CASSISjuice-simulated",
                "obs_id": f"{p.cj_id}/{s.arm}", "obs_publisher_did": did,
                "access_url": "datalink/links?ID=" + quote(did, safe=""),
                "access_estsize": max(1, (s.n_points * 40) // 1024),
                "target_name": p.object_name, "s_ra": ra, "s_dec": dec, "s_fov": width,
                "s_region": f"Circle ICRS {ra:.7f} {dec:.7f} {width / 2:.7f}",
                "s_resolution": float(np.median(s.wavelength_um)) * 0.31,
                "s_xel1": 1, "s_xel2": 1, "t_min": t_min, "t_max": t_max,
                "t_exptime": _finite(times.get("exptime_s")),
                "t_resolution": None, "t_xel": 1,
                "em_min": float(s.wavelength_um.min()) * 1e-6,
                "em_max": float(s.wavelength_um.max()) * 1e-6,
                "em_res_power": _RES_POWER[s.arm], "em_xel": s.n_points,
                "pol_states": None, "pol_xel": None, "healpix": hpx})
    exposures = [{"cj_id": p.cj_id, "aorkey": p.aorkey, "file": e.get("file"),
                  "irs_module": e.get("module"), "subslit": e.get("subslit"),
                  "nod": e.get("nod"), "expid": e.get("expid"), "dcenum": e.get("dcenum"),
                  "mjd_obs": _finite(e.get("mjd_obs"))}
                 for e in meta.get("exposures", []) if isinstance(e, dict) and e.get("file")]
    return {"positions": [catalog], "spectra": spectra, "spectrum_data": data,
            "obscore": obscore, "exposures": exposures}


def _insert(store: Store, cur, table_id: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    names = list(rows[0])
    sql = (f"INSERT INTO {store.physical(table_id)} ({', '.join(map(quote_identifier, names))})"
           f" VALUES ({', '.join([store.mark] * len(names))})")
    cur.executemany(sql, [tuple(r[n] for n in names) for r in rows])


def _delete(store: Store, cur, cj_ids: Iterable[str]) -> None:
    ids = list(cj_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join([store.mark] * len(chunk))
        cur.execute(f"DELETE FROM {store.physical('spectrum_data')} WHERE spectrum_id IN "
                    f"(SELECT spectrum_id FROM {store.physical('spectra')} WHERE cj_id IN "
                    f"({marks}))", chunk)
        for table in ("spectra", "exposures", "positions", "features", "store_state"):
            cur.execute(f"DELETE FROM {store.physical(table)} WHERE cj_id IN ({marks})",
                        chunk)
        cur.execute(f"DELETE FROM {store.physical('obscore')} WHERE obs_id IN "
                    f"({', '.join([store.mark] * 2 * len(chunk))})",
                    [f"{c}/{arm}" for c in chunk for arm in ("LR", "HR")])


def _xmatch(path: Path) -> dict[str, dict[str, Any]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IngestError(f"cannot read the cross-identification table {path}: {exc}") \
            from exc
    if rows and "cj_id" not in rows[0]:
        raise IngestError(f"{path}: the cross-identification table needs a cj_id column")
    out = {}
    for line, row in enumerate(rows, start=2):
        try:
            redshift = float(row["redshift"]) if row.get("redshift") else None
        except ValueError:
            raise IngestError(f"{path}:{line}: redshift {row['redshift']!r} is not a "
                              "number") from None
        out[row["cj_id"]] = {"simbad_name": row.get("simbad_name") or None,
                             "ned_name": row.get("ned_name") or None,
                             "object_type": row.get("object_type") or None,
                             "redshift": redshift}
    return out


@dataclass(frozen=True)
class _Source:
    """One ID to ingest: its content hash and how to read it."""

    digest: str
    load: Callable[[], Product]
    name: str


def _sources(directory: Path) -> dict[str, _Source]:
    """Our products (``<ID>.fits``) and real CASSIS files (``cassis_*``) of a directory."""
    out: dict[str, _Source] = {}
    for cj_id in list_products(directory):
        path = directory / f"{cj_id}.fits"
        out[cj_id] = _Source(hashlib.sha256(path.read_bytes()).hexdigest(),
                             lambda path=path: read_product(path), path.name)
    try:
        for cj_id, product, digest in read_cassis_directory(directory):
            if cj_id in out:
                raise IngestError(f"{cj_id} is both a product and a CASSIS file in "
                                  f"{directory}; nothing was published")
            out[cj_id] = _Source(digest, lambda product=product: product,
                                 product.metadata["source_file"])
    except CassisFileError as exc:
        raise IngestError(f"{exc}; nothing was published") from exc
    return out


def _rename_catalog_table(store: Store, cur) -> None:
    """Stores written before the positions table had its published name kept it as
    ``catalog``: renamed once, so the rows stay and readers find them."""
    if store.dialect == "sqlite":
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                    "('cassisjuice_catalog', 'cassisjuice_positions')")
        old, new = "cassisjuice_catalog", "cassisjuice_positions"
    else:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                    "'cassisjuice' AND table_name IN ('catalog', 'positions')")
        old, new = "catalog", "positions"
    present = {row[0] for row in cur.fetchall()}
    if old in present and new not in present:
        cur.execute(f"ALTER TABLE {store.physical('catalog')} RENAME TO "
                    f"{quote_identifier(new)}")


def _add_declared_columns(store: Store, cur) -> None:
    """Add the resdir's optional columns that a store written by an earlier version lacks
    (CREATE TABLE IF NOT EXISTS leaves an existing table as it was); the rows of IDs not
    ingested again keep NULL there."""
    kind = 2 if store.dialect == "sqlite" else 3
    for table in store.resource.tables.values():
        name = store.physical(table.id)
        cur.execute(f"SELECT * FROM {name} WHERE 1 = 0")
        present = {d[0] for d in cur.description}
        for col in table.columns:
            if col.name not in present and not col.required:
                cur.execute(f"ALTER TABLE {name} ADD COLUMN {quote_identifier(col.name)} "
                            f"{COLUMN_TYPES[col.type][kind]}")


def _apply(store: Store, conn, products: Mapping[str, _Source], prune: bool,
           xmatch: Mapping[str, dict[str, Any]], authority: str) -> IngestReport:
    report = IngestReport()
    cur = conn.cursor()
    _rename_catalog_table(store, cur)
    for statement in store.ddl():
        cur.execute(statement)
    _add_declared_columns(store, cur)
    # product type, calibration level, facility... of every ObsCore row: q.rd's mixin
    constants = store.resource.table("obscore").obscore_constants()
    cur.execute(f"SELECT cj_id, content_hash FROM {store.physical('store_state')}")
    known = dict(cur.fetchall())
    pending: list[tuple[Product, float, str]] = []  # features to measure, in batches

    def measure_pending() -> None:
        _insert(store, cur, "features", measure_rows(pending))
        pending.clear()

    unchanged = []
    for cj_id, source in sorted(products.items()):
        digest = source.digest
        if known.get(cj_id) == digest:
            report.unchanged += 1
            unchanged.append(cj_id)
            continue
        try:
            product = source.load()
        except ProductError as exc:
            raise IngestError(f"{source.name}: {exc}; nothing was published") from exc
        if cj_id in known:
            _delete(store, cur, [cj_id])
            report.replaced += 1
        else:
            report.added += 1
        for table_id, rows in _rows(product, authority, constants).items():
            _insert(store, cur, table_id, rows)
        _insert(store, cur, "store_state", [{"cj_id": cj_id, "content_hash": digest}])
        report.ids.append(cj_id)
        pending.append((product, feature_redshift(product, xmatch), digest))
        if len(pending) >= _FEATURE_BATCH:
            measure_pending()
    measure_pending()
    _refresh_features(store, cur, products, unchanged, xmatch)
    if prune:
        gone = sorted(set(known) - set(products))
        _delete(store, cur, gone)
        report.removed = len(gone)
    for cj_id, values in xmatch.items():
        sets = ", ".join(f"{quote_identifier(k)} = {store.mark}" for k in values)
        cur.execute(f"UPDATE {store.physical('positions')} SET {sets} WHERE cj_id = "
                    f"{store.mark}", [*values.values(), cj_id])
        report.xmatched += max(cur.rowcount, 0)
    rebuild_derived(store, cur, _put_meta)
    _store_moc(store, cur)
    _put_meta(store, cur, "data_version", secrets.token_hex(8).encode())
    write_tap_schema(store, cur, atlas_schema(store).tables)
    return report


def _refresh_features(store: Store, cur, products: Mapping[str, _Source],
                      unchanged: list[str], xmatch: Mapping[str, dict[str, Any]]) -> None:
    """Measure the unchanged IDs that have no features row or another redshift now (the
    cross-identification's, else the catalogue's)."""
    if not unchanged:
        return
    cur.execute(f"SELECT cj_id, redshift FROM {store.physical('positions')}")
    catalogue = dict(cur.fetchall())
    wanted = {}
    for cj_id in unchanged:
        z = xmatch.get(cj_id, {}).get("redshift")
        z = catalogue.get(cj_id) if z is None else z
        wanted[cj_id] = float(z) if z is not None and math.isfinite(z) and z >= 0 else 0.0
    stale = sorted(stale_feature_ids(store, cur, wanted))
    for start in range(0, len(stale), _FEATURE_BATCH):
        chunk = stale[start:start + _FEATURE_BATCH]
        cur.execute(f"DELETE FROM {store.physical('features')} WHERE cj_id IN "
                    f"({', '.join([store.mark] * len(chunk))})", chunk)
        batch = []
        for cj_id in chunk:
            try:
                batch.append((products[cj_id].load(), wanted[cj_id], products[cj_id].digest))
            except ProductError as exc:
                raise IngestError(f"{products[cj_id].name}: {exc}; nothing was "
                                  "published") from exc
        _insert(store, cur, "features", measure_rows(batch))


def _store_moc(store: Store, cur) -> None:
    """The coverage MOC (order 12 cells of the positions) kept in ``store_meta``."""
    cur.execute(f"SELECT healpix FROM {store.physical('positions')}")
    cells = np.array([r[0] for r in cur.fetchall()], np.int64) >> (2 * (29 - _MOC_ORDER))
    if len(cells):
        _put_meta(store, cur, "coverage_moc", moc_fits_from_cells(cells, _MOC_ORDER))
    else:
        cur.execute(f"DELETE FROM {store.physical('store_meta')} WHERE key = {store.mark}",
                    ["coverage_moc"])


def _put_meta(store: Store, cur, key: str, value: bytes) -> None:
    """Set one ``store_meta`` entry (``data_version``: a new token per ingest, which tells
    a server's file cache that what it holds may be stale)."""
    cur.execute(f"DELETE FROM {store.physical('store_meta')} WHERE key = {store.mark}", [key])
    cur.execute(f"INSERT INTO {store.physical('store_meta')} (key, value) VALUES "
                f"({store.mark}, {store.mark})", [key, value])


def _analyze(store: Store, conn) -> None:
    """Planner statistics for what was just published, so that the first TAP queries on a
    new atlas are planned on its real row counts and value spreads (PostgreSQL's
    autovacuum would gather them only later; SQLite never does by itself). SQLite samples
    a bounded number of index rows (``analysis_limit``), which keeps it to a fraction of a
    second on an atlas."""
    cur = conn.cursor()
    if store.dialect == "postgresql":
        for table_id in store.resource.tables:
            cur.execute(f"ANALYZE {store.physical(table_id)}")
    else:
        cur.execute("PRAGMA analysis_limit = 1000")
        cur.execute("ANALYZE")
    cur.close()


def _vacuum(store: Store, conn) -> None:
    """PostgreSQL, once the ingest is committed: VACUUM the published tables, which marks
    their pages all-visible. Until then an index-only scan visits the table for every row
    and the planner, which counts all-visible pages, avoids it: a GROUP BY of the
    20,400-row catalogue took 4.7 ms by a sequential scan and hash aggregate against 2.2 ms
    by its column's index after the VACUUM (autovacuum would get there only later). VACUUM
    cannot run in a transaction block; a failure leaves the published atlas as it is."""
    conn.autocommit = True
    try:
        for table_id in store.resource.tables:
            conn.execute(f"VACUUM {store.physical(table_id)}")
    except Exception:  # e.g. a role that may not vacuum a table it does not own
        log.warning("VACUUM after the ingest failed; autovacuum will do it later",
                    exc_info=True)
    finally:
        conn.autocommit = False


def ingest(products_dir: str | os.PathLike[str], url: str, *,
           xmatch: str | os.PathLike[str] | None = None, prune: bool = False,
           authority: str = "cassisjuice.invalid",
           lock_wait_s: float = DEFAULT_LOCK_WAIT_S) -> IngestReport:
    """Publish the products of ``products_dir`` in the store at ``url`` (module docstring);
    waits at most ``lock_wait_s`` for another ingest of the same store to finish."""
    directory = Path(products_dir)
    if not directory.is_dir():
        raise IngestError(f"{directory} is not a directory of products")
    products = _sources(directory)
    if not products:
        raise IngestError(f"no product (<AORKEY>_<N>.fits) or CASSIS file in {directory}")
    cross = _xmatch(Path(xmatch)) if xmatch else {}
    store = open_store(url)
    if store.dialect == "postgresql":
        with closing(store.connect(readonly=False)) as conn:
            with conn.transaction():
                _advisory_lock(conn, lock_wait_s)
                report = _apply(store, conn, products, prune, cross, authority)
                _analyze(store, conn)
            _vacuum(store, conn)
            return report
    target = store.path
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target, lock_wait_s):
        _remove_stale_staging(target)
        staging = target.with_name(f"{_staging_prefix(target)}{os.getpid()}")
        try:
            if target.exists():
                shutil.copy2(target, staging)
            with closing(store.connect(readonly=False, path=staging)) as conn:
                report = _apply(store, conn, products, prune, cross, authority)
                _analyze(store, conn)
                conn.commit()
            with staging.open("rb") as fh:
                os.fsync(fh.fileno())
            staging.replace(target)
            return report
        finally:
            staging.unlink(missing_ok=True)


# ---------------------------------------------------------------------- one ingest at a time
def _busy(lock_wait_s: float, holder: str = "") -> IngestError:
    return IngestError(f"another ingest of this store is running{holder}; waited "
                       f"{lock_wait_s:g} s for it, nothing was published: try again when it "
                       "has finished")


@contextmanager
def _file_lock(target: Path, lock_wait_s: float) -> Iterator[None]:
    """An exclusive ``flock`` on ``<atlas>.ingest.lock`` beside the SQLite file, polled for
    at most ``lock_wait_s``. The kernel releases it when its holder dies, however it dies,
    so a killed ingest never blocks the next one. The file keeps the holder's pid (for the
    message only)."""
    path = target.with_name(target.name + ".ingest.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + lock_wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                    raise _busy(lock_wait_s, f" (pid {holder})" if holder.isdigit()
                                else "") from None
                time.sleep(_LOCK_POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _advisory_lock(conn, lock_wait_s: float) -> None:
    """PostgreSQL: a transaction-level advisory lock on the store's database (released at
    commit or rollback, or when the session dies), polled for at most ``lock_wait_s``."""
    deadline = time.monotonic() + lock_wait_s
    while not conn.execute("SELECT pg_try_advisory_xact_lock(%s)",
                           [_ADVISORY_KEY]).fetchone()[0]:
        if time.monotonic() >= deadline:
            raise _busy(lock_wait_s)
        time.sleep(_LOCK_POLL_S)


def _staging_prefix(target: Path) -> str:
    return f".{target.name}.ingest-"


def _remove_stale_staging(target: Path) -> None:
    """Staging copies left by ingests that died (their pid no longer runs): a killed ingest
    cannot clean up, and each leaves a full-size copy of the atlas (and SQLite's rollback
    journal of it, ``-journal``). Called with the ingest lock held."""
    prefix = _staging_prefix(target)
    for path in target.parent.glob(glob.escape(prefix) + "*"):
        pid = path.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and (int(pid) == os.getpid() or not _running(int(pid))):
            log.info("removing the staging copy %s of an ingest that died", path.name)
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
