"""Real CASSIS atlas files as users download them, read into our product model (issue 4,
item 4), so a data centre can publish real spectra beside reduced ones.

Layouts (irs.md 3.3-3.5):

* LR ``cassis_yaaar_spcfw_<AOR>t.fits``: a primary float image (N, 16) whose columns
  COL01DEF.. are wavelength, flux, error (RMS+SYS), ..., module (0 SL1 slit, 1 SL2 slit,
  2 LL1, 3 LL2), order (1-3), nod, status, flag1..3; and its IPAC twin
  ``cassis_tbl_spcfw_<AOR>t.tbl`` (wavelength, flux, error, strip 1..6 = SL1, SL2, SL3,
  LL1, LL2, LL3);
* HR ``cassis_yaaar_{full,optdiff}_<AOR>[_<N>].fits``: a primary image (N, 8): wavelength,
  flux, flux_error, order, line, module (0 throughout), IRS_order, flag (-2^30 throughout);
  each echelle order holds its SH part then its LH part, told apart here by the instrument
  model's order ranges. BUNIT wrongly says e-/sec: the flux is in Jy (irs.md 3.4).

Method mapping onto our vocabulary: HR ``full`` (full aperture, point-like calibration
``_pls``) -> ``HR/fullap/none/nodcomb/point``; HR ``optdiff`` (differential optimal) ->
``HR/optimal/diff/diff/point``; the LR default, whose extraction (CASSIS chooses optimal or
tapered automatically) the file does not state -> ``LR/tapered/bynod/common/point``, with
the CASSIS method recorded in the product's metadata. CASSIS's LR flag1 is kept in bits
8-9 of our flags. Provenance: software CASSIS, ``simulated`` false (the store's
provenance column says ``archive``).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from astropy.io import fits

from pipeline.instrument import default_model
from pipeline.instrument.ipac import IpacError, read_ipac_table
from pipeline.products import Product, ProductError, Provenance, Selection, Spectrum
from pipeline.select import extent_class

__all__ = ["CASSIS_FILE", "CassisFileError", "read_cassis_directory", "read_cassis_file"]

CASSIS_FILE = re.compile(r"^cassis_(yaaar|tbl)_(spcfw|full|optdiff|opt)_(\d{4,10})t?"
                         r"(?:_(\d{1,3}))?\.(fits|tbl)$")
_LR_KEY = "LR/tapered/bynod/common/point"
_HR_KEYS = {"full": "HR/fullap/none/nodcomb/point", "optdiff": "HR/optimal/diff/diff/point",
            "opt": "HR/optimal/localcont/nodcomb/point"}
_LR_MODULE = {0: "SL", 1: "SL", 2: "LL", 3: "LL"}
_LR_STRIP = {1: "SL1", 2: "SL2", 3: "SL3", 4: "LL1", 5: "LL2", 6: "LL3"}


class CassisFileError(ValueError):
    """A file that is not a readable CASSIS product; the message names the file."""


def _header_float(header, key: str) -> float:
    try:
        value = float(header.get(key, math.nan))
    except (TypeError, ValueError):
        return math.nan
    return value


def _spectrum(key: str, wave, flux, error, segment, flag) -> Spectrum:
    """Rows grouped by segment, sorted by wavelength, duplicates within a segment dropped;
    every row with a finite wavelength and flux kept (a missing error stays NaN)."""
    wave, flux, error = (np.asarray(a, float) for a in (wave, flux, error))
    segment, flag = np.asarray(segment).astype(str), np.asarray(flag, np.int64)
    good = np.isfinite(wave) & np.isfinite(flux)
    order = np.lexsort((wave, segment))
    order = order[good[order]]
    wave, flux, error, segment, flag = (a[order] for a in (wave, flux, error, segment, flag))
    keep = np.ones(len(wave), bool)
    keep[1:] = ~((segment[1:] == segment[:-1]) & (wave[1:] <= wave[:-1]))
    starts = {s: float(wave[segment == s].min()) for s in np.unique(segment)}
    by_start = np.argsort([starts[s] for s in segment[keep]], kind="stable")
    arrays = [a[keep][by_start] for a in (wave, flux, error, segment, flag)]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = arrays[1] / arrays[2]
    ratio = ratio[np.isfinite(ratio)]
    return Spectrum.from_key(key, *arrays[:4], arrays[4].astype(np.int32), selected=True,
                             snr=float(np.median(ratio)) if len(ratio) else math.nan)


def _hr_segments(wave: np.ndarray, irs_order: np.ndarray) -> np.ndarray:
    """SH or LH for each row of an echelle order, from the model's order ranges."""
    irs = default_model()
    out = np.empty(len(wave), dtype="<U4")
    for n in np.unique(irs_order.astype(int)):
        sel = irs_order.astype(int) == n
        sh = np.mean(irs.order(f"SH{n}").wavelength_range_um)
        lh = np.mean(irs.order(f"LH{n}").wavelength_range_um)
        out[sel] = np.where(np.abs(np.log(wave[sel] / sh)) < np.abs(np.log(wave[sel] / lh)),
                            f"SH{n}", f"LH{n}")
    return out


