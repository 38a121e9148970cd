"""Values of the per-exposure and constant keywords of simulated IRS BCD headers.

Private helper of :mod:`pipeline.simulate.bcd_header`. Geometry follows the SSC
conventions, verified on the real HD 173511 header to a few milliarcseconds: with theta the
position angle of the focal-plane +Z axis, a FRAMETABLE offset (dY, dZ) lies on the sky at
position angle theta + atan2(dY, dZ); PA_RQST = theta + 90 and PA_SLT = PA_RQST - (the
FRAMETABLE slit angle). Times follow the real headers: UTCS_OBS counts UTC seconds (no
leap seconds) from 2000-01-01T12:00, ET_OBS adds TAI-UTC + 32.184 s + TDB-TT, SCLK_OBS
adds a clock offset interpolated between the three real headers. Values with no physical
model here (jitter, IDs, peak-up centroids, readout baselines) are plausible deterministic
functions of AORKEY, EXPID and DCENUM.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING

from pipeline.instrument import CHANNELS, default_model

from ._bcd_layout import sip_values
from .naming import rawname

if TYPE_CHECKING:
    from .bcd_header import ExposureInfo

__all__ = [
    "DYNAMIC",
    "FOV_TABLE",
    "MODULES",
    "RAMP_SETTINGS",
    "SAMPTIME_S",
    "SLIT_ANGLE",
    "SLIT_LENGTH",
    "SUBSLIT_SEPARATION",
    "VERSION",
    "exposure_values",
    "separation_arcsec",
    "static_values",
]

MODULES = dict(CHANNELS)

# ----------------------------------------------------------------------------- FOVs


def _build_fov_table() -> dict[int, tuple[str, int | None, int, str]]:
    """FOVID -> (module, order, nod, FOVNAME): the instrument model's staring FOVs, plus
    the two "Both" module centres (irs.md 1.3), which no staring target is placed in."""
    table: dict[int, tuple[str, int | None, int, str]] = {
        fovid: (module, int(subslit[2:]) if module in ("SL", "LL") else None, nod, name)
        for fovid, (module, subslit, nod, name) in default_model().fovs.items()
    }
    table[29] = ("SL", None, 0, "IRS_Short-Lo_Module_Center")
    table[41] = ("LL", None, 0, "IRS_Long-Lo_Module_Center")
    return dict(sorted(table.items()))


#: FOVID -> (module, order or None, nod (0 = centre), FOVNAME) for the spectral FOVs
FOV_TABLE: Mapping[int, tuple[str, int | None, int, str]] = MappingProxyType(_build_fov_table())


# ------------------------------------------------------------------ instrument facts

#: RAMPTIME -> (TLMGRPS, GRPTIME); RAMPTIME = (TLMGRPS - 1) GRPTIME (irs.md 1.7)
RAMP_SETTINGS: Mapping[float, tuple[int, float]] = MappingProxyType({
    6.29: (4, 2.0972), 14.68: (8, 2.0972), 31.46: (16, 2.0972), 60.95: (16, 4.0632),
    121.9: (16, 8.1264)})
SAMPTIME_S = 1.0486
#: arcsec/pixel (PXSCAL1, PXSCAL2): SL from the real header, others from PLATESCALEv2
_PXSCAL = {"SL": (1.84447802603245, 1.81882081087679), "LL": (5.08, 5.08),
           "SH": (2.26, 2.26), "LH": (4.46, 4.46)}
#: FRAMETABLEv4 slit angles (deg) and focal-plane positions (theta_Y, theta_Z; arcmin)
SLIT_ANGLE = {"SL": 275.06, "LL": 358.8, "SH": 318.53, "LH": 43.34}
_FRAME = {"BPU": (-13.5203, 1.8967), "RPU": (-11.6492, 2.0004),
          ("SL", 1): (-12.0262, -2.7920), ("SL", 2): (-11.9109, -4.0930),
          ("SL", None): (-11.9685, -3.4425)}
#: real HD 173511 header: PA - PA_RQST = -1.2617 deg; axis 1 lies 89.0588 deg from axis 2
_SL_PA_OFFSET, _SL_AXIS1_ANGLE = -1.2617, 89.0588
#: slit lengths (arcsec, irs.md 1.1) and sub-slit centre separations (FRAMETABLE, irs.md 1.3)
SLIT_LENGTH = {"SL": 57.0, "LL": 168.0, "SH": 11.3, "LH": 22.3}
SUBSLIT_SEPARATION = {"SL": 78.37, "LL": 191.58}
#: peak-up field centres on the SL array (pixels; AXCNTRD values of the real headers)
_PU_CENTRE = {"BLUE": (108.0, 30.0), "RED": (106.0, 94.0)}
#: (MJD, SCLK - UTCS, DCEID, DCEINSID, DBEXPOID, PAONUM, DPID) of the three real headers
_ANCHORS = ((53301.760082, 631195329.588, 21903995, 4647798, 1928014, 858, 327186452),
            (54054.516676, 631195341.464, 67077505, 14393913, 5246276, 2122, 328615142),
            (54954.5037618, 631195441.816, 119284320, 24688804, 10836962, 3456, 330863240))
_AU_KM, _C_KM_S = 149597870.7, 299792.458
_OBLIQUITY = math.radians(23.4393)
_SUN_APEX = (math.radians(270.959), math.radians(30.0047))  # 20 km/s, standard solar motion
_ARCSEC = math.pi / (180.0 * 3600.0)
_J2000_NOON = datetime(2000, 1, 1, 12, 0, 0)


def _software_version() -> str:
    try:
        return importlib.metadata.version("cassisjuice-vo")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def _creation_date() -> str:
    """File creation date: SOURCE_DATE_EPOCH if set (reproducible files), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    seconds = int(epoch) if epoch and epoch.isdigit() else int(time.time())
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


