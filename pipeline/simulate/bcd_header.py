"""FITS headers for simulated IRS DCEs that follow a real SSC S18.18 BCD header.

The keyword set, order, card comments and value types follow the complete BCD header of
HD 173511 (AOR 34270464, SL2 nod 2; irs.md 2.3), grouped as the SSC groups them
(provenance, proposal, time and exposure, target and pointing, distortion, photometry,
spectrophotometry, mapping, peak-up, data flow). Module differences follow the other real
headers: SH/LH carry FLXCON11..20 and the crosstalk row counts, only SL (whose array holds
the peak-up fields) has the peak-up WCS with SIP distortion and RA_BPU/RA_RPU, and SH/LH
have no non-targeted sub-slit. Every header says it is simulated (SIMULATE, ORIGIN,
CREATOR, HISTORY).

Speed: the constant cards of each (module, kind) are formatted once; a header costs only
the formatting of the ~110 per-exposure cards (:func:`bcd_header_string`, ~0.15 ms), plus
astropy's parsing when a :class:`~astropy.io.fits.Header` is wanted (:func:`bcd_header`,
~0.6 ms more). The string is a complete, standard header block: a writer in a hurry can
write it followed by the big-endian data and zero padding, without astropy.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from astropy.io import fits

from ._bcd_layout import Template, compile_template, render
from ._bcd_values import (
    DYNAMIC,
    FOV_TABLE,
    MODULES,
    RAMP_SETTINGS,
    SLIT_ANGLE,
    SLIT_LENGTH,
    SUBSLIT_SEPARATION,
    exposure_values,
    separation_arcsec,
    static_values,
)
from .naming import bcd_filename, parse_bcd_filename, rawname

__all__ = [
    "FOV_TABLE",
    "KINDS",
    "MODULES",
    "OBJTYPES",
    "RAMP_SETTINGS",
    "ExposureInfo",
    "bcd_header",
    "bcd_header_string",
    "fov_for",
    "fov_lookup",
    "validate_header",
]

log = logging.getLogger(__name__)

KINDS = ("bcd", "func", "bmask")
_CHANNEL = {name: chnl for chnl, name in MODULES.items()}
_FLUX_ORDERS = {"SL": (1, 2, 3), "LL": (1, 2, 3), "SH": tuple(range(11, 21)),
                "LH": tuple(range(11, 21))}
OBJTYPES = ("TargetFixedSingle", "TargetFixedCluster", "TargetMulti", "TargetMovingSingle",
            "TargetMovingCluster")
_FOV_INDEX = {(m, o, n): (fid, name) for fid, (m, o, n, name) in FOV_TABLE.items()}


def fov_for(module: str, order: int | None, nod: int) -> tuple[int, str]:
    """FOVID and FOVNAME of a staring position.

    Parameters
    ----------
    module : str
        ``'SL'``, ``'LL'``, ``'SH'`` or ``'LH'``.
    order : int or None
        Targeted order 1 or 2 for SL/LL (3, the bonus order, is seen through the order-2
        sub-slit); None for SH/LH, or with ``nod=0`` for the SL/LL module centre ("Both").
    nod : int
        1 or 2 for the nod positions, 0 for the centre.

    Returns
    -------
    tuple of (int, str)
        E.g. ``fov_for('SL', 2, 2) == (33, 'IRS_Short-Lo_2nd_Order_2nd_Position')``.
    """
    if module not in _CHANNEL:
        raise ValueError(f"module must be one of {tuple(_CHANNEL)}, got {module!r}")
    if order == 3 and module in ("SL", "LL"):
        order = 2
    key = (module, order, nod)
    if key not in _FOV_INDEX:
        raise ValueError(f"no staring FOV for module {module!r}, order {order!r}, nod {nod!r} "
                         "(orders 1/2 for SL/LL, None for SH/LH; nod 1, 2 or 0 = centre)")
    return _FOV_INDEX[key]


def fov_lookup(fovid: int) -> tuple[str, int | None, int, str]:
    """(module, order, nod, FOVNAME) of a FOVID; order None for SH/LH and "Both" FOVs."""
    try:
        return FOV_TABLE[int(fovid)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"FOVID {fovid!r} is not a spectral staring FOV "
                         f"(known: {sorted(FOV_TABLE)})") from None


# ------------------------------------------------------------------ exposure info


@dataclass(frozen=True, kw_only=True)
class ExposureInfo:
    """Everything in a BCD header that varies from one DCE to the next.

    Attributes
    ----------
    chnlnum : int
        0 SL, 1 SH, 2 LL, 3 LH.
    aorkey, expid, dcenum : int
        AOR key, exposure ID (one per module, sub-slit and nod) and DCE number.
    fovid, fovname : int, str
        Field of view (see :data:`FOV_TABLE`); must agree with each other and CHNLNUM.
    object_name, objtype : str
        OBJECT and OBJTYPE ('TargetFixedSingle' or 'TargetFixedCluster' here).
    exptype : str
        'sp' for science, 'sfx' for calibrators.
    progid, protitle, obsrvr, aorlabel : int, str, str, str
        Program ID and title, observer, AOR label.
    campaign, cal_set : str
        E.g. 'IRSX011200' and 'C18.18POST44.A'.
    mjd_obs : float
        MJD (UTC) at the start of the DCE.
    ramptime_s : float
        6.29, 14.68, 31.46, 60.95 or 121.9 (see :data:`RAMP_SETTINGS`).
    n_dce_commanded : int
        AIRSCMDN, the commanded number of DCEs of the exposure (> dcenum).
    ra_rqst, dec_rqst, pa_rqst : float
        Commanded position (deg, referenced to the commanded FOV) and PA_RQST.
    ra_slt, dec_slt, pa_slt : float
        Centre and position angle of the targeted sub-slit (deg).
    ra_xslt, dec_xslt : float or None
        Centre of the other sub-slit (SL, LL); None for SH/LH and the module-centre FOVs.
    ra_fov, dec_fov : float
        Position of the FOV point (the nod position) during the DCE.
    fluxcon : mapping of int to float
        FLUXCON (e-/s/Jy) per order: 1, 2, 3 for SL/LL, 11..20 for SH/LH.
    fluxcon_error : float or mapping of int to float
        FLXERRnn, one value for all orders or one per order.
    pointing : int
        Cluster pointing index (0 for single targets); not written to the header, where a
        pointing is told by RA_RQST/DEC_RQST as in real data.
    simulated : bool
        Value of the SIMULATE keyword.
    zody_est : float or None
        ZODY_EST, the zodiacal light estimate (MJy/sr) at the module's reference wavelength
        (10, 22, 15, 27 um for SL, LL, SH, LH), as the SSC's background model writes it
        into BCDs of later pipeline versions; None leaves the card out.
    """

    chnlnum: int
    aorkey: int
    expid: int
    dcenum: int
    fovid: int
    fovname: str
    object_name: str
    progid: int
    aorlabel: str
    campaign: str
    cal_set: str
    mjd_obs: float
    ramptime_s: float
    ra_rqst: float
    dec_rqst: float
    pa_rqst: float
    ra_slt: float
    dec_slt: float
    pa_slt: float
    ra_fov: float
    dec_fov: float
    fluxcon: Mapping[int, float]
    objtype: str = "TargetFixedSingle"
    exptype: str = "sp"
    protitle: str = "Simulated IRS staring-mode program"
    obsrvr: str = "cassisjuice-vo simulator"
    n_dce_commanded: int = 1
    ra_xslt: float | None = None
    dec_xslt: float | None = None
    fluxcon_error: float | Mapping[int, float] = 124.5
    pointing: int = 0
    simulated: bool = True
    zody_est: float | None = None

    def __post_init__(self) -> None:
        put = functools.partial(object.__setattr__, self)
        for name in ("chnlnum", "aorkey", "expid", "dcenum", "fovid", "progid",
                     "n_dce_commanded", "pointing"):
            put(name, _as_int(name, getattr(self, name)))
        for name in ("mjd_obs", "ramptime_s", "ra_rqst", "dec_rqst", "pa_rqst", "ra_slt",
                     "dec_slt", "pa_slt", "ra_fov", "dec_fov"):
            put(name, _as_float(name, getattr(self, name)))
        if self.chnlnum not in MODULES:
            raise ValueError(f"chnlnum must be 0 (SL), 1 (SH), 2 (LL) or 3 (LH), "
                             f"got {self.chnlnum}")
        module, _, _, name = fov_lookup(self.fovid)
        if module != self.module or name != self.fovname:
            raise ValueError(f"FOVID {self.fovid} is {name!r} ({module}); got FOVNAME "
                             f"{self.fovname!r} for CHNLNUM {self.chnlnum} ({self.module})")
        for name, low, high in (("aorkey", 1, 9_999_999_999), ("expid", 0, 9999),
                                ("dcenum", 0, self.n_dce_commanded - 1), ("progid", 0, None)):
            value = getattr(self, name)
            if value < low or (high is not None and value > high):
                raise ValueError(f"{name} = {value} is out of range "
                                 f"(dcenum must be below n_dce_commanded)")
        ramp = min(RAMP_SETTINGS, key=lambda r: abs(r - self.ramptime_s))
        if abs(ramp - self.ramptime_s) > 0.01:
            raise ValueError(f"ramptime_s {self.ramptime_s} is not one of {tuple(RAMP_SETTINGS)}")
        put("ramptime_s", ramp)
        if self.objtype not in OBJTYPES:
            raise ValueError(f"objtype must be one of {OBJTYPES}, got {self.objtype!r}")
        if self.exptype not in ("sp", "sfx"):
            raise ValueError(f"exptype must be 'sp' (science) or 'sfx' (calibrator), "
                             f"got {self.exptype!r}")
        for name in ("dec_rqst", "dec_slt", "dec_fov"):
            if abs(getattr(self, name)) > 90.0:
                raise ValueError(f"{name} = {getattr(self, name)} is not a declination")
        if (self.ra_xslt is None) != (self.dec_xslt is None):
            raise ValueError("give both ra_xslt and dec_xslt, or neither")
        if self.ra_xslt is not None:
            if self.module in ("SH", "LH"):
                raise ValueError(f"{self.module} has a single slit: ra_xslt/dec_xslt must be None")
            put("ra_xslt", _as_float("ra_xslt", self.ra_xslt))
            put("dec_xslt", _as_float("dec_xslt", self.dec_xslt))
        orders = _FLUX_ORDERS[self.module]
        put("fluxcon", _per_order("fluxcon", self.fluxcon, orders))
        error = self.fluxcon_error
        put("fluxcon_error", _per_order("fluxcon_error", error, orders)
            if isinstance(error, Mapping) else _as_float("fluxcon_error", error))
        put("simulated", bool(self.simulated))

    @property
    def module(self) -> str:
        """'SL', 'SH', 'LL' or 'LH'."""
        return MODULES[self.chnlnum]


def _as_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def _as_float(name: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    return number


def _per_order(name: str, value: Mapping, orders: tuple[int, ...]) -> dict[int, float]:
    missing = [o for o in orders if o not in value]
    if missing:
        raise ValueError(f"{name} lacks orders {missing} (needs {orders})")
    out = {o: _as_float(f"{name}[{o}]", value[o]) for o in orders}
    if any(v <= 0 for v in out.values()):
        raise ValueError(f"{name} values must be positive: {out}")
    return out


@functools.cache
def _template(chnlnum: int, kind: str) -> Template:
    """Constant cards of one (module, kind), formatted once per process."""
    log.debug("compiling the BCD header template of %s %s", MODULES[chnlnum], kind)
    return compile_template(MODULES[chnlnum], kind, static_values(chnlnum, kind), DYNAMIC)


_LAST: list[tuple[ExposureInfo | None, dict[str, object]]] = [(None, {})]


def bcd_header_string(info: ExposureInfo, kind: str = "bcd") -> str:
    """The header of a simulated DCE product as FITS card images.

    Parameters
    ----------
    info : ExposureInfo
        The exposure.
    kind : str, optional
        ``'bcd'`` (slope image), ``'func'`` (uncertainty) or ``'bmask'`` (status bits).

    Returns
    -------
    str
        80-character cards ending with END, padded to a multiple of 2880 characters: the
        exact header block of the file, to write as is or parse with astropy.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    cached_info, values = _LAST[0]
    if cached_info is not info:  # the three kinds of one DCE share their values
        values = exposure_values(info)
        _LAST[0] = (info, values)
    values = {**values, "FILENAME": bcd_filename(info.chnlnum, info.aorkey, info.expid,
                                                 info.dcenum, kind)}
    return render(_template(info.chnlnum, kind), values)


