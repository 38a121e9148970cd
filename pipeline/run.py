"""``cassisjuice reduce``: raw IRS exposures to one product per position (issue 3, item 10).

1. ``grouping.scan_raw`` / ``group_positions``: unreadable or inconsistent files become
   *problems* of the run report, never exceptions;
2. the calibration: derived once from the standard-star positions and kept as
   ``OUT/calibration.json`` (reused on resume unless ``recalibrate``), or taken from a
   calibration file of another run (``calibration_file``: typically a calibration campaign,
   many standard-star AORs reduced on their own, as the SSC calibrated the whole mission
   on its standards rather than each program on the few it happened to contain);
3. every position not yet complete in OUT is reduced in parallel (a process pool, or a Dask
   cluster when a scheduler address is given); the parent writes each product as soon as
   it arrives (``products.write_product``, atomic), so an interrupted run keeps what it
   finished and a second run resumes where it stopped;
4. a failing position is recorded (ID, AOR, the exception's type and message) and the run
   goes on; ``OUT/run-report.json`` is rewritten atomically at the end, also after an
   interruption.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .calibration import Calibration, CalibrationError, derive_calibration, is_sky, is_standard
from .grouping import GroupingProblem, Position, group_positions, scan_raw
from .position import reduce_position
from .products import Product, clean_temporaries, is_complete, write_product
from .wavelength_calibration import is_wavelength_calibrator

__all__ = ["ReduceError", "RunReport", "reduce_atlas"]

log = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.json"
REPORT_FILE = "run-report.json"
#: how long a Dask scheduler that does not answer is waited for
DASK_CONNECT_TIMEOUT = "30s"


class ReduceError(RuntimeError):
    """The run cannot start: bad input or output location, no IRS data, no calibration."""


@dataclass
class RunReport:
    """What a run did; written to ``OUT/run-report.json``."""

    raw: str
    out: str
    positions: int = 0
    reduced: int = 0
    skipped: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    standards: list[str] = field(default_factory=list)
    calibration_reused: bool = False
    calibration_file: str | None = None
    seconds: float = 0.0
    positions_per_s: float = 0.0
    workers: str = ""
    interrupted: bool = False

    def summary(self) -> str:
        text = (f"reduced {self.reduced} of {self.positions} positions "
                f"({self.skipped} already done, {len(self.failures)} failed, "
                f"{len(self.problems)} unusable files) in {self.seconds:.1f} s "
                f"({self.positions_per_s:.2f} positions/s, {self.workers})")
        return text + ("; INTERRUPTED" if self.interrupted else "")

    def write(self, out: Path) -> None:
        _atomic_write(out / REPORT_FILE, json.dumps(asdict(self), indent=1) + "\n")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _reduce_one(position: Position, calibration: Calibration,
                reducer: Callable[..., Product]) -> tuple[str, Product | None, str | None]:
    """Runs in a worker: the product, or why it failed (never raises)."""
    try:
        return position.cj_id, reducer(position, calibration), None
    except Exception as exc:  # one failing position never stops the run
        log.debug("%s failed:\n%s", position.cj_id, traceback.format_exc())
        return position.cj_id, None, f"{type(exc).__name__}: {exc}"


def _calibration(out: Path, positions: list[Position], recalibrate: bool,
                 report: RunReport, given: Path | None = None) -> Calibration:
    path = out / CALIBRATION_FILE
    if given is not None:
        return _given_calibration(path, given, report)
    if path.exists() and not recalibrate:
        report.calibration_reused = True
        calibration = Calibration.from_json(path.read_text(encoding="utf-8"))
    else:
        standards = [p for p in positions if is_standard(p)]
        if not standards:
            raise ReduceError("no standard-star observation among the raw data: nothing to "
                              "calibrate with (give the standards' AORs, a calibration "
                              f"file with --calibration, or keep {CALIBRATION_FILE} from "
                              "an earlier run in --out)")
        try:
            calibration = derive_calibration(
                standards, skies=[p for p in positions if is_sky(p)],
                wavecals=[p for p in positions if is_wavelength_calibrator(p)])
        except CalibrationError as exc:
            raise ReduceError(str(exc)) from exc
        _atomic_write(path, calibration.to_json())
    report.standards = list(calibration.standards)
    return calibration


def _given_calibration(path: Path, given: Path, report: RunReport) -> Calibration:
    """The calibration of ``--calibration FILE``, copied to ``OUT/calibration.json``; refused
    when OUT already holds products made with another one (an atlas of mixed
    calibrations)."""
    try:
        text = given.read_text(encoding="utf-8")
        calibration = Calibration.from_json(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ReduceError(f"--calibration {given}: cannot read it ({exc})") from exc
    except CalibrationError as exc:
        raise ReduceError(f"--calibration {given}: {exc}") from exc
    if path.exists() and path.read_text(encoding="utf-8") != text and any(
            path.parent.glob("*.fits")):
        raise ReduceError(f"{path.parent} holds products made with another calibration "
                          f"({CALIBRATION_FILE}); reduce into an empty --out")
    _atomic_write(path, text)
    report.calibration_file = str(given)
    report.standards = list(calibration.standards)
    return calibration


def _results(todo: list[Position], calibration: Calibration, jobs: int,
             scheduler: str | None, reducer) -> Iterator[tuple[str, Product | None,
                                                             str | None]]:
    """Results as they complete: in this process, a process pool or a Dask cluster."""
    if scheduler:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed

        try:
            client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ReduceError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") \
                from exc
        with client:
            futures = [client.submit(_reduce_one, p, calibration, reducer, pure=False)
                       for p in todo]
            try:
                for future in dask_completed(futures):
                    yield future.result()
            finally:
                client.cancel(futures)
        return
    if jobs == 1:
        for position in todo:
            yield _reduce_one(position, calibration, reducer)
        return
    pool = ProcessPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(_reduce_one, p, calibration, reducer) for p in todo]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _require_distributed() -> None:
    """A Dask cluster needs dask.distributed, an optional extra of the package."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError as exc:
        raise ReduceError("--scheduler runs on a Dask cluster, which needs the optional "
                          "extra 'distributed': pip install \"cassisjuice-vo[distributed]\" "
                          "(from a checkout: pip install -e \".[distributed]\"); without "
                          f"it, leave --scheduler out for the process pool ({exc})") from None


