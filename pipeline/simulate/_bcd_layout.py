"""Card layout of a real SSC S18.18 IRS BCD header and a fast FITS card formatter.

Private helper of :mod:`pipeline.simulate.bcd_header`: the keyword order and card comments
of the real HD 173511 SL2 BCD header (irs.md 2.3, local copy in
``tests/data/real_headers/``), its peak-up SIP distortion coefficients, and the code that
turns the layout into a template of constant card images and per-exposure slots.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from functools import lru_cache

__all__ = ["HISTORY", "LAYOUT", "SIP", "Template", "compile_template", "format_card",
           "render", "sip_values"]

#: (order, coefficients, DMAX) of the SIP blocks of the SL peak-up WCS (real SL2 header)
SIP = {
    "A": (3, {"0_2": -1.455e-05, "0_3": -8.005e-08, "1_1": -3.542e-05, "1_2": 4.616e-07,
              "2_0": -0.0004012, "2_1": 3.236e-06, "3_0": -2.239e-06}, 0.179),
    "B": (3, {"0_2": -9.783e-05, "0_3": 8.284e-07, "1_1": -2.749e-05, "1_2": 7.656e-07,
              "2_0": 0.0003392, "2_1": 2.381e-06, "3_0": 9.071e-07}, 0.205),
    "AP": (3, {"0_1": -0.0006218, "0_2": 1.477e-05, "0_3": 7.88e-08, "1_0": 0.0004662,
               "1_1": 3.432e-05, "1_2": -4.51e-07, "2_0": 0.0004012, "2_1": -3.23e-06,
               "3_0": 2.316e-06}, None),
    "BP": (3, {"0_1": 0.000737, "0_2": 9.807e-05, "0_3": -8.328e-07, "1_0": -0.0008341,
               "1_1": 2.79e-05, "1_2": -7.868e-07, "2_0": -0.0003395, "2_1": -2.444e-06,
               "3_0": -9.971e-07}, None),
}

# --------------------------------------------------------------------- the layout
# "KEY|comment|tags" in SSC order (real SL2 header, irs.md 2.3); "" a blank card,
# "/ TEXT" a section title, "@SIP" / "@FLUX" generated blocks. Tags: SL (SL only),
# LR (SL, LL), HR (SH, LH), IMG (not bmask); a title's tag is its third field.
LAYOUT = """\
SIMPLE|Fits standard
BITPIX|
NAXIS|STANDARD FITS FORMAT
NAXIS1|
NAXIS2|
ORIGIN|Organization generating this FITS file
CREATOR|SW version used to create this FITS file
SIMULATE|simulated by cassisjuice-vo, not Spitzer data
TELESCOP|
INSTRUME|
CAL_SET|ID for the set of CAL files used
CHNLNUM|0=SL, 1=SH, 2=LL, 3=LH
FILENAME|File name
FILETYPE|
EXPTYPE|Exposure Type
REQTYPE|Request type (AOR,IER, or SER)
AOT_TYPE|Observation Template Type
AORLABEL|AOR Label
FOVID|Field of View ID
FOVNAME|Field of View Name
READMODE|Readout Mode

/ PROPOSAL INFORMATION

OBSRVR|Observer Name
OBSRVRID|Observer ID of Principal Investigator
PROCYCL|Proposal Cycle
PROGID|Program ID
PROTITLE|Program Title
PROGCAT|Program Category

/ TIME AND EXPOSURE INFORMATION

DATE_OBS|Date & time (UTC) at DCE start
MJD_OBS|[days] MJD in UTC at DCE start (JD-2400000.5)
UTCS_OBS|[sec] DCE start time from noon Jan 1, 2000 UTC
SCLK_OBS|[sec] SCLK time (since 1/1/1980) at DCE start
SAMPTIME|[sec] Sample integration time
REQMODE|ID for mode or type of request
EXPSTRTC|Exposure Start Timestamp Coarse
EXPSTRTF|Exposure Start Timestamp Fine
GRPARVTC|[sec] Coarse Spacecraft Group Time
GRPARVTF|[sec] Fine Spacecraft Group Time
AIRSCMDN|Commanded number of DCEs for IRS
AIRS_DET|Selected IRS detector for exposure command
AIRSEXPM|Current Mode of the IRS Exp Manager
GRPTIME|[sec] Group (w/ spin) integration time
DEADTIME|[sec] Reset + boost(s) time
RAMPTIME|[sec] Ramp (total DCE) integration time
EXPTOT_T|[sec] Integr. time for all DCEs in exposure
AIRSERCT|Number of IRS exposure errors