def bcd_header(info: ExposureInfo, kind: str = "bcd") -> fits.Header:
    """Header of a simulated IRS DCE product with the layout of a real SSC S18.18 BCD.

    Parameters
    ----------
    info : ExposureInfo
        The exposure.
    kind : str, optional
        ``'bcd'``, ``'func'`` or ``'bmask'`` (FILENAME, FILETYPE, BITPIX, BUNIT differ).

    Returns
    -------
    astropy.io.fits.Header
        Keyword set, order, comments and value types of the real SSC header (AORKEY a
        string), values from ``info``, plus SIMULATE = T and a HISTORY note.
    """
    return fits.Header.fromstring(bcd_header_string(info, kind))


# ------------------------------------------------------------------- validation

_REQUIRED: tuple[tuple[str, type], ...] = (
    ("AORKEY", str), ("CHNLNUM", int), ("FOVID", int), ("FOVNAME", str), ("RA_SLT", float),
    ("DEC_SLT", float), ("PA_SLT", float), ("RA_RQST", float), ("DEC_RQST", float),
    ("OBJECT", str), ("PROGID", int), ("MJD_OBS", float), ("DATE_OBS", str), ("EXPID", int),
    ("DCENUM", int), ("RAMPTIME", float),
)
_KIND_OF_FILETYPE = {filetype: kind for kind, filetype in
                     (("bcd", "fits-irs2d-flux"), ("func", "fits-irs2d-unc"),
                      ("bmask", "fits-irs2d-bmask"))}
