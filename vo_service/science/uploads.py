"""A spectrum a client uploads as a reference: VOTable, FITS (binary table) or CSV.

The format is told by the content (FITS starts with ``SIMPLE``, a VOTable holds
``<VOTABLE``; anything else is read as CSV). Columns are found by UCD (``em.wl``,
``phot.flux.density``, ``stat.error``; SDM utypes ending in ``spectralaxis.value``,
``fluxaxis.value``, ``fluxaxis.accuracy.staterror``) or by name (wavelength/wave/lambda,
flux/flux_density, error/flux_error/err/sigma); units are converted to um and Jy where
the file gives them (spectral and spectral-density equivalencies), else um and Jy are
assumed. The SDM files the service itself serves are read back as they are.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from astropy import units as u
from astropy.io import ascii as astropy_ascii
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table

__all__ = ["UploadError", "read_spectrum"]

_WAVE = ("wavelength", "wave", "lambda", "wl", "spectral_axis", "wavelength_um")
_FLUX = ("flux", "flux_density", "fnu", "flux_jy", "flux_density_jy")
_ERROR = ("error", "flux_error", "err", "sigma", "uncertainty", "flux_err", "staterror")
_MAX_POINTS = 200_000


class UploadError(ValueError):
    """An uploaded spectrum that cannot be read; the message is for the user."""


def _votable(data: bytes) -> tuple[Table, dict[str, tuple[str, str]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        votable = parse(io.BytesIO(data), verify="ignore")
    tables = list(votable.iter_tables())
    if not tables:
        raise UploadError("the uploaded VOTable holds no table")
    element = tables[0]
    meta = {f.name: ((f.ucd or "").lower(), (f.utype or "").lower()) for f in element.fields}
    return element.to_table(use_names_over_ids=True), meta


def _fits(data: bytes) -> tuple[Table, dict[str, tuple[str, str]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(io.BytesIO(data), memmap=False) as hdus:
            for hdu in hdus[1:]:
                if isinstance(hdu, fits.BinTableHDU | fits.TableHDU) and hdu.data is not None:
                    header = hdu.header
                    meta = {}
                    for i in range(1, header.get("TFIELDS", 0) + 1):
                        meta[header.get(f"TTYPE{i}", "")] = (
                            str(header.get(f"TUCD{i}", "")).lower(),
                            str(header.get(f"TUTYP{i}", "")).lower())
                    return Table.read(hdu), meta
    raise UploadError("the uploaded FITS file has no table extension with the spectrum")


def _csv(data: bytes) -> tuple[Table, dict[str, tuple[str, str]]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadError("the uploaded spectrum is neither FITS, VOTable nor UTF-8 text "
                          "(CSV)") from None
    try:
        table = astropy_ascii.read(text, format="csv", comment="#")
    except Exception as exc:  # astropy raises many types for unreadable text
        raise UploadError(f"the uploaded spectrum is not a readable CSV table: {exc}") \
            from None
    return table, {}


def _pick(table: Table, meta: dict, names: tuple[str, ...], ucd: str, utype_end: str,
          ucd_excludes: tuple[str, ...] = ()) -> str | None:
    for name in table.colnames:
        utype_of = meta.get(name, ("", ""))[1]
        if utype_of.endswith(utype_end):
            return name
    for name in table.colnames:
        words = meta.get(name, ("", ""))[0].split(";")
        if ucd in words[:1] and not any(x in words for x in ucd_excludes):
            return name
    lowered = {n.lower(): n for n in table.colnames}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _values(table: Table, name: str, target: u.Unit, wave_um: np.ndarray | None
            ) -> np.ndarray:
    column = table[name]
    values = np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)
    unit = column.unit
    if unit is None or str(unit) in ("", "None"):
        return values
    try:
        if wave_um is None:
            return (values * u.Unit(unit)).to_value(target, equivalencies=u.spectral())
        return (values * u.Unit(unit)).to_value(
            target, equivalencies=u.spectral_density(wave_um * u.um))
    except (u.UnitsError, ValueError, TypeError) as exc:
        raise UploadError(f"column {name!r}: cannot convert {unit} to {target}: "
                          f"{exc}") from None


def read_spectrum(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Wavelength (um), flux density and error (Jy; None without an error column)."""
    if not data:
        raise UploadError("the uploaded spectrum is empty")
    try:
        if data[:6] == b"SIMPLE":
            table, meta = _fits(data)
        elif b"<VOTABLE" in data[:4096]:
            table, meta = _votable(data)
        else:
            table, meta = _csv(data)
    except UploadError:
        raise
    except Exception as exc:  # a damaged FITS or VOTable: astropy's many error types
        raise UploadError(f"the uploaded spectrum cannot be read: {exc}") from None
    if len(table) > _MAX_POINTS:
        raise UploadError(f"the uploaded spectrum has {len(table)} points; at most "
                          f"{_MAX_POINTS} are read")
    wave_col = _pick(table, meta, _WAVE, "em.wl", "spectralaxis.value", ("stat.min",))
    flux_col = _pick(table, meta, _FLUX, "phot.flux.density", "fluxaxis.value")
    if wave_col is None or flux_col is None:
        raise UploadError("the uploaded table needs a wavelength and a flux column (by UCD "
                          "em.wl / phot.flux.density or named wavelength and flux); it has "
                          + ", ".join(table.colnames[:12]))
    error_col = _pick(table, meta, _ERROR, "stat.error", "fluxaxis.accuracy.staterror")
    wave = _values(table, wave_col, u.um, None)
    flux = _values(table, flux_col, u.Jy, wave)
    error = _values(table, error_col, u.Jy, wave) if error_col else None
    if np.isfinite(wave).sum() < 3 or np.isfinite(flux).sum() < 3:
        raise UploadError("the uploaded spectrum has fewer than 3 finite points")
    return wave, flux, error