/ TARGET AND POINTING INFORMATION

OBJECT|Target Name
OBJTYPE|Target Type
CRVAL1|[deg] RA at CRPIX1,CRPIX2 averaged over DCE
CRVAL2|[deg] DEC at CRPIX1,CRPIX2 averaged over DCE
RA_HMS|[hh:mm:ss.s] RA_SLT or CRVAL1 in sexagesimal
DEC_DMS|[dd:mm:ss] DEC_SLT or CRVAL2 in sexagesimal
RADESYS|International Celestial Reference System
EQUINOX|Equinox for ICRF celestial coord. system
CTYPE1|RA---TAN with distortion in pixel space
CTYPE2|DEC--TAN with distortion in pixel space
CRPIX1|Reference pixel along axis 1
CRPIX2|Reference pixel along axis 2
PA|[deg] Position angle of axis 2 (E of N,+=CCW)
RA_RQST|[deg] Commanded RA referenced to commanded FOV
DEC_RQST|[deg] Commanded Dec referenced to commanded FOV
PA_RQST|[deg] Requested pos. angle of axis 2 (E of N)
PM_RA|[arcsec/yr] Proper Motion in RA (J2000)
PM_DEC|[arcsec/yr] Proper Motion in Dec (J2000)
CRDER1|[deg] Uncertainty in RA of SI boresight
CRDER2|[deg] Uncertainty in DEC of SI boresight
SIGRA|[arcsec] RMS dispersion of RA over DCE
SIGDEC|[arcsec] RMS dispersion of DEC over DCE
SIGPA|[arcsec] RMS dispersion of PA over DCE
PTGDIFF|[arcsec] offset btwn actual and rqsted pntng
PTGDIFFX|[arcsec] requested - actual pntg along axis 1
PTGDIFFY|[arcsec] requested - actual pntg along axis 2
RA_REF|[deg] Commanded RA (J2000) of ref. position
DEC_REF|[deg] Commanded Dec (J2000) of ref. position
CD1_1|[deg/pix] CD matrix element 1_1
CD1_2|[deg/pix] CD matrix element 1_2
CD2_1|[deg/pix] CD matrix element 2_1
CD2_2|[deg/pix] CD matrix element 2_2
USEDBPHF|T if Boresight Pointing History File was used.
RMS_JIT|[arcsec] RMS jitter during DCE
RMS_JITY|[arcsec] RMS jitter during DCE along Y
RMS_JITZ|[arcsec] RMS jitter during DCE along Z
RA_FOV|[deg] RA at FOVID averaged over DCE
DEC_FOV|[deg] DEC at FOVID averaged over DCE
PA_FOV|[deg] PA at FOVID averaged over DCE
RA_SLT|[deg] RA at slit center averaged over DCE
DEC_SLT|[deg] DEC at slit center averaged over DCE
PA_SLT|[deg] PA at slit center averaged over DCE
RA_XSLT|[deg] RA at center of non-targeted slit|LR
DEC_XSLT|[deg] DEC at center of non-targeted slit|LR
PA_XSLT|[deg] PA at center of non-targeted slit|LR
RA_BPU|[deg] RA at center of blue peakup image|SL
DEC_BPU|[deg] DEC at center of blue peakup image|SL
RA_RPU|[deg] RA at center of red peakup image|SL
DEC_RPU|[deg] DEC at center of red peakup image|SL
CSDRADEC|[deg] Costandard deviation in RA and Dec
CSD_JTYZ|[arcsec] Costandard deviation of jitter in YZ
BPHFNAME|Boresight Pointing History Filename
FOVVERSN|FOV/BodyFrames file version used
PXSCAL1|[arcsec/pix] Scale for axis1 at CRPIX1,CRPIX2
PXSCAL2|[arcsec/pix] Scale for axis2 at CRPIX1,CRPIX2
VHELCORR|[km/sec] Correction to heliocentric velocity
VLSRCORR|[km/sec] Correction to local standard of rest
SPTZR_X|[km] Heliocentric x position
SPTZR_Y|[km] Heliocentric y position
SPTZR_Z|[km] Heliocentric z position
SPTZR_VX|[km/sec] Heliocentric x velocity
SPTZR_VY|[km/sec] Heliocentric y velocity
SPTZR_VZ|[km/sec] Heliocentric z velocity
ET_OBS|[sec] DCE start time (TDB seconds past J2000)
HMJD_OBS|Corresponding Heliocen. Mod. Julian Date
ZODY_EST|[MJy/sr] zodi at 10/22/15/27 um (SL/LL/SH/LH)


