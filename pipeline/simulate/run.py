"""``cassisjuice simulate``: build a simulated raw tree (or products) and its truth.

The whole output is built in a hidden sibling directory and renamed into place at the end,
so an interrupted or failed run never leaves a half-written tree where the user asked for
one; arguments are checked before anything is created.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from pipeline import __version__

from .observe import AORPlan, plan_observations
from .sample import sky_sample

__all__ = ["SimulationError", "SimulationReport", "simulate"]

log = logging.getLogger(__name__)

LEVELS = ("raw", "products")
MAX_POSITIONS = 2_000_000
#: standard-star AORs a simulation includes at least, unless told otherwise
DEFAULT_STANDARDS = 2


class SimulationError(ValueError):
    """Bad arguments or an unusable output directory; nothing was written."""


@dataclass(frozen=True)
class SimulationReport:
    out: Path
    level: str
    positions: int
    aors: int
    files: int
    seconds: float

    def summary(self) -> str:
        rate = self.positions / self.seconds if self.seconds > 0 else float("inf")
        return (f"simulated {self.positions} positions in {self.aors} AORs ({self.level} level, "
                f"{self.files} files) into {self.out} in {self.seconds:.1f} s "
                f"({rate:.1f} positions/s)")


def _check(out: Path, positions: int, seed: int, level: str, jobs: int,
           standards: int) -> None:
    if level not in LEVELS:
        raise SimulationError(f"--level must be one of {', '.join(LEVELS)}, not {level!r}")
    if not 1 <= positions <= MAX_POSITIONS:
        raise SimulationError(f"--positions must be between 1 and {MAX_POSITIONS}, "
                              f"not {positions}")
    if seed < 0:
        raise SimulationError(f"--seed must be >= 0, not {seed}")
    if jobs < 1:
        raise SimulationError(f"--jobs must be >= 1, not {jobs}")
    if not 0 <= standards <= positions:
        raise SimulationError(f"--standards must be between 0 and --positions ({positions}), "
                              f"not {standards}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SimulationError(f"{out} exists and is not an empty directory; "
                              "choose another --out or remove it")
    if not out.parent.exists():
        raise SimulationError(f"parent directory {out.parent} does not exist")


def _raw_worker(args: tuple[AORPlan, Path, int]) -> tuple[int, dict]:
    from .raw import write_aor  # imported in the worker: keeps the parent light

    plan, root, seed = args
    return write_aor(plan, root, seed)


def _products_worker(args: tuple[AORPlan, Path, int]) -> tuple[int, dict]:
    from .products_level import write_aor_products

    plan, root, seed = args
    return write_aor_products(plan, root, seed)


def _run(tasks, worker, jobs: int, progress: bool, total: int) -> Iterator[tuple[int, dict]]:
    bar = tqdm(total=total, unit="AOR", disable=not progress, desc="simulate")
    try:
        if jobs == 1:
            for task in tasks:
                yield worker(task)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for result in pool.map(worker, tasks, chunksize=4):
                    yield result
                    bar.update()
    finally:
        bar.close()


def simulate(out: str | Path, positions: int, seed: int, *, level: str = "raw",
             jobs: int = 1, progress: bool = False,
             standards: int = DEFAULT_STANDARDS, skies: int = 0, wavecals: bool = False,
             instrument: int | None = None) -> SimulationReport:
    """Simulate ``positions`` targeted positions into ``out``.

    Parameters
    ----------
    out : path
        Output directory; must not exist or be empty. Raw level writes ``out/raw`` and
        ``out/truth``; products level writes ``out/products`` and ``out/truth``.
    positions : int
        Number of targeted positions (CASSISjuice IDs).
    seed : int
        Same seed, same files.
    level : {'raw', 'products'}
    jobs : int
        Worker processes.
    progress : bool
        Show a progress bar on stderr.
    standards : int
        Standard-star AORs to include at least (targets are turned into standards when the
        sample has fewer). ``standards == positions`` simulates a calibration campaign: only
        standard stars, from which ``cassisjuice reduce`` derives a calibration that other
        runs take with ``--calibration``, as the SSC calibrated the whole mission on its
        standards.
    skies : int
        Blank-sky AORs (SH and LH) to add, named ``IRS sky field NN``: with the standards,
        a calibration campaign's fields of zodiacal light alone, from which the reduction
        learns how a uniform sky fills the HR slits (``pipeline.calibration``).
    wavecals : bool
        Add the wavelength calibrator (``NGC 6543``), observed with every module once in
        every campaign of the mission: with the standards, the AORs from which the
        reduction measures each campaign's wavelength zero point of each module.
    instrument : int, optional
        The simulated instrument (its per-campaign wavelength zero points; ``seed`` when
        not given): a calibration campaign for a science run takes that run's seed, as
        both observe the same instrument.

    Raises
    ------
    SimulationError
        For bad arguments or an output directory in the way (nothing is written).
    """
    out = Path(out)
    _check(out, positions, seed, level, jobs, standards)
    if not 0 <= skies <= MAX_POSITIONS:
        raise SimulationError(f"--skies must be between 0 and {MAX_POSITIONS}, not {skies}")
    if instrument is not None and instrument < 0:
        raise SimulationError(f"--instrument must be >= 0, not {instrument}")
    started = time.perf_counter()
    work = out.parent / f".{out.name}.partial-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    try:
        data_dir = work / ("raw" if level == "raw" else "products")
        data_dir.mkdir(parents=True)
        (work / "truth").mkdir()
        targets = sky_sample(positions, seed)
        # the products level needs the exposures' times too (for its products' metadata)
        plans = plan_observations(targets, seed, min_standards=standards, skies=skies,
                                  wavecals=wavecals, instrument=instrument)
        worker = _raw_worker if level == "raw" else _products_worker
        tasks = ((plan, data_dir, seed) for plan in plans)
        n_files = 0
        rows = []
        with (work / "truth" / "aors.jsonl").open("w") as records:
            for n_written, truth in _run(tasks, worker, jobs, progress, len(plans)):
                n_files += n_written
                records.write(json.dumps(truth, separators=(",", ":")) + "\n")
                rows.extend(_summary_rows(truth))
        _write_summary(work / "truth", rows, seed, level)
        if out.exists():
            out.rmdir()
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return SimulationReport(out, level, positions, len(plans), n_files,
                            time.perf_counter() - started)


def _summary_rows(truth: dict) -> list[dict]:
    rows = []
    for pointing in truth["pointings"]:
        target = pointing["target"]
        rows.append({
            "cj_id": pointing["cj_id"],
            "aorkey": truth["aorkey"],
            "object_name": target["object_name"],
            "ra_deg": f"{pointing['source']['ra_deg']:.7f}",
            "dec_deg": f"{pointing['source']['dec_deg']:.7f}",
            "spectral_class": target["spectral_class"],
            "extent": target["extent"],
            "fwhm_arcsec": f"{target['fwhm_arcsec']:.2f}",
            "shape": pointing["source"]["morphology"]["shape"],
            "components": ";".join(
                f"{c['profile']}:{c['fwhm_arcsec']:.2f}:{c['fraction']:.3f}"
                for c in pointing["source"]["morphology"]["components"]),
            "half_light_radius_arcsec":
                f"{pointing['source']['half_light_radius_arcsec']:.2f}",
            "redshift": f"{pointing['source']['spectrum']['redshift']:.5f}",
            "flux_15um_jy": f"{pointing['flux_15um_jy']:.6g}",
            "modules": "+".join(s["module"] for s in truth["setups"]),
            "standard": int(truth["standard"]),
            "contaminated": ";".join(pointing["contaminated"]),
            "neighbours": ";".join(
                f"{n['separation_arcsec']:.1f}:{n['flux_ratio_15um']:.3f}:{n['note']}"
                for n in pointing["neighbours"]),
        })
    return rows


def _write_summary(truth_root: Path, rows: list[dict], seed: int, level: str) -> None:
    with (truth_root / "positions.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["cj_id"])
        writer.writeheader()
        writer.writerows(rows)
    (truth_root / "README.txt").write_text(
        "Ground truth of a cassisjuice-vo simulation (the reduction never reads this tree).\n"
        f"software cassisjuice-vo {__version__}, seed {seed}, level {level}\n"
        "positions.csv: one row per targeted position (CASSISjuice ID = AORKEY_N)\n"
        "aors.jsonl: one JSON record per AOR, the AOR plan: sources with their spectra,\n"
        "  requested and true positions, contaminants and which background they spoil,\n"
        "  every exposure with its pointing error and the slit coordinates of each source,\n"
        "  neighbours inside the slit, each source's shape (morphology: components with\n"
        "  profile, FWHM and flux fraction), the zodiacal light rendered and the ZODY_EST\n"
        "  written, and the wavelength zero-point offset of each module (pixels).\n"
        "positions.csv components: profile:FWHM arcsec:fraction; neighbours:\n"
        "  separation arcsec:15 um flux ratio:slit.\n"
    )