def _image(path: Path):
    # from memory (astropy leaks the handle of a corrupt file), astropy's warnings about a
    # broken file raised as errors (ingest reads files in one thread)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with fits.open(io.BytesIO(path.read_bytes())) as hdul:
                header = hdul[0].header.copy()
                data = None if hdul[0].data is None else np.array(hdul[0].data, float)
    except (OSError, ValueError, TypeError, Warning) as exc:
        raise CassisFileError(f"{path.name}: not a readable FITS file ({exc})") from None
    if data is None or data.ndim != 2:
        raise CassisFileError(f"{path.name}: the primary HDU holds no 2-D CASSIS table")
    return header, data


def _product(path: Path, header, cj_id: str, spectrum: Spectrum, method: str) -> Product:
    aorkey, pointing = (int(x) for x in cj_id.split("_"))
    ra = _header_float(header, "RA_AVG")
    dec = _header_float(header, "DEC_AVG")
    if not (math.isfinite(ra) and math.isfinite(dec)):
        ra, dec = _header_float(header, "RA_SLT"), _header_float(header, "DEC_SLT")
    ra_rqst, dec_rqst = _header_float(header, "RA_RQST"), _header_float(header, "DEC_RQST")
    if not (math.isfinite(ra_rqst) and math.isfinite(dec_rqst)):
        ra_rqst, dec_rqst = ra, dec
    if not (math.isfinite(ra_rqst) and math.isfinite(dec_rqst)):
        raise CassisFileError(f"{path.name}: no position in the header")
    redshift = _header_float(header, "REDSHIFT")
    extent = _header_float(header, "EXTENT")  # CASSIS's estimated source size (arcsec)
    metadata = {
        "origin": "archive", "source_file": path.name, "cassis_method": method,
        "mjd_obs": _header_float(header, "MJD_OBS") if math.isfinite(
            _header_float(header, "MJD_OBS")) else None,
        "program_id": int(header["PROGID"]) if str(header.get("PROGID", "")).isdigit()
        else None,
        "modules": sorted({str(s)[:2] for s in spectrum.segment}, key="SLLLSHLH".index),
        "ned_name": str(header["RNAME1"]) if header.get("RNAME1") else None,
        "simbad_name": str(header["RNAME2"]) if header.get("RNAME2") else None,
        "object_type": str(header["OBJTYPE"]).strip() if header.get("OBJTYPE") else None,
        "redshift": redshift if math.isfinite(redshift) and redshift >= 0 else None,
    }
    # the header copies one BCD's keywords (irs.md 2.3; HR files keep EXPID = DCENUM = 0):
    # MJD_OBS starts the observation, RAMPTIME and EXPTOT_T are one exposure's, not the
    # spectrum's, so the end and the total exposure time stay unknown
    arm_meta: dict[str, object] = {"t_min_mjd": metadata["mjd_obs"]}
    if math.isfinite(extent) and extent >= 0:
        arm_meta.update(extent_arcsec=extent, extent_class=extent_class(spectrum.arm, extent))
    metadata[spectrum.arm] = arm_meta
    try:
        return Product(cj_id, aorkey, pointing, str(header.get("OBJECT", "")), ra % 360, dec,
                       ra_rqst % 360, dec_rqst, False,
                       Provenance("CASSIS", str(header.get("CASVE", "unknown")),
                                  (("cassis", "COMPLETE"),), str(header.get("CAL_SET", ""))),
                       {spectrum.arm: Selection(spectrum.key, (f"CASSIS {method}",))},
                       metadata, (spectrum,))
    except ProductError as exc:
        raise CassisFileError(f"{path.name}: {exc}") from exc


