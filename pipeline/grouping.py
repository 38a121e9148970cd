"""Grouping raw IRS exposures into AORs and targeted positions (issue 3, step 1).

Every FITS file under a raw tree whose primary header names an AORKEY, a CHNLNUM and a
FOVID is one DCE. The module, targeted sub-slit and nod come from CHNLNUM and FOVID (never
from EXPID, irs.md 2.1); the position from RA_RQST/DEC_RQST, read per DCE because a cluster
AOR points at several positions (irs.md 2.4). Within an AOR, positions are numbered N = 0,
1, ... in the order of their first EXPID, giving the CASSISjuice ID ``<AORKEY>_<N>``; LR
and HR DCEs of one position share the ID.

SSC products come as a slope image (``*_bcd.fits``) with its uncertainty (``*_func.fits``)
and bit mask (``*_bmask.fits``) beside it; other files (such as the real HD 173511 image
shipped with the tests) stand alone, and the reduction then estimates the uncertainty.
Unreadable or inconsistent files are reported as problems with their reason, never raised:
one bad file must not stop an atlas run.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.fits_header import read_header
from pipeline.instrument import CHANNELS, IRSModel, default_model
from pipeline.instrument.astrometry import sky_offset

__all__ = ["Dce", "GroupingProblem", "Position", "group_positions", "scan_raw"]

log = logging.getLogger(__name__)

#: requested positions closer than this within one AOR are the same pointing
SAME_POSITION_ARCSEC = 1.0
_SIBLING = re.compile(r"_bcd\.fits$")
_SKIP = re.compile(r"_(func|bmask|unc|c2unc|c2msk)\.fits$")


@dataclass(frozen=True)
class GroupingProblem:
    """A file or position the reduction cannot use, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Dce:
    """One exposure (data collection event) as its header describes it."""

    path: Path
    func_path: Path | None
    bmask_path: Path | None
    aorkey: int
    chnlnum: int
    module: str
    subslit: str
    nod: int
    expid: int
    dcenum: int
    ramptime_s: float
    mjd_obs: float
    ra_rqst_deg: float
    dec_rqst_deg: float
    ra_slt_deg: float
    dec_slt_deg: float
    pa_slt_deg: float
    object_name: str
    objtype: str
    simulated: bool
    #: the SSC's zodiacal light estimate for the pointing (ZODY_EST, MJy/sr at the
    #: module's reference wavelength, ``instrument.zodi.ZODY_REFERENCE_UM``); NaN if absent
    zody_est_mjy_sr: float = float("nan")
    #: the Spitzer programme (PROGID); None if absent
    progid: int | None = None
    #: the campaign (CAMPAIGN, e.g. ``IRSX003900``: one switch-on of the instrument, whose
    #: wavelength zero points ``wavelength_calibration`` measures); empty if absent
    campaign: str = ""


@dataclass(frozen=True)
class Position:
    """One targeted position: every DCE of every module that observed it."""

    aorkey: int
    pointing: int
    object_name: str
    ra_rqst_deg: float
    dec_rqst_deg: float
    dces: tuple[Dce, ...]
    #: the requested positions (RA, Dec deg) of the AOR's other pointings: the other
    #: members of a cluster AOR, known sources that may fall in this pointing's slits
    siblings: tuple[tuple[float, float], ...] = ()

    @property
    def cj_id(self) -> str:
        return f"{self.aorkey}_{self.pointing}"

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(sorted({d.module for d in self.dces}, key="SLLLSHLH".index))

    @property
    def arms(self) -> tuple[str, ...]:
        arms = {"LR" if d.module in ("SL", "LL") else "HR" for d in self.dces}
        return tuple(a for a in ("LR", "HR") if a in arms)

    def missing_nods(self) -> list[str]:
        """Targeted sub-slits observed at only one nod (by-nod background impossible)."""
        seen: dict[str, set[int]] = {}
        for d in self.dces:
            seen.setdefault(d.subslit, set()).add(d.nod)
        return sorted(s for s, nods in seen.items() if nods != {1, 2})


def _sibling(path: Path, kind: str) -> Path | None:
    if not _SIBLING.search(path.name):
        return None
    other = path.with_name(_SIBLING.sub(f"_{kind}.fits", path.name))
    return other if other.exists() else None


_MJD_EPOCH = datetime.datetime(1858, 11, 17)


def _mjd_obs(header) -> float:
    """MJD (UTC) at the DCE start: ``MJD_OBS``, else from ``DATE_OBS`` (ISO 8601 UTC, the
    same instant in the SSC headers; irs.md 2.3); NaN when neither is readable."""
    mjd = header.get("MJD_OBS")
    if isinstance(mjd, int | float) and not isinstance(mjd, bool):
        return float(mjd)
    try:
        date = datetime.datetime.fromisoformat(str(header.get("DATE_OBS", "")).strip())
    except ValueError:
        return float("nan")
    return (date.replace(tzinfo=None) - _MJD_EPOCH) / datetime.timedelta(days=1)


#: the keywords a DCE is made of: only these are parsed (a BCD header holds about 200
#: cards; parsing them all was a tenth of the reduction's time)
_DCE_KEYS = ("AORKEY", "CHNLNUM", "FOVID", "RA_RQST", "DEC_RQST", "EXPID", "NAXIS",
             "NAXIS1", "NAXIS2", "BITPIX", "DCENUM", "RAMPTIME", "MJD_OBS", "DATE_OBS",
             "RA_SLT", "DEC_SLT", "PA_SLT", "OBJECT", "OBJTYPE", "SIMULATE", "ZODY_EST",
             "PROGID", "CAMPAIGN")


