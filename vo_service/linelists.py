"""The mid-infrared lines the ID card marks on a spectrum, at the object's redshift.

A selection from the atlas's line list (``vo_service.science.lines``, served by SLAP and
as ``cassisjuice.lines``): the diagnostic fine-structure lines of IRS spectra (the set
PAHFIT fits, Smith et al. 2007, ApJ 656, 770, Table 2), the H2 0-0 S(0)-S(7)
pure-rotational lines and the strong PAH bands, within the IRS range 5.2-38 um.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from vo_service.science.lines import line_list

__all__ = ["IRS_RANGE_UM", "Line", "mid_ir_lines"]

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
_H2_ROTATIONAL = re.compile(r"H2 0-0 S\(([0-7])\)")


@dataclass(frozen=True)
class Line:
    """A spectral line: its label, kind (``ion``, ``H2`` or ``PAH``) and rest wavelength."""

    name: str
    kind: str
    rest_um: float


@lru_cache(maxsize=1)
def mid_ir_lines() -> tuple[Line, ...]:
    """The lines to mark on IRS spectra, sorted by rest wavelength."""
    lines = []
    for ln in line_list():
        if (ln.species, f"{ln.initial_level}-{ln.final_level}") in _FINE_STRUCTURE:
            lines.append(Line(f"{ln.species} {ln.wavelength_um:.2f}", "ion", ln.wavelength_um))
        elif ln.kind == "H2" and (match := _H2_ROTATIONAL.match(ln.title)):
            lines.append(Line(f"H2 S({match.group(1)})", "H2", ln.wavelength_um))
        elif ln.kind == "PAH" and ln.title.replace(" ", "") in _PAH:
            lines.append(Line(ln.title, "PAH", ln.wavelength_um))
    low, high = IRS_RANGE_UM
    return tuple(sorted((ln for ln in lines if low <= ln.rest_um <= high),
                        key=lambda ln: ln.rest_um))