def read_cassis_file(path: str | Path) -> Product:
    """One CASSIS file as a Product (see the module docstring)."""
    path = Path(path)
    match = CASSIS_FILE.match(path.name)
    if not match:
        raise CassisFileError(f"{path.name}: not a CASSIS file name "
                              "(cassis_yaaar_*.fits or cassis_tbl_*.tbl)")
    _, method, aorkey, pointing, suffix = match.groups()
    try:
        if suffix == "tbl":
            table = read_ipac_table(path)
            header = {k.upper(): str(v).strip("'\" ") for k, v in table.keywords.items()}
            for ipac, key in (("GLOBALRA", "RA_AVG"), ("GLOBALDEC", "DEC_AVG")):
                if ipac in header:  # the IPAC twin's names for the FITS keys (irs.md 3.3)
                    header.setdefault(key, header[ipac])
            cols = table.columns
            strips = np.asarray(cols["strip"], int)
            segment = np.array([_LR_STRIP.get(int(s), "") for s in strips])
            if np.any(segment == ""):
                raise CassisFileError(f"{path.name}: unknown strip numbers")
            spectrum = _spectrum(_LR_KEY, cols["wavelength"], cols["flux"], cols["error"],
                                 segment, np.zeros(len(strips)))
        else:
            header, data = _image(path)
            if method == "spcfw":
                if data.shape[1] < 15:
                    raise CassisFileError(f"{path.name}: an LR file needs 15 columns")
                module = data[:, 8].astype(int)
                if not np.isin(module, list(_LR_MODULE)).all():
                    raise CassisFileError(f"{path.name}: unknown module numbers")
                segment = np.array([f"{_LR_MODULE[m]}{int(o)}" for m, o in
                                    zip(module, data[:, 9], strict=True)])
                flag = (data[:, 12].astype(int) & 3) << 8
                spectrum = _spectrum(_LR_KEY, data[:, 0], data[:, 1], data[:, 2], segment,
                                     flag)
            else:
                if data.shape[1] < 7:
                    raise CassisFileError(f"{path.name}: an HR file needs 8 columns")
                segment = _hr_segments(data[:, 0], data[:, 6])
                spectrum = _spectrum(_HR_KEYS[method], data[:, 0], data[:, 1], data[:, 2],
                                     segment, np.zeros(len(data)))
    except (IpacError, KeyError, ValueError) as exc:
        if isinstance(exc, CassisFileError):
            raise
        raise CassisFileError(f"{path.name}: {exc}") from None
    point = int(pointing) if pointing else int(_header_float(header, "POINTING") or 0) \
        if math.isfinite(_header_float(header, "POINTING")) else 0
    cj_id = f"{int(aorkey)}_{point}"
    return _product(path, header, cj_id, spectrum,
                    {"spcfw": "LR default", "full": "HR full aperture",
                     "optdiff": "HR differential optimal", "opt": "HR optimal"}[method])


def _merge(products: list[Product]) -> Product:
    """LR and HR files of one position as one product (one spectrum per arm)."""
    first = products[0]
    by_arm = {}
    for p in products:
        for s in p.spectra:
            by_arm.setdefault(s.arm, s)  # the first file of an arm wins (FITS before tbl)
    spectra = tuple(by_arm.values())
    arms: dict[str, object] = {}
    for p in products:  # each arm's size from the file whose spectrum is kept
        for arm in ("LR", "HR"):
            if arm in p.metadata and by_arm.get(arm) in p.spectra:
                arms.setdefault(arm, p.metadata[arm])
    starts = [p.metadata["mjd_obs"] for p in products if p.metadata.get("mjd_obs") is not None]
    metadata = {**first.metadata, **arms, "mjd_obs": min(starts) if starts else None,
                "source_file": " ".join(
        sorted(p.metadata["source_file"] for p in products)),
        "modules": sorted({m for p in products for m in p.metadata["modules"]},
                          key="SLLLSHLH".index)}
    return Product(first.cj_id, first.aorkey, first.pointing, first.object_name,
                   first.ra_deg, first.dec_deg, first.ra_rqst_deg, first.dec_rqst_deg,
                   False, first.provenance,
                   {s.arm: Selection(s.key, ("CASSIS file",)) for s in spectra},
                   metadata, spectra)


def read_cassis_directory(directory: str | Path) -> Iterator[tuple[str, Product, str]]:
    """(ID, product, content hash) for the CASSIS files of a directory, LR and HR files of
    one position merged; FITS files preferred to their IPAC twins."""
    files: dict[str, list[Path]] = {}
    for path in sorted(Path(directory).iterdir()):
        match = CASSIS_FILE.match(path.name)
        if match:
            aorkey, pointing = match.group(3), match.group(4) or "0"
            files.setdefault(f"{int(aorkey)}_{int(pointing)}", []).append(path)
    for paths in files.values():
        paths.sort(key=lambda p: (p.suffix != ".fits", p.name))
        products = [read_cassis_file(p) for p in paths]
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()
        product = _merge(products) if len(products) > 1 else products[0]
        yield product.cj_id, product, digest