def _read_dce(path: Path, fovs) -> Dce:
    try:
        header, header_bytes = read_header(path, keys=_DCE_KEYS)
    except ValueError as exc:
        raise ValueError(f"unreadable FITS: {str(exc).split(': ', 1)[-1]}") from None
    missing = [k for k in ("AORKEY", "CHNLNUM", "FOVID", "RA_RQST", "DEC_RQST", "EXPID")
               if k not in header]
    if missing:
        raise ValueError(f"not an IRS exposure: header lacks {', '.join(missing)}")
    if header.get("NAXIS") != 2 or (header.get("NAXIS1"), header.get("NAXIS2")) != (128, 128):
        raise ValueError("not a 128 x 128 IRS image")
    needed = header_bytes + 128 * 128 * abs(int(header.get("BITPIX", 32))) // 8
    if path.stat().st_size < needed:
        raise ValueError(f"truncated: {path.stat().st_size} bytes, the image needs {needed}")
    try:
        aorkey, chnlnum, fovid = int(header["AORKEY"]), int(header["CHNLNUM"]), int(
            header["FOVID"])
    except (TypeError, ValueError):
        raise ValueError("AORKEY, CHNLNUM or FOVID is not an integer") from None
    if chnlnum not in CHANNELS:
        raise ValueError(f"CHNLNUM {chnlnum} is not a spectrograph module (0-3)")
    fov = fovs.get(fovid)
    if fov is None or fov[0] != CHANNELS[chnlnum]:
        raise ValueError(f"FOVID {fovid} is not a staring-mode position of "
                         f"{CHANNELS[chnlnum]} (CHNLNUM {chnlnum})")
    module, subslit, nod, _ = fov
    return Dce(
        path=path,
        func_path=_sibling(path, "func"),
        bmask_path=_sibling(path, "bmask"),
        aorkey=aorkey,
        chnlnum=chnlnum,
        module=module,
        subslit=subslit,
        nod=nod,
        expid=int(header["EXPID"]),
        dcenum=int(header.get("DCENUM", 0)),
        ramptime_s=float(header.get("RAMPTIME", np.nan)),
        mjd_obs=_mjd_obs(header),
        ra_rqst_deg=float(header["RA_RQST"]),
        dec_rqst_deg=float(header["DEC_RQST"]),
        ra_slt_deg=float(header.get("RA_SLT", np.nan)),
        dec_slt_deg=float(header.get("DEC_SLT", np.nan)),
        pa_slt_deg=float(header.get("PA_SLT", np.nan)),
        object_name=str(header.get("OBJECT", "")).strip(),
        objtype=str(header.get("OBJTYPE", "TargetFixedSingle")).strip(),
        simulated=bool(header.get("SIMULATE", False)),
        zody_est_mjy_sr=_float_or_nan(header.get("ZODY_EST")),
        progid=header["PROGID"] if type(header.get("PROGID")) is int else None,
        campaign=_campaign(header.get("CAMPAIGN")),
    )


def _campaign(value) -> str:
    """The CAMPAIGN keyword when it is a plain campaign name (letters and digits), else
    empty: it becomes a key of the calibration file and of the products' metadata."""
    text = str(value).strip() if isinstance(value, str) else ""
    return text if text.isascii() and text.isalnum() and len(text) <= 20 else ""


def _float_or_nan(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def scan_raw(root: str | Path, irs: IRSModel | None = None):
    """Read the header of every exposure under ``root``.

    Returns
    -------
    dces : list of Dce
    problems : list of GroupingProblem
        Files that are not usable IRS exposures, with the reason.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"raw directory {root} does not exist")
    fovs = (irs or default_model()).fovs
    dces, problems = [], []
    for path in sorted(root.rglob("*.fits")):
        if _SKIP.search(path.name) or path.name.startswith("."):
            continue
        try:
            dces.append(_read_dce(path, fovs))
        except ValueError as exc:
            problems.append(GroupingProblem(str(path), str(exc)))
            log.warning("skipping %s: %s", path, exc)
    return dces, problems


def group_positions(dces: list[Dce]) -> list[Position]:
    """Group DCEs into targeted positions, numbered per AOR in order of first EXPID."""
    by_aor: dict[int, list[Dce]] = {}
    for dce in dces:
        by_aor.setdefault(dce.aorkey, []).append(dce)
    positions = []
    for aorkey in sorted(by_aor):
        clusters: list[list[Dce]] = []
        for dce in sorted(by_aor[aorkey], key=lambda d: (d.expid, d.dcenum, d.chnlnum)):
            for members in clusters:
                xi, eta = sky_offset(members[0].ra_rqst_deg, members[0].dec_rqst_deg,
                                     dce.ra_rqst_deg, dce.dec_rqst_deg)
                if np.hypot(xi, eta) < SAME_POSITION_ARCSEC:
                    members.append(dce)
                    break
            else:
                clusters.append([dce])
        where = [(m[0].ra_rqst_deg, m[0].dec_rqst_deg) for m in clusters]
        for index, members in enumerate(clusters):
            first = members[0]
            positions.append(Position(aorkey, index, first.object_name, first.ra_rqst_deg,
                                      first.dec_rqst_deg, tuple(members),
                                      tuple(w for k, w in enumerate(where) if k != index)))
    return positions