@SIP
/ PHOTOMETRY (IRS IMAGING)

BUNIT|Units of image data|IMG

/ SPECTROPHOTOMETRY IRS SL, LL (CHNLNUM 0, 2)||LR
/ SPECTROPHOTOMETRY IRS SH, LH (CHNLNUM 1, 3)||HR

@FLUX

/ GENERAL MAPPING KEYWORDS

DBEXPOID|Current Exposure ID

/ IRS PEAKUP KEYWORDS

PKUPMODE|Peakup mode (none, IRS, or PCRS)
PKUPACCU|Peakup Accuracy (high, moderate,low)
PKUPFILT|Peakup filter (blue or red)
PKUPFLUX|Flux density of peakup target for IRS [mJy] or
PKUPXTND|Extended source (T/F)
ISPUPOS|PU target given in absolute positions (T) or re
HP_CENQ|Peakup centroid quality code
APKUPCEN|Status of the peakup centroid
AXCNTRD1|[centipixels] X value of the brightest centroid
AYCNTRD1|[centipixels] Y value of the brightest centroid
AXCNTRD2|[centipixels] X value of the second brightest c
AYCNTRD2|[centipixels] Y value of the second brightest c
AINTENS1|[counts] Intensity value of the brightest centr
AINTENS2|[counts] Intensity value of the second brightes
APKUPXCE|[centipixels] X value of the centroid to be ret
APKUPYCE|[centipixels] Y value of the centroid to be ret


/ DATA FLOW KEYWORDS

DATE|[YYYY-MM-DDThh:mm:ss UTC] file creation date
AORKEY|AOR or EIR key. Astrnmy Obs Req/Instr Eng Req
EXPID|Exposure ID (0-9999)
DCENUM|DCE number (0-9999)
TLMGRPS|Number of expected telemetry groups
FILE_VER|Version of the raw file made by SIS
RAWNAME|Raw data file name
SIS_SVER|SIS SW VERsion
CPT_VER|Channel Param Table FOS version
CTD_VER|Cmded telemetry data version
EXPDFLAG|(T/F) expedited DCE
MISS_LCT|Total Missed Line Cnt in this FITS
MANCPKT|T if this FITS is Missing Ancillary Data
MISSDATA|T if this FITS is Missing Image Data
PAONUM|PAO Number
CAMPAIGN|Campaign
DCEID|Data-Collection-Event ID
DCEINSID|DCE Instance ID
DPID|Data Product Instance ID
PIPENUM|Pipeline Script Number
SOS_VER|Data-Product Version
PLVID|Pipeline Version ID
CALID|CalTrans Version ID
ORIGIN0|site where RAW FITS files was written
CREATOR0|SW system that created RAW FITS

SLCHINSQ|Number of rows with poor SL stray light corrrec|SL
SLRUNCOR|Number of rows with no SL stray light corrrecti|SL
XTCHINSQ|Number of rows with poor SH/LH optical crosstal|HR
XTKUNCOR|Number of rows with no SH/LH optical crosstalk|HR
GAIN1|e/DN conversion (readout channel 1)
GAIN2|e/DN conversion (readout channel 2)
GAIN3|e/DN conversion (readout channel 3)
GAIN4|e/DN conversion (readout channel 4)
BASECH1|Trimmed mean channel 1 signal in reference unil
BASECH2|Trimmed mean channel 2 signal in reference unil
BASECH3|Trimmed mean channel 3 signal in reference unil
BASECH4|Trimmed mean channel 4 signal in reference unil