_KIND_OF_SUFFIX = {"bcd": "bcd", "func": "func", "bmask": "bmask", "coa2d": "bcd",
                   "c2unc": "func", "c2msk": "bmask"}
#: slack (arcsec) of the slit-geometry checks: pointing errors are ~0.4 arcsec
_GEOMETRY_SLACK = 3.0


def _has_type(value: object, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, kind)


def _infer_kind(header: Mapping[str, Any]) -> str:
    filename = header.get("FILENAME")
    if isinstance(filename, str) and filename.startswith("SPITZER_"):
        try:
            return _KIND_OF_SUFFIX[parse_bcd_filename(filename).kind]
        except ValueError:
            pass
    return _KIND_OF_FILETYPE.get(str(header.get("FILETYPE", "")).strip(), "bcd")


def validate_header(header: Mapping[str, Any], kind: str | None = None, *,
                    check_orientation: bool = False) -> list[str]:
    """Problems that make a BCD header unusable for the reduction (empty list if none).

    Parameters
    ----------
    header : astropy.io.fits.Header or mapping
        A real SSC BCD header or a simulated one.
    kind : str, optional
        'bcd', 'func' or 'bmask'; inferred from FILENAME or FILETYPE when omitted (BUNIT
        is required for 'bcd' and 'func').
    check_orientation : bool, optional
        Also require PA_SLT = PA_RQST - (FRAMETABLE slit angle) to 1 deg, as in real data.

    Returns
    -------
    list of str
        Missing required keywords (AORKEY, CHNLNUM, FOVID, FOVNAME, RA/DEC/PA_SLT,
        RA/DEC_RQST, OBJECT, PROGID, MJD_OBS, DATE_OBS, EXPID, DCENUM, RAMPTIME, BUNIT,
        FLXCONnn/FLXERRnn of the module), wrong value types (e.g. an integer AORKEY), and
        inconsistencies (FOVID vs FOVNAME vs CHNLNUM, DATE_OBS vs MJD_OBS, FILENAME and
        RAWNAME vs AORKEY/EXPID/DCENUM, slit geometry).
    """
    problems: list[str] = []
    ok: dict[str, Any] = {}
    for key, wanted in _REQUIRED:
        if key not in header:
            problems.append(f"missing required keyword {key}")
        elif not _has_type(header[key], wanted):
            problems.append(f"{key} = {header[key]!r} has type {type(header[key]).__name__}, "
                            f"expected {wanted.__name__}")
        else:
            ok[key] = header[key]
    kind = _infer_kind(header) if kind is None else kind
    if kind in ("bcd", "func"):
        unit = header.get("BUNIT")
        if not isinstance(unit, str) or not unit.strip():
            problems.append("missing required keyword BUNIT (e.g. 'e-/sec')")
    module = MODULES.get(ok.get("CHNLNUM", -1))
    if "CHNLNUM" in ok and module is None:
        problems.append(f"CHNLNUM = {ok['CHNLNUM']} is not 0 (SL), 1 (SH), 2 (LL) or 3 (LH)")
    if module is not None:
        digits = "{:02d}" if module in ("SL", "LL") else "{}"
        for order in _FLUX_ORDERS[module]:
            for stem in ("FLXCON", "FLXERR"):
                key = stem + digits.format(order)
                value = header.get(key)
                if key not in header:
                    problems.append(f"missing required keyword {key} ({module} order {order})")
                elif not _has_type(value, float) or value <= 0:
                    problems.append(f"{key} = {value!r} is not a positive real")
    if "FOVID" in ok:
        fov = FOV_TABLE.get(ok["FOVID"])
        if fov is None:
            problems.append(f"FOVID {ok['FOVID']} is not a spectral staring FOV")
        else:
            if module is not None and fov[0] != module:
                problems.append(f"FOVID {ok['FOVID']} ({fov[0]}) does not belong to "
                                f"CHNLNUM {ok['CHNLNUM']} ({module})")
            if "FOVNAME" in ok and ok["FOVNAME"].strip() != fov[3]:
                problems.append(f"FOVNAME {ok['FOVNAME']!r} is not that of FOVID "
                                f"{ok['FOVID']} ({fov[3]!r})")
    problems += _check_values(header, ok)
    if module is not None:
        problems += _check_geometry(header, ok, module, check_orientation)
    return problems