VERSION = _software_version()
_DATE = _creation_date()
_MASK64 = (1 << 64) - 1
_FILETYPE = {"bcd": "fits-irs2d-flux", "func": "fits-irs2d-unc", "bmask": "fits-irs2d-bmask"}

# ------------------------------------------------------------- computed keywords


def _uniforms(seed: int, count: int) -> list[float]:
    """Deterministic uniform deviates in [0, 1) (splitmix64) for plausible jitter values."""
    out, state = [], seed & _MASK64
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        out.append(((z ^ (z >> 31)) >> 11) / 9007199254740992.0)
    return out


def _anchored(mjd: float) -> list[float]:
    """Clock offset and running IDs, linear between (and beyond) the real headers' dates."""
    lo, hi = (_ANCHORS[0], _ANCHORS[1]) if mjd < _ANCHORS[1][0] else (_ANCHORS[1], _ANCHORS[2])
    f = (mjd - lo[0]) / (hi[0] - lo[0])
    return [a + f * (b - a) for a, b in zip(lo[1:], hi[1:], strict=True)]


def _offset(ra0: float, dec0: float, xi: float, eta: float) -> tuple[float, float]:
    """Position at tangent-plane offsets (arcsec; xi east, eta north) from (ra0, dec0)."""
    x, y, d0 = xi * _ARCSEC, eta * _ARCSEC, math.radians(dec0)
    denom = math.cos(d0) - y * math.sin(d0)
    ra = math.radians(ra0) + math.atan2(x, denom)
    dec = math.atan2(math.sin(d0) + y * math.cos(d0), math.hypot(x, denom))
    return math.degrees(ra) % 360.0, math.degrees(dec)


def _tangent(ra0: float, dec0: float, ra: float, dec: float) -> tuple[float, float]:
    """Tangent-plane offsets (arcsec) of (ra, dec) about (ra0, dec0)."""
    d0, d, da = math.radians(dec0), math.radians(dec), math.radians(ra - ra0)
    cosc = math.sin(d0) * math.sin(d) + math.cos(d0) * math.cos(d) * math.cos(da)
    xi = math.cos(d) * math.sin(da) / cosc
    eta = (math.cos(d0) * math.sin(d) - math.sin(d0) * math.cos(d) * math.cos(da)) / cosc
    return xi / _ARCSEC, eta / _ARCSEC


def separation_arcsec(ra0: float, dec0: float, ra: float, dec: float) -> float:
    """Angular distance (arcsec) between two positions (haversine)."""
    d0, d = math.radians(dec0), math.radians(dec)
    h = (math.sin((d - d0) / 2.0) ** 2
         + math.cos(d0) * math.cos(d) * math.sin(math.radians(ra - ra0) / 2.0) ** 2)
    return 2.0 * math.asin(min(1.0, math.sqrt(h))) / _ARCSEC