"""
HISTORY = (
    "cassisjuice-vo simulator: keyword set, order and comments mimic SSC",
    "S18.18 IRS BCD headers; every value is simulated, not Spitzer data.",
)

_BLANK = " " * 80
_END = "END".ljust(80)
_BLOCK = 2880
#: one template: constant card images (str) and per-exposure slots (key, prefix, suffix)
Template = tuple[str | tuple[str, str, str], ...]


def _float_text(value: float) -> str:
    """FITS fixed-format real, at most 20 characters, SSC style ('2000.', '1.455E-05')."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite real")
    text = repr(value)
    for digits in range(16, 0, -1):
        if "e" in text or "E" in text:
            mantissa, exponent = text.upper().split("E")
            if "." not in mantissa:
                mantissa += "."
            sign = "-" if exponent.startswith("-") else "+"
            text = f"{mantissa}E{sign}{int(exponent.lstrip('+-')):02d}"
        elif text.endswith(".0"):
            text = text[:-1]
        elif "." not in text:
            text += "."
        if len(text) <= 20:
            return text
        text = f"{value:.{digits}G}"
    raise ValueError(f"cannot format {value!r} as a FITS real")


def _string_text(value: str) -> str:
    """Quoted FITS string (ASCII, quotes doubled, at least 8 characters, at most 68)."""
    if not (value.isascii() and value.isprintable()):
        value = "".join(c if " " <= c <= "~" else "?" for c in value)
    clean = value.rstrip()
    if len(clean) > 33:  # quotes are doubled: trim until the quoted text fits a card
        while len(clean.replace("'", "''")) > 66:
            clean = clean[:-1]
    if "'" in clean:
        clean = clean.replace("'", "''")
    return f"'{clean:<8}'"


def format_card(prefix: str, value: object, suffix: str) -> str:
    """One 80-character card image.

    Parameters
    ----------
    prefix : str
        ``'KEYWORD = '`` (10 characters).
    value : bool, int, float or str
        Booleans, integers and reals are right-justified in columns 11-30 as the FITS
        fixed format asks; strings start in column 11. Reals must be finite.
    suffix : str
        ``' / comment'`` (or empty), padded with blanks to 50 characters for speed.
    """
    kind = value.__class__
    if kind is float:
        text = repr(value)
        if "e" in text or "n" in text or len(text) > 20:  # exponent, inf, nan
            text = _float_text(value)  # type: ignore[arg-type]
        elif text[-2:] == ".0":
            text = text[:-1]
        text = f"{text:>20}"
    elif kind is int:
        text = f"{value:>20d}"
    elif kind is str:
        text = f"{_string_text(value):<20}"  # type: ignore[arg-type]
    elif kind is bool:
        text = "                   T" if value else "                   F"
    elif hasattr(value, "dtype") and hasattr(value, "item"):  # a numpy scalar
        return format_card(prefix, value.item(), suffix)
    elif isinstance(value, (str, float, int)):  # subclasses (IntEnum, str enums, ...)
        base = str if isinstance(value, str) else float if isinstance(value, float) else int
        return format_card(prefix, base(value), suffix)
    else:
        raise TypeError(f"{prefix.strip()} value {value!r} has unsupported type {kind.__name__}")
    card = prefix + text + suffix
    return card if len(card) == 80 else card[:80].ljust(80)


def _slot(key: str, comment: str) -> tuple[str, str, str]:
    return key, f"{key:<8}= ", (f" / {comment}" if comment else "").ljust(50)


def _title(text: str) -> str:
    return f"          / {text}".ljust(80)


def _expand(module: str, kind: str) -> Iterator[tuple[str, str] | str]:
    """Layout lines of one module and kind: (key, comment) pairs or ready card images."""
    tags = {"SL": module == "SL", "LR": module in ("SL", "LL"), "HR": module in ("SH", "LH"),
            "IMG": kind != "bmask"}
    for line in LAYOUT.splitlines():
        head, comment, tag = [*line.split("|"), "", ""][:3]
        if tag and not tags[tag]:
            continue
        if not head:
            yield _BLANK
        elif head.startswith("/"):
            yield _title(head[1:].strip())
        elif head == "@SIP":
            if module == "SL":
                yield from _sip_lines()
        elif head == "@FLUX":
            yield from _flux_lines(module)
        else:
            yield head, comment