def _check_values(header: Mapping[str, Any], ok: dict[str, Any]) -> list[str]:
    problems = []
    if "AORKEY" in ok and not (ok["AORKEY"].strip().isdigit() and int(ok["AORKEY"]) > 0):
        problems.append(f"AORKEY {ok['AORKEY']!r} is not a positive integer string")
    for key in ("EXPID", "DCENUM"):
        if key in ok and not 0 <= ok[key] <= 9999:
            problems.append(f"{key} = {ok[key]} is outside 0..9999")
    for key in ("RA_SLT", "RA_RQST"):
        if key in ok and not 0.0 <= ok[key] < 360.0:
            problems.append(f"{key} = {ok[key]} is outside [0, 360)")
    for key in ("DEC_SLT", "DEC_RQST"):
        if key in ok and not -90.0 <= ok[key] <= 90.0:
            problems.append(f"{key} = {ok[key]} is outside [-90, 90]")
    if "RAMPTIME" in ok:
        if ok["RAMPTIME"] <= 0:
            problems.append(f"RAMPTIME = {ok['RAMPTIME']} is not positive")
        groups, grptime = header.get("TLMGRPS"), header.get("GRPTIME")
        if _has_type(groups, int) and _has_type(grptime, float) \
                and abs((groups - 1) * grptime - ok["RAMPTIME"]) > 0.05:
            problems.append(f"RAMPTIME {ok['RAMPTIME']} != (TLMGRPS - 1) x GRPTIME")
    if "DATE_OBS" in ok and "MJD_OBS" in ok:
        try:
            stamp = datetime.fromisoformat(ok["DATE_OBS"].strip())
        except ValueError:
            problems.append(f"DATE_OBS {ok['DATE_OBS']!r} is not an ISO date and time")
        else:
            mjd = (stamp - datetime(1858, 11, 17)).total_seconds() / 86400.0
            if abs(mjd - ok["MJD_OBS"]) * 86400.0 > 1.0:
                problems.append(f"DATE_OBS {ok['DATE_OBS']} disagrees with MJD_OBS "
                                f"{ok['MJD_OBS']}")
    ids = ("AORKEY", "CHNLNUM", "EXPID", "DCENUM")
    if all(key in ok for key in ids) and ok["AORKEY"].strip().isdigit():
        aorkey = int(ok["AORKEY"])
        filename = header.get("FILENAME")
        if isinstance(filename, str) and filename.startswith("SPITZER_"):
            try:
                name = parse_bcd_filename(filename)
            except ValueError as exc:
                problems.append(f"FILENAME: {exc}")
            else:
                found = (name.aorkey, name.chnlnum, name.expid, name.dcenum)
                want = (aorkey, ok["CHNLNUM"], ok["EXPID"],
                        None if name.dcenum is None else ok["DCENUM"])
                if found != want:
                    problems.append(f"FILENAME {filename} disagrees with AORKEY/CHNLNUM/"
                                    "EXPID/DCENUM")
        raw = header.get("RAWNAME")
        if raw is not None and 0 <= ok["CHNLNUM"] <= 3:
            try:
                expected = rawname(ok["CHNLNUM"], aorkey, ok["EXPID"], ok["DCENUM"])
            except ValueError:
                expected = None
            if expected is not None and str(raw).strip() != expected:
                problems.append(f"RAWNAME {raw!r} is not {expected!r}")
    return problems


