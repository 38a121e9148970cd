"""A set of SSC calibration tables, found by name in one directory.

The default set ships with the package (``pipeline/instrument/data/ssc``, provenance in
its PROVENANCE.md). Another set (a different SSC pipeline version, SPICE's ``cal``
directory) is used by pointing :meth:`CalibrationSet.from_directory` at it: tables are
recognised by the SSC names ``irs_b<N>_<KIND>v<version>.tbl`` (CUBISM's copies) or
``b<N>_<kind>.tbl`` (SPICE), the highest version winning.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from astropy.io import fits

from .ipac import IpacError, IpacTable, read_ipac_table

__all__ = ["CHANNELS", "CalibrationError", "CalibrationSet", "default_calibration"]

log = logging.getLogger(__name__)

#: IRS module name for each detector channel number (header CHNLNUM, file prefix S<n>).
CHANNELS = {0: "SL", 1: "SH", 2: "LL", 3: "LH"}

_PER_CHANNEL = ("WAVSAMP", "FLUXCON", "SLCF", "WAVECUT", "PSF_FOV", "PMASK")
_GLOBAL = ("PIXEL_OMEGA", "PLATESCALE", "FRAMETABLE")
#: tables without which no model can be built
_REQUIRED = ("WAVSAMP", "FLUXCON")


class CalibrationError(ValueError):
    """A calibration set is incomplete or a table in it is unusable."""


def _find(directory: Path, kind: str, channel: int | None) -> Path | None:
    """The highest-version file of one kind of table in ``directory``."""
    prefix = "" if channel is None else f"b{channel}_"
    suffix = "fits" if kind == "PMASK" else "tbl"
    patterns = [
        re.compile(rf"^irs_{prefix}{kind}v(?P<v>[0-9]+)(?P<sub>[a-z]?)\.{suffix}$", re.I),
        re.compile(rf"^{prefix}{kind}\.{suffix}$", re.I),
    ]
    if kind == "SLCF":  # SPICE calls it slitloss_convert
        patterns.append(re.compile(rf"^{prefix}slitloss_convert\.{suffix}$", re.I))
    best: tuple[tuple[int, str], Path] | None = None
    for path in directory.iterdir():
        for pattern in patterns:
            match = pattern.match(path.name)
            if match:
                version = (
                    (int(match["v"]), match["sub"]) if "v" in pattern.groupindex else (0, "")
                )
                if best is None or version > best[0]:
                    best = (version, path)
    return None if best is None else best[1]


@dataclass(frozen=True)
class CalibrationSet:
    """The calibration tables of one directory, keyed by kind and channel.

    Attributes
    ----------
    directory : Path
        Where the tables were found.
    files : dict
        ``(kind, channel)`` to file path; channel is None for the focal-plane-wide tables.
    name : str
        A label recorded in product provenance (the directory name by default).
    """

    directory: Path
    files: dict[tuple[str, int | None], Path]
    name: str

    @classmethod
    def from_directory(cls, directory: str | Path, name: str | None = None) -> CalibrationSet:
        """Find the calibration tables in ``directory``.

        Raises
        ------
        CalibrationError
            If the directory does not exist or lacks a required table for some channel.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise CalibrationError(f"calibration directory {directory} does not exist")
        files: dict[tuple[str, int | None], Path] = {}
        for channel in CHANNELS:
            for kind in _PER_CHANNEL:
                found = _find(directory, kind, channel)
                if found is not None:
                    files[kind, channel] = found
        for kind in _GLOBAL:
            found = _find(directory, kind, None)
            if found is not None:
                files[kind, None] = found
        channels = sorted({ch for (kind, ch) in files if kind == "WAVSAMP"})
        for channel in channels:
            missing = [k for k in _REQUIRED if (k, channel) not in files]
            if missing:
                raise CalibrationError(
                    f"{directory}: channel {channel} ({CHANNELS[channel]}) lacks {missing}"
                )
        if not channels:
            raise CalibrationError(f"{directory}: no WAVSAMP table found")
        return cls(directory, files, name or directory.name)

    @property
    def channels(self) -> list[int]:
        """Channels (modules) for which the set has a wavelength solution."""
        return sorted({ch for (kind, ch) in self.files if kind == "WAVSAMP" and ch is not None})

    def has(self, kind: str, channel: int | None = None) -> bool:
        return (kind, channel) in self.files

    def path(self, kind: str, channel: int | None = None) -> Path:
        try:
            return self.files[kind, channel]
        except KeyError:
            where = "" if channel is None else f" for channel {channel}"
            raise CalibrationError(f"{self.directory}: no {kind} table{where}") from None

    def table(self, kind: str, channel: int | None = None) -> IpacTable:
        """Read one IPAC table of the set (cached)."""
        return _read_table(self.path(kind, channel))

    def pmask(self, channel: int) -> np.ndarray:
        """The permanent pixel mask of a channel as a 128 x 128 int32 array (zeros if absent)."""
        if not self.has("PMASK", channel):
            return np.zeros((128, 128), dtype=np.int32)
        with fits.open(self.path("PMASK", channel)) as hdul:
            return np.asarray(hdul[0].data, dtype=np.int32)

    def describe(self) -> dict[str, str]:
        """File names used, for provenance (kind/channel -> file name)."""
        return {
            (kind if ch is None else f"{kind}/{CHANNELS[ch]}"): path.name
            for (kind, ch), path in sorted(self.files.items(), key=lambda kv: str(kv[0]))
        }


@cache
def _read_table(path: Path) -> IpacTable:
    try:
        return read_ipac_table(path)
    except IpacError as exc:
        raise CalibrationError(str(exc)) from None


@cache
def default_calibration() -> CalibrationSet:
    """The SSC tables shipped with the package (see data/ssc/PROVENANCE.md)."""
    directory = Path(str(resources.files("pipeline.instrument") / "data" / "ssc"))
    return CalibrationSet.from_directory(directory, name="SSC-S18-CUBISM1.8")