def _sip_lines() -> Iterator[tuple[str, str] | str]:
    yield _title("DISTORTION KEYWORDS (IMAGING MODE)")
    for name, (_, coefficients, dmax) in SIP.items():
        yield _BLANK
        axis = "1" if name in ("A", "AP") else "2"
        direction = "detector to sky" if len(name) == 1 else "sky to detector"
        yield f"{name}_ORDER", f"polynomial order, axis {axis}, {direction}"
        for index in coefficients:
            yield f"{name}_{index}", "distortion coefficient"
        if dmax is not None:
            yield f"{name}_DMAX", "[pixel] maximum correction"
    yield _BLANK


def sip_values() -> dict[str, object]:
    """Values of the SIP keywords generated by the layout."""
    values: dict[str, object] = {}
    for name, (order, coefficients, dmax) in SIP.items():
        values[f"{name}_ORDER"] = order
        values.update({f"{name}_{index}": c for index, c in coefficients.items()})
        if dmax is not None:
            values[f"{name}_DMAX"] = dmax
    return values


def _flux_lines(module: str) -> Iterator[tuple[str, str]]:
    if module in ("SL", "LL"):
        for order in (1, 2, 3):
            which = "Bonus Order" if order == 3 else f"Order {order}"
            yield f"FLXCON{order:02d}", f"[electrons/sec/Jy] Flux conversion {which}"
            yield f"FLXERR{order:02d}", f"Flux conversion uncertainties Order {order}"
    else:
        for order in range(11, 21):
            yield f"FLXCON{order}", f"[electrons/sec/Jy] Flux conversion Order {order}"
            yield f"FLXERR{order}", f"Flux conversion uncertainties Order {order}"


def compile_template(module: str, kind: str, static: Mapping[str, object],
                     dynamic: frozenset[str]) -> Template:
    """Pre-format the constant cards of a (module, kind) header; keep slots for the rest.

    Parameters
    ----------
    module, kind : str
        Module ('SL', 'LL', 'SH', 'LH') and product kind ('bcd', 'func', 'bmask').
    static : mapping
        Constant values, or (value, comment) pairs overriding the layout comment.
    dynamic : frozenset of str
        Keywords whose values change per exposure.

    Returns
    -------
    Template
        Runs of constant card images joined into single strings, and slots.
    """
    parts: list[str | tuple[str, str, str]] = []
    run: list[str] = []
    for item in _expand(module, kind):
        if isinstance(item, str):
            run.append(item)
            continue
        key, comment = item
        if key in dynamic:
            if run:
                parts.append("".join(run))
                run = []
            parts.append(_slot(key, comment))
        elif key in static:
            value = static[key]
            if isinstance(value, tuple):
                value, comment = value
            _, prefix, suffix = _slot(key, comment)
            run.append(format_card(prefix, value, suffix))
        else:
            raise KeyError(f"layout keyword {key} has neither a constant nor a per-exposure value")
    run.extend(f"HISTORY {line}".ljust(80) for line in HISTORY)
    run.append(_END)
    parts.append("".join(run))
    return tuple(parts)


#: the three files of a DCE (BCD, func, bmask) share most per-exposure values, and many
#: values repeat across the DCEs of an AOR: a card is formatted once
_cached_card = lru_cache(maxsize=8192, typed=True)(format_card)


def render(template: Template, values: Mapping[str, object]) -> str:
    """Fill a template's slots (a None value drops the card) and pad to 2880 bytes."""
    out = []
    append, card = out.append, _cached_card
    for part in template:
        if part.__class__ is str:
            append(part)  # type: ignore[arg-type]
        else:
            key, prefix, suffix = part  # type: ignore[misc]
            value = values[key]
            if value is not None:
                append(card(prefix, value, suffix))
    text = "".join(out)
    return text + " " * (-len(text) % _BLOCK)