def _check_geometry(header: Mapping[str, Any], ok: dict[str, Any], module: str,
                    check_orientation: bool) -> list[str]:
    problems = []
    if not {"RA_SLT", "DEC_SLT"} <= ok.keys():
        return problems
    slit = (ok["RA_SLT"], ok["DEC_SLT"])
    fov = header.get("RA_FOV"), header.get("DEC_FOV")
    if all(_has_type(v, float) for v in fov):
        distance = separation_arcsec(*slit, *fov)
        if distance > 0.5 * SLIT_LENGTH[module] + _GEOMETRY_SLACK:
            problems.append(f"RA_FOV/DEC_FOV lie {distance:.1f} arcsec from the slit centre, "
                            f"outside the {SLIT_LENGTH[module]} arcsec {module} slit")
    other = header.get("RA_XSLT"), header.get("DEC_XSLT")
    if module in SUBSLIT_SEPARATION and all(_has_type(v, float) for v in other):
        distance = separation_arcsec(*slit, *other)
        if abs(distance - SUBSLIT_SEPARATION[module]) > _GEOMETRY_SLACK:
            problems.append(f"RA_XSLT/DEC_XSLT lie {distance:.1f} arcsec from the slit centre; "
                            f"{module} sub-slits are {SUBSLIT_SEPARATION[module]} apart")
    pa_rqst = header.get("PA_RQST")
    if check_orientation and "PA_SLT" in ok and _has_type(pa_rqst, float):
        error = (pa_rqst - SLIT_ANGLE[module] - ok["PA_SLT"] + 180.0) % 360.0 - 180.0
        if abs(error) > 1.0:
            problems.append(f"PA_SLT {ok['PA_SLT']:.2f} != PA_RQST - {SLIT_ANGLE[module]} "
                            f"(off by {error:.2f} deg)")
    return problems
