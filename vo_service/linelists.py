"""The mid-infrared lines the ID card marks on a spectrum, at the object's redshift.

Read from the line lists shipped in ``vo_service/data/linelists`` (their sources in its
PROVENANCE.md): the diagnostic fine-structure lines of IRS spectra (the set PAHFIT fits,
Smith et al. 2007, ApJ 656, 770, Table 2), the H2 0-0 S(0)-S(7) pure-rotational lines and
the PAH bands, within the IRS range 5.2-38 um. :func:`mid_ir_lines` is the only entry point:
when the atlas publishes a line-list table, it is the one function to point at it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["IRS_RANGE_UM", "Line", "mid_ir_lines"]

_DATA = Path(__file__).parent / "data" / "linelists"
IRS_RANGE_UM = (5.2, 38.0)

#: fine-structure lines (species, transition) of IRS spectra: PAHFIT's set (Smith et al.
#: 2007, Table 2) plus the high-ionisation AGN tracers [NeV] and [NeVI]
_FINE_STRUCTURE = {
    ("[ArII]", "2P1/2-2P3/2"), ("[ArIII]", "3P1-3P2"), ("[ArIII]", "3P0-3P1"),
    ("[SIV]", "2P3/2-2P1/2"), ("[NeII]", "2P1/2-2P3/2"), ("[NeIII]", "3P1-3P2"),
    ("[NeIII]", "3P0-3P1"), ("[NeV]", "3P2-3P1"), ("[NeV]", "3P1-3P0"),
    ("[NeVI]", "2P3/2-2P1/2"), ("[SIII]", "3P2-3P1"), ("[SIII]", "3P1-3P0"),
    ("[OIV]", "2P3/2-2P1/2"), ("[FeII]", "a6D7/2-a6D9/2"), ("[FeII]", "a4F7/2-a4F9/2"),
    ("[FeII]", "a4F9/2-a6D9/2"), ("[FeIII]", "5D3-5D4"), ("[SiII]", "2P3/2-2P1/2"),
}
#: PAH bands of Smith et al. 2007 (Table 3) strong enough to name on a plot
_PAH = {"PAH6.2", "PAH7.6", "PAH7.9", "PAH8.6", "PAH11.3", "PAH12.7", "PAH16.5", "PAH17.0"}
_H2_ROTATIONAL = re.compile(r"H2\s+0-\s*0\s+S\(\s*([0-7])\)$")


@dataclass(frozen=True)
class Line:
    """A spectral line: its label, kind (``ion``, ``H2`` or ``PAH``) and rest wavelength."""

    name: str
    kind: str
    rest_um: float


def _fine_structure() -> list[Line]:
    lines = []
    text = (_DATA / "mpe_iso_finestructure_lines_isolines.txt").read_text(encoding="ascii")
    for row in text.splitlines():
        parts = row.split()
        if len(parts) < 3 or parts[0].startswith("-") or parts[0] == "species":
            continue
        species, transition, wavelength = parts[0], parts[1], float(parts[2])
        if (species, transition) in _FINE_STRUCTURE:
            lines.append(Line(f"{species} {wavelength:.2f}", "ion", wavelength))
    return lines


def _csv_rows(name: str) -> list[tuple[str, float]]:
    with (_DATA / name).open(encoding="ascii", newline="") as fh:
        rows = list(csv.reader(fh))
    return [(r[0].strip(), float(r[1])) for r in rows[1:] if len(r) >= 2 and r[1].strip()]


@lru_cache(maxsize=1)
def mid_ir_lines() -> tuple[Line, ...]:
    """The lines to mark on IRS spectra, sorted by rest wavelength."""
    lines = _fine_structure()
    for name, wavelength in _csv_rows("H2-ISO.csv"):
        match = _H2_ROTATIONAL.match(name)
        if match:
            lines.append(Line(f"H2 S({match.group(1)})", "H2", wavelength))
    lines += [Line(name.replace("PAH", "PAH "), "PAH", wavelength)
              for name, wavelength in _csv_rows("PAH.csv") if name in _PAH]
    low, high = IRS_RANGE_UM
    return tuple(sorted((ln for ln in lines if low <= ln.rest_um <= high),
                        key=lambda ln: ln.rest_um))