def reduce_atlas(raw: str | os.PathLike[str], out: str | os.PathLike[str], *,
                 jobs: int | None = None, scheduler: str | None = None,
                 recalibrate: bool = False, calibration_file: str | os.PathLike[str] | None = None,
                 progress: bool = True,
                 reducer: Callable[..., Product] = reduce_position) -> RunReport:
    """Reduce every position under ``raw`` into ``out`` (see the module docstring)."""
    raw, out = Path(raw), Path(out)
    if calibration_file is not None and recalibrate:
        raise ReduceError("--calibration and --recalibrate exclude each other")
    if not raw.is_dir():
        raise ReduceError(f"{raw} is not a directory of raw IRS data")
    if out.exists() and not out.is_dir():
        raise ReduceError(f"--out {out} exists and is not a directory")
    if scheduler:
        _require_distributed()
    dces, problems = scan_raw(raw)
    if not dces:
        raise ReduceError(f"no IRS exposure found under {raw}"
                          + (f" ({len(problems)} unusable files)" if problems else ""))
    out.mkdir(parents=True, exist_ok=True)
    clean_temporaries(out, min_age_s=0.0)
    jobs = jobs or os.cpu_count() or 1
    report = RunReport(str(raw), str(out), workers=(scheduler and f"dask {scheduler}")
                       or f"{jobs} process{'es' if jobs > 1 else ''}")
    report.problems = [{"path": str(p.path), "reason": p.reason} for p in problems
                       if isinstance(p, GroupingProblem)]
    positions = group_positions(dces)
    report.positions = len(positions)
    start = time.perf_counter()
    try:
        calibration = _calibration(out, positions, recalibrate, report,
                                   calibration_file and Path(calibration_file))
        todo = [p for p in positions if not is_complete(out, p.cj_id)]
        report.skipped = len(positions) - len(todo)
        aor_of = {p.cj_id: p.aorkey for p in todo}
        bar = _progress(len(todo), progress)
        try:
            for cj_id, product, error in _results(todo, calibration, jobs, scheduler,
                                                  reducer):
                if product is not None:
                    write_product(product, out)
                    report.reduced += 1
                else:
                    report.failures.append({"cj_id": cj_id, "aorkey": aor_of[cj_id],
                                            "reason": error})
                    log.warning("%s failed: %s", cj_id, error)
                bar.update(1)
        finally:
            bar.close()
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        report.seconds = round(time.perf_counter() - start, 3)
        done = report.reduced + len(report.failures)
        report.positions_per_s = round(done / report.seconds, 3) if report.seconds else 0.0
        report.write(out)
    return report


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, wanted: bool):
    if not wanted or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="position", desc="reduce", file=sys.stderr)
