"""The mid-infrared line list: atomic and ionic fine-structure lines, H2 rotational lines,
HI recombination lines, PAH bands, ice and silicate features, with vacuum wavelengths
and their sources (``vo_service/data/linelists``, PROVENANCE.md there; the MPE and H2
lists, which the feature measurer also fits, are read from ``pipeline/features/data``,
their one copy).

Published as the TAP table ``cassisjuice.lines`` (written at ingest) and by SLAP
(``protocols.slap``); :func:`find_line` resolves a line given by title or wavelength for
the line-coverage search.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pipeline

__all__ = ["Line", "LineError", "find_line", "line_list"]

_DATA = Path(__file__).resolve().parent.parent / "data" / "linelists"
# the package's directory, without importing pipeline.features (0.36 s of imports)
_SHARED = Path(pipeline.__file__).resolve().parent / "features" / "data"
_RANGE_UM = (2.5, 40.0)
_MPE = "MPE ISO fine-structure line list (www.mpe.mpg.de/ir/ISO/linelists/FSlines.html)"
_H2 = "Black & van Dishoeck 1988, ApJ 322, 412"
_HI = "Mohr, Taylor & Newell 2008, Rev. Mod. Phys. 80, 633"
_PAH = {True: "Smith et al. 2007, ApJ 656, 770 (Table 3)",
        False: "Sturm et al. 2000, A&A 358, 481 (Table 2)"}
_ION = re.compile(r"^\[?([A-Z][a-z]?)([IVX]+)\]?$")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8,
          "IX": 9, "X": 10}


class LineError(LookupError):
    """A line that the list does not hold; the message is for the user."""


@dataclass(frozen=True)
class Line:
    line_id: int
    title: str
    species: str
    element: str | None
    ion_charge: int | None
    kind: str
    wavelength_um: float
    wavelength_error_um: float | None
    initial_level: str | None
    final_level: str | None
    ip_create_ev: float | None
    ip_destroy_ev: float | None
    source: str

    def row(self) -> dict:
        return {"line_id": self.line_id, "title": self.title, "species": self.species,
                "element": self.element, "ion_charge": self.ion_charge, "kind": self.kind,
                "wavelength": self.wavelength_um,
                "wavelength_error": self.wavelength_error_um,
                "initial_level": self.initial_level, "final_level": self.final_level,
                "ip_create": self.ip_create_ev, "ip_destroy": self.ip_destroy_ev,
                "source": self.source}


def _in_range(wavelength_um: float) -> bool:
    return _RANGE_UM[0] <= wavelength_um <= _RANGE_UM[1]


def _mpe() -> list[dict]:
    out = []
    for text in (_SHARED / "mpe_iso_finestructure_lines_isolines.txt").read_text().splitlines():
        parts = text.split()
        if len(parts) != 6 or not parts[0].startswith("["):
            continue
        species, transition = parts[0], parts[1]
        wave, err, ep, ip = (float(p) for p in parts[2:])
        match = _ION.match(species)
        upper, _, lower = transition.partition("-")
        out.append({"title": f"{species} {wave:.2f}", "species": species,
                    "element": match.group(1) if match else None,
                    "ion_charge": _ROMAN[match.group(2)] - 1 if match else None,
                    "kind": "atomic" if match and match.group(2) == "I" else "ionic",
                    "wavelength_um": wave, "wavelength_error_um": err,
                    "initial_level": upper, "final_level": lower,
                    "ip_create_ev": ep, "ip_destroy_ev": ip, "source": _MPE})
    return out


def _h2() -> list[dict]:
    out = []
    with (_SHARED / "H2-ISO.csv").open(newline="") as fh:
        for row in list(csv.reader(fh))[1:]:
            name, wave = row[0].strip(), float(row[1])
            match = re.match(r"H2\s+(\d+)-\s*(\d+)\s+S\(\s*(\d+)\)", name)
            if not match or match.group(1) != "0" or match.group(2) != "0":
                continue  # only the pure rotational lines (v = 0-0)
            j = int(match.group(3))
            out.append({"title": f"H2 0-0 S({j}) {wave:.2f}", "species": "H2",
                        "element": "H", "ion_charge": 0, "kind": "H2",
                        "wavelength_um": wave, "wavelength_error_um": None,
                        "initial_level": f"v=0 J={j + 2}", "final_level": f"v=0 J={j}",
                        "ip_create_ev": None, "ip_destroy_ev": None, "source": _H2})
    return out


def _hi() -> list[dict]:
    out = []
    with (_DATA / "H-He.csv").open(newline="") as fh:
        for row in list(csv.reader(fh))[1:]:
            name = row[0].strip()
            if not name.startswith("HI "):
                continue
            upper, lower = name[3:].split("-")
            wave = float(row[1])
            out.append({"title": f"{name} {wave:.2f}", "species": "HI", "element": "H",
                        "ion_charge": 0, "kind": "HI", "wavelength_um": wave,
                        "wavelength_error_um": None, "initial_level": f"n={upper}",
                        "final_level": f"n={lower}", "ip_create_ev": None,
                        "ip_destroy_ev": None, "source": _HI})
    return out


def _pah() -> list[dict]:
    out = []
    with (_DATA / "PAH.csv").open(newline="") as fh:
        for row in list(csv.reader(fh))[1:]:
            wave = float(row[1])
            out.append({"title": f"PAH {row[0].strip()[3:]}", "species": "PAH",
                        "element": None, "ion_charge": None, "kind": "PAH",
                        "wavelength_um": wave, "wavelength_error_um": None,
                        "initial_level": None, "final_level": None, "ip_create_ev": None,
                        "ip_destroy_ev": None, "source": _PAH[wave > 5.0]})
    return out


def _ices_dust() -> list[dict]:
    with (_DATA / "ices_dust.csv").open(newline="") as fh:
        return [{"title": r["title"], "species": r["species"], "element": None,
                 "ion_charge": None, "kind": r["kind"],
                 "wavelength_um": float(r["wavelength_um"]), "wavelength_error_um": None,
                 "initial_level": None, "final_level": None, "ip_create_ev": None,
                 "ip_destroy_ev": None, "source": r["source"]} for r in csv.DictReader(fh)]


@functools.cache
def line_list() -> tuple[Line, ...]:
    """Every line from 2.5 to 40 um, sorted by wavelength, numbered from 1."""
    rows = [r for r in (*_mpe(), *_h2(), *_hi(), *_pah(), *_ices_dust())
            if _in_range(r["wavelength_um"])]
    rows.sort(key=lambda r: (r["wavelength_um"], r["title"]))
    return tuple(Line(i + 1, **r) for i, r in enumerate(rows))


def _key(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def find_line(text: str) -> Line:
    """A line by title (``[NeII] 12.81``, case and spaces ignored), by species when the
    list has one line of it in the IRS range (``[NeV]`` has two: give the wavelength), or
    the nearest line within 0.5 % of a wavelength in um (``12.81``)."""
    lines = line_list()
    key = _key(text)
    if not key:
        raise LineError("give a line: a title such as '[NeII] 12.81' or a wavelength in um")
    exact = [line for line in lines if _key(line.title) == key]
    if exact:
        return exact[0]
    try:
        wave = float(text)
    except ValueError:
        species = [line for line in lines if _key(line.species) == key
                   and 5.0 <= line.wavelength_um <= 38.0]
        if len(species) == 1:
            return species[0]
        if species:
            raise LineError(f"{text!r} has {len(species)} lines in the IRS range: "
                            + ", ".join(line.title for line in species)) from None
        raise LineError(f"no line {text!r} in the line list (see /slap or the TAP table "
                        "cassisjuice.lines)") from None
    if not wave > 0:
        raise LineError(f"line wavelength {text!r} must be positive (um)")
    best = min(lines, key=lambda line: abs(line.wavelength_um - wave))
    if abs(best.wavelength_um - wave) > 0.005 * wave:
        raise LineError(f"no line within 0.5 % of {wave:g} um in the line list")
    return best