def _focal_to_sky(ra0: float, dec0: float, theta: float, point, origin) -> tuple[float, float]:
    """Sky position of a FRAMETABLE point, given the sky position of ``origin``."""
    dy, dz = 60.0 * (point[0] - origin[0]), 60.0 * (point[1] - origin[1])
    t = math.radians(theta)
    return _offset(ra0, dec0, dz * math.sin(t) + dy * math.cos(t),
                   dz * math.cos(t) - dy * math.sin(t))


def _wrap180(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0 if (angle + 180.0) % 360.0 else 180.0


def _sexagesimal(ra: float, dec: float) -> tuple[str, str]:
    tenths = round(ra % 360.0 / 15.0 * 36000.0) % 864000
    h, rest = divmod(tenths, 36000)
    m, t = divmod(rest, 600)
    seconds = round(abs(dec) * 3600.0)
    d, rest = divmod(seconds, 3600)
    return (f"{h:02d}h{m:02d}m{t // 10:02d}.{t % 10}s",
            f"{'-' if dec < 0 else '+'}{d:02d}d{rest // 60:02d}m{rest % 60:02d}s")


def _geometry(info: ExposureInfo, order: int | None) -> dict[str, object]:
    """WCS, peak-up field centres and pointing-difference keywords (SSC conventions)."""
    module = info.module
    pa_slt = _wrap180(info.pa_slt)
    theta = info.pa_slt + SLIT_ANGLE[module] - 90.0  # position angle of focal-plane +Z
    out: dict[str, object] = {
        "RA_SLT": info.ra_slt, "DEC_SLT": info.dec_slt, "PA_SLT": pa_slt,
        "RA_FOV": info.ra_fov, "DEC_FOV": info.dec_fov, "PA_FOV": pa_slt,
        "RA_XSLT": info.ra_xslt, "DEC_XSLT": info.dec_xslt,
        "PA_XSLT": None if info.ra_xslt is None else pa_slt,
        "RA_RQST": info.ra_rqst, "DEC_RQST": info.dec_rqst, "PA_RQST": info.pa_rqst % 360.0,
        "RA_REF": info.ra_rqst, "DEC_REF": info.dec_rqst,
    }
    if module == "SL":  # the WCS of an SL BCD is the blue peak-up field's
        origin = _FRAME[("SL", order)]
        crval = _focal_to_sky(info.ra_slt, info.dec_slt, theta, _FRAME["BPU"], origin)
        rpu = _focal_to_sky(info.ra_slt, info.dec_slt, theta, _FRAME["RPU"], origin)
        out.update(RA_BPU=crval[0], DEC_BPU=crval[1], RA_RPU=rpu[0], DEC_RPU=rpu[1])
        pa = (theta + 90.0 + _SL_PA_OFFSET) % 360.0
        pa1 = pa + _SL_AXIS1_ANGLE
    else:  # slit centre at the array centre, the slit along axis 1
        crval = (info.ra_slt, info.dec_slt)
        pa = (pa_slt - 90.0) % 360.0
        pa1 = pa + 90.0
    s1, s2 = (s / 3600.0 for s in _PXSCAL[module])
    r, r1 = math.radians(pa), math.radians(pa1)
    xi, eta = _tangent(info.ra_fov, info.dec_fov, info.ra_rqst, info.dec_rqst)
    out.update(
        CRVAL1=crval[0], CRVAL2=crval[1], PA=pa,
        CD1_1=s1 * math.sin(r1), CD1_2=s2 * math.sin(r),
        CD2_1=s1 * math.cos(r1), CD2_2=s2 * math.cos(r),
        PTGDIFF=math.hypot(xi, eta),
        PTGDIFFX=xi * math.sin(r1) + eta * math.cos(r1),
        PTGDIFFY=xi * math.sin(r) + eta * math.cos(r),
    )
    out["RA_HMS"], out["DEC_DMS"] = _sexagesimal(*crval)
    return out


def _ephemeris(mjd: float, ra: float, dec: float) -> dict[str, object]:
    """Approximate heliocentric state of Spitzer and the velocity/light-time corrections.

    Spitzer trails the Earth on a ~1.0125 AU orbit; the trailing angle is fitted to the
    three real headers (6 deg in 2004, 21 in 2006, 42 in 2009), good to ~1 deg.
    """
    d = mjd - 51544.5
    g = math.radians(357.528 + 0.9856003 * d)
    sun = 280.460 + 0.9856474 * d + 1.915 * math.sin(g) + 0.020 * math.sin(2.0 * g)
    years = (mjd - 52876.0) / 365.25  # launch, 2003 August 25
    lon = math.radians(sun + 180.0 - max(0.0, -1.9 + 6.73 * years + 0.161 * years * years))
    ce, se = math.cos(_OBLIQUITY), math.sin(_OBLIQUITY)
    r, v = 1.0125 * _AU_KM, 29.7847 / math.sqrt(1.0125)
    pos = (r * math.cos(lon), r * math.sin(lon) * ce, r * math.sin(lon) * se)
    vel = (-v * math.sin(lon), v * math.cos(lon) * ce, v * math.cos(lon) * se)
    a, dd = math.radians(ra), math.radians(dec)
    n = (math.cos(dd) * math.cos(a), math.cos(dd) * math.sin(a), math.sin(dd))
    apex = (math.cos(_SUN_APEX[1]) * math.cos(_SUN_APEX[0]),
            math.cos(_SUN_APEX[1]) * math.sin(_SUN_APEX[0]), math.sin(_SUN_APEX[1]))
    vhel = sum(p * q for p, q in zip(vel, n, strict=True))
    light_s = sum(p * q for p, q in zip(pos, n, strict=True)) / _C_KM_S
    tai_utc = 32 if mjd < 53736 else 33 if mjd < 54832 else 34 if mjd < 56109 else 35
    return {
        "VHELCORR": round(vhel, 1),
        "VLSRCORR": round(vhel + 20.0 * sum(p * q for p, q in zip(apex, n, strict=True)), 1),
        "SPTZR_X": round(pos[0], 6), "SPTZR_Y": round(pos[1], 6), "SPTZR_Z": round(pos[2], 6),
        "SPTZR_VX": round(vel[0], 6), "SPTZR_VY": round(vel[1], 6),
        "SPTZR_VZ": round(vel[2], 6),
        "HMJD_OBS": round(mjd + light_s / 86400.0, 7),
        "_TDB_UTC": tai_utc + 32.184 + 0.001657 * math.sin(g),
    }


def exposure_values(info: ExposureInfo) -> dict[str, object]:
    """Values of the per-exposure keywords.

    Parameters
    ----------
    info : ExposureInfo
        A validated exposure.

    Returns
    -------
    dict
        Keyword -> value for every name in :data:`DYNAMIC` that applies to the module
        (FILENAME excepted, it depends on the product kind); None drops a card.
    """
    module, order = info.module, FOV_TABLE[info.fovid][1]
    tlmgrps, grptime = RAMP_SETTINGS[info.ramptime_s]
    deadtime = round(3.0 * grptime, 4)  # irs.md 1.7; not checked for the long ramps
    # one DCE every RAMPTIME + DEADTIME + SAMPTIME (13.63 s for 6.29 s ramps), the first
    # 7.36 s after the exposure start (EXPSTRTC/F of the three real headers)
    period = info.ramptime_s + deadtime + SAMPTIME_S
    mjd = info.mjd_obs
    ms = round((mjd - 51544.5) * 86_400_000)
    stamp = _J2000_NOON + timedelta(milliseconds=ms)
    utcs = ms / 1000.0
    clock, dceid, dceinsid, _, paonum, dpid = _anchored(mjd)
    sclk = round(utcs + clock, 3)
    start = sclk - 7.36 - info.dcenum * period  # exposure start, before the first DCE
    dbexpoid = _anchored(mjd - (7.36 + info.dcenum * period) / 86400.0)[3]
    u = _uniforms(info.aorkey * 1_000_003 + info.expid * 10_007 + info.dcenum, 16)
    a = _uniforms(info.aorkey, 5)
    filt = "RED" if a[0] < 0.5 else "BLUE"
    pkupflux = float(round(20.0 + 480.0 * a[1]))
    centre = _PU_CENTRE[filt]
    xcen = round(100 * (centre[0] + 3 * a[2] - 1.5))
    ycen = round(100 * (centre[1] + 3 * a[3] - 1.5))
    jit_y, jit_z = 0.004 + 0.02 * u[3], 0.004 + 0.02 * u[4]
    sci = info.exptype == "sp"
    values: dict[str, object] = {
        "SIMULATE": info.simulated, "CAL_SET": info.cal_set, "EXPTYPE": info.exptype,
        "AORLABEL": info.aorlabel, "FOVID": info.fovid, "FOVNAME": info.fovname,
        "OBSRVR": info.obsrvr, "OBSRVRID": 1 + info.progid % 997,
        "PROCYCL": min(5, max(1, 1 + int((mjd - 53157.0) / 365.25))),
        "PROGID": info.progid, "PROTITLE": info.protitle,
        "PROGCAT": 20 + info.progid % 12 if sci else 32,
        "DATE_OBS": f"{stamp:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}",
        "MJD_OBS": round(mjd, 7), "UTCS_OBS": utcs, "SCLK_OBS": sclk, "SAMPTIME": SAMPTIME_S,
        "EXPSTRTC": int(start), "EXPSTRTF": int((start - int(start)) * 65536.0),
        "GRPARVTC": round(sclk + info.ramptime_s / 2.0), "AIRSCMDN": info.n_dce_commanded,
        "GRPTIME": grptime, "DEADTIME": deadtime, "RAMPTIME": info.ramptime_s,
        "EXPTOT_T": round(info.n_dce_commanded * info.ramptime_s, 2),
        "OBJECT": info.object_name, "OBJTYPE": info.objtype,
        "CRDER1": round(0.0003 + 2e-6 * u[0], 12), "CRDER2": round(0.0003 + 2e-6 * u[1], 12),
        "SIGRA": round(0.01 + 0.04 * u[2], 6), "SIGDEC": round(0.008 + 0.04 * u[5], 6),
        "SIGPA": round(0.03 + 0.06 * u[6], 6), "RMS_JIT": round(math.hypot(jit_y, jit_z), 6),
        "RMS_JITY": round(jit_y, 6), "RMS_JITZ": round(jit_z, 6),
        "CSDRADEC": round(4e-6 + 5e-6 * u[7], 12), "CSD_JTYZ": round(0.04 * (u[8] - 0.5), 6),
        "BPHFNAME": f"BPHF.{int(sclk // 14400 * 14400):010d}.03.pntg",
        "DBEXPOID": int(dbexpoid), "PKUPFILT": filt, "PKUPFLUX": pkupflux,
        "AXCNTRD1": xcen, "AYCNTRD1": ycen, "AINTENS1": int(pkupflux * (2500 + 1000 * a[4])),
        "APKUPXCE": xcen, "APKUPYCE": ycen,
        "AORKEY": str(info.aorkey), "EXPID": info.expid, "DCENUM": info.dcenum,
        "TLMGRPS": tlmgrps,
        "RAWNAME": rawname(info.chnlnum, info.aorkey, info.expid, info.dcenum),
        "EXPDFLAG": not sci, "PAONUM": int(paonum), "CAMPAIGN": info.campaign,
        "DCEID": int(dceid), "DCEINSID": int(dceinsid), "DPID": int(dpid),
        "SLCHINSQ": int(60 * u[9]), "SLRUNCOR": int(100 * u[10]),
        "BASECH1": round(29000 + 9000 * u[11], 2), "BASECH2": round(29000 + 9000 * u[12], 2),
        "BASECH3": round(29000 + 9000 * u[13], 2), "BASECH4": round(29000 + 9000 * u[14], 2),
        "ZODY_EST": None if info.zody_est is None else round(info.zody_est, 4),
    }
    values.update(_geometry(info, order))
    values.update(_ephemeris(mjd, info.ra_slt, info.dec_slt))
    values["ET_OBS"] = round(utcs + values.pop("_TDB_UTC"), 3)  # type: ignore[operator]
    digits = "{:02d}" if module in ("SL", "LL") else "{}"
    error = info.fluxcon_error
    for o, value in info.fluxcon.items():
        values["FLXCON" + digits.format(o)] = value
        values["FLXERR" + digits.format(o)] = error[o] if isinstance(error, Mapping) else error
    return values


#: keywords whose values change per exposure (the others are formatted once per template)
_DYNAMIC_NAMES = (
    "FILENAME SIMULATE CAL_SET EXPTYPE AORLABEL FOVID FOVNAME OBSRVR OBSRVRID PROCYCL PROGID "
    "PROTITLE PROGCAT DATE_OBS MJD_OBS UTCS_OBS SCLK_OBS SAMPTIME EXPSTRTC EXPSTRTF GRPARVTC "
    "AIRSCMDN GRPTIME DEADTIME RAMPTIME EXPTOT_T OBJECT OBJTYPE CRVAL1 CRVAL2 RA_HMS DEC_DMS "
    "PA RA_RQST DEC_RQST PA_RQST CRDER1 CRDER2 SIGRA SIGDEC SIGPA PTGDIFF PTGDIFFX PTGDIFFY "
    "RA_REF DEC_REF CD1_1 CD1_2 CD2_1 CD2_2 RMS_JIT RMS_JITY RMS_JITZ RA_FOV DEC_FOV PA_FOV "
    "RA_SLT DEC_SLT PA_SLT RA_XSLT DEC_XSLT PA_XSLT RA_BPU DEC_BPU RA_RPU DEC_RPU CSDRADEC "
    "CSD_JTYZ BPHFNAME VHELCORR VLSRCORR SPTZR_X SPTZR_Y SPTZR_Z SPTZR_VX SPTZR_VY SPTZR_VZ "
    "ET_OBS HMJD_OBS DBEXPOID PKUPFILT PKUPFLUX AXCNTRD1 AYCNTRD1 AINTENS1 APKUPXCE APKUPYCE "
    "AORKEY EXPID DCENUM TLMGRPS RAWNAME EXPDFLAG PAONUM CAMPAIGN DCEID DCEINSID DPID SLCHINSQ "
    "SLRUNCOR BASECH1 BASECH2 BASECH3 BASECH4 ZODY_EST"
)
DYNAMIC = frozenset(
    _DYNAMIC_NAMES.split()
    + [f"FLX{w}{o:02d}" for w in ("CON", "ERR") for o in (*range(1, 4), *range(11, 21))]
)


def static_values(chnlnum: int, kind: str) -> dict[str, object]:
    """Constant keyword values of one module and product kind."""
    module = MODULES[chnlnum]
    sl = module == "SL"
    nosip = "{}--TAN projection (no distortion keywords)"
    values: dict[str, object] = {
        "SIMPLE": True,
        "BITPIX": (32, "FOUR-BYTE TWOS-COMPLEMENT INTEGER") if kind == "bmask"
        else (-32, "FOUR-BYTE SINGLE PRECISION FLOATING POINT"),
        "NAXIS": 2, "NAXIS1": 128, "NAXIS2": 128,
        "ORIGIN": "cassisjuice-vo simulator", "CREATOR": f"cassisjuice-vo {VERSION}",
        "TELESCOP": "Spitzer", "INSTRUME": "IRSX", "CHNLNUM": chnlnum,
        "FILETYPE": _FILETYPE[kind], "REQTYPE": "AOR", "AOT_TYPE": "IrsStare",
        "READMODE": "RAW", "REQMODE": 5, "GRPARVTF": 0, "AIRS_DET": chnlnum, "AIRSEXPM": 1,
        "AIRSERCT": 0, "RADESYS": "ICRS", "EQUINOX": 2000.0,
        "CTYPE1": "RA---TAN-SIP" if sl else ("RA---TAN", nosip.format("RA-")),
        "CTYPE2": "DEC--TAN-SIP" if sl else ("DEC--TAN", nosip.format("DEC")),
        "CRPIX1": 108.0 if sl else 64.5, "CRPIX2": 31.0 if sl else 64.5,
        "PM_RA": 0.0, "PM_DEC": 0.0, "USEDBPHF": True, "FOVVERSN": "BodyFrames_FTU_22b.xls",
        "PXSCAL1": _PXSCAL[module][0], "PXSCAL2": _PXSCAL[module][1], "BUNIT": "e-/sec",
        "PKUPMODE": "IRS", "PKUPACCU": "High", "PKUPXTND": False, "ISPUPOS": False,
        "HP_CENQ": 0, "APKUPCEN": 1, "AXCNTRD2": 0, "AYCNTRD2": 0, "AINTENS2": 0,
        "DATE": _DATE, "FILE_VER": 1, "SIS_SVER": "J5.3", "CPT_VER": "3.1.11",
        "CTD_VER": "3.0.94S", "MISS_LCT": 0, "MANCPKT": False, "MISSDATA": False,
        "PIPENUM": 201, "SOS_VER": 1.0, "PLVID": 8, "CALID": 2, "ORIGIN0": "JPL_FOS",
        "CREATOR0": "J5.3", "XTCHINSQ": 0, "XTKUNCOR": 0,
        **{f"GAIN{i}": 4.6 for i in range(1, 5)},
    }
    values.update(sip_values())
    return values


