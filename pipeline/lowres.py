"""Low-resolution point-source reduction of one position (issue 3, steps 3-5 assembled).

For every targeted LR sub-slit: combine each nod's DCEs, subtract the other nod (by-nod
background, refused when the background frame is contaminated), find the source near the
nod position, extract each nod and average the two. Returns extractions in e-/s; the flux
calibration (``steps.calibrate``) turns them into Jy. The full variant set (by-order,
in-situ, interleaved nods, extended calibrations) and selection build on these pieces.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from pipeline.grouping import Position
from pipeline.instrument import IRSModel, default_model

from .exposures import load_nod
from .steps.background import contamination, subtract
from .steps.extract import Extraction, extract, find_source

__all__ = ["LowResResult", "reduce_lowres"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LowResResult:
    extractions: tuple[Extraction, ...]
    refused: tuple[str, ...]


def reduce_lowres(position: Position, method: str = "optimal",
                  irs: IRSModel | None = None) -> LowResResult:
    """By-nod background, source finding and extraction of every targeted LR order."""
    irs = irs or default_model()
    extractions, refused = [], []
    subslits = sorted({(d.module, d.subslit) for d in position.dces if d.module in ("SL", "LL")})
    for module_name, subslit in subslits:
        module = irs.module(module_name)
        sub = module.subslits[subslit]
        nods = {}
        for nod in (1, 2):
            dces = [d for d in position.dces if d.subslit == subslit and d.nod == nod]
            if dces:
                loaded = load_nod(dces)
                nods[nod] = (loaded.image, loaded.uncertainty, loaded.rejected)
        if set(nods) != {1, 2}:
            refused.append(f"{subslit}: only nod {sorted(nods)} observed, no by-nod background")
            continue
        for order in module.orders_in(subslit):
            per_nod = []
            for nod, other in ((1, 2), (2, 1)):
                image, unc, _ = nods[nod]
                sky, sky_unc, _ = nods[other]
                expected = float(module.fraction_to_slit_px(sub.nod_fraction[nod]))
                why = contamination(sky, sky_unc, module, order, expected)
                if why:
                    refused.append(f"{order.name} nod {nod} by-nod: {why}")
                    continue
                diff, diff_unc = subtract(image, unc, sky, sky_unc)
                centre = find_source(diff, order, expected)
                per_nod.append(extract(diff, diff_unc, module, order, centre, method))
            if per_nod:
                extractions.append(_mean_of_nods(per_nod))
    return LowResResult(tuple(extractions), tuple(refused))


def _mean_of_nods(per_nod: list[Extraction]) -> Extraction:
    if len(per_nod) == 1:
        return per_nod[0]
    a, b = per_nod
    counts_b = np.interp(a.wavelength_um, b.wavelength_um, b.counts)
    error_b = np.interp(a.wavelength_um, b.wavelength_um, b.counts_error)
    return Extraction(a.order, a.method, a.wavelength_um, 0.5 * (a.counts + counts_b),
                      0.5 * np.hypot(a.counts_error, error_b), a.rows)
