"""The metadata keys of a product that the catalogue and ObsCore are filled from, written by
the reduction (``pipeline.position``), the products-level simulator and the reader of real
CASSIS files, and read by ``cassisjuice ingest``.

Top level of ``Product.metadata``:

* ``mjd_obs``: MJD (UTC) at the start of the first exposure (header ``MJD_OBS``);
* ``program_id``: Spitzer programme (header ``PROGID``);
* ``object_type``: the Spitzer target type (header ``OBJTYPE``: ``TargetFixedSingle``,
  ``TargetFixedCluster``...); a cross-identification given to ingest replaces it;
* ``simbad_name``, ``ned_name``, ``redshift``: cross-identifications, where known.

Per arm, ``metadata[arm]`` (``'LR'``/``'HR'``):

* ``extent_arcsec``, ``extent_class``: the source's along-slit size and class;
* ``t_min_mjd``, ``t_max_mjd``: start of the arm's first exposure and end of its last
  (``MJD_OBS`` + ``RAMPTIME``), ObsCore ``t_min``/``t_max`` (ObsCore 1.1 sec. 4: for
  several frames the earliest start and the latest stop; standards.md sec. 7);
* ``exptime_s``: the integration time of every exposure reduced into the arm's spectra
  (the sum of their ``RAMPTIME``), ObsCore ``t_exptime``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["observing_time"]

_SECONDS_PER_DAY = 86400.0


def observing_time(exposures: Iterable[tuple[float, float]]) -> dict[str, float | None]:
    """``t_min_mjd``, ``t_max_mjd`` and ``exptime_s`` of exposures given as
    ``(MJD_OBS at the start, RAMPTIME in s)``; None where no exposure has the value."""
    starts, ends, total, timed = [], [], 0.0, False
    for mjd, ramp_s in exposures:
        finite_ramp = ramp_s is not None and math.isfinite(ramp_s)
        if finite_ramp:
            total += ramp_s
            timed = True
        if mjd is not None and math.isfinite(mjd):
            starts.append(mjd)
            ends.append(mjd + (ramp_s / _SECONDS_PER_DAY if finite_ramp else 0.0))
    return {"t_min_mjd": min(starts) if starts else None,
            "t_max_mjd": max(ends) if ends else None,
            "exptime_s": total if timed else None}
