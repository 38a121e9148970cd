"""Spectra as served: Spectrum DM VOTable, FITS binary table, CSV, and a PNG preview.

One :class:`ServedSpectrum` (arrays plus the metadata a client needs) is serialised three
ways, each readable without help (clients.md sec. 6, 8; standards.md sec. 11):

* VOTable (``application/x-votable+xml``): RESOURCE and TABLE ``utype="spec:Spectrum"``,
  SDM 1.x PARAMs (``spec:Spectrum.Target.Name``, ``...SpatialAxis.Coverage.Location.Value``
  ...), and the FIELDs ``wavelength`` (um), ``flux``, ``error`` in that order with their
  ``spec:Spectrum.Data.*`` utypes, then ``segment`` (order) and ``flag``. SPLAT-VO matches
  the utype suffixes, astropy ``Table.read`` the units.
* FITS (``application/fits``): an empty primary HDU with the SDM header keywords
  (``VOCLASS``, ``OBJECT``, ``RA``/``DEC``, ``TMID``, ``SPEC_VAL``...), then HDU 1 a BINTABLE,
  one row per point, columns in the same order with ``TUNITn``, ``TUCDn``, ``TUTYPn``:
  ``specutils`` takes the first wavelength-like column as the spectral axis, the next Jy
  column as flux and the following same-unit column as its uncertainty (clients.md sec. 8).
* CSV (``text/csv``): a header line, then one point per line.

Flux units: Jy (native), mJy, or F_lambda in W m-2 um-1 (``flux_unit``), as SODA offers.
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .metadata import load
from .votable import FieldSpec, ParamSpec, field_from_column, param_from_column, results_votable

__all__ = [
    "FLUX_UNITS", "FORMATS", "ServedSpectrum", "SpectrumError", "band_cutout", "to_csv",
    "to_fits", "to_png", "to_votable",
]

#: c in um/s: F_lambda [W m-2 um-1] = F_nu [Jy] * 1e-26 * c / lambda^2
_C_UM_PER_S = 2.99792458e14
#: flux units offered, with their VOUnit spelling and SDM UCD
FLUX_UNITS = {
    "Jy": ("Jy", "phot.flux.density;em.wl"),
    "mJy": ("mJy", "phot.flux.density;em.wl"),
    "W.m-2.um-1": ("W.m-2.um-1", "phot.flux.density;em.wl"),
}
_FLUX_ALIASES = {"jy": "Jy", "mjy": "mJy", "w.m-2.um-1": "W.m-2.um-1",
                 "w/m2/um": "W.m-2.um-1", "w.m**-2.um**-1": "W.m-2.um-1"}
_UTYPE = "spec:Spectrum"
#: one preview rendered at a time per process (see to_png)
_RENDER_LOCK = threading.Lock()


class SpectrumError(ValueError):
    """A request on a spectrum cannot be served (empty cut-out, unknown unit...)."""


@dataclass(frozen=True, eq=False)
class ServedSpectrum:
    """A spectrum with what its serialisations need.

    Attributes
    ----------
    publisher_did : str
        ``ivo://<authority>/cassisjuice?<ID>/<ARM>[/<variant>]``.
    title : str
        Human-readable title (``DataID.Title``).
    object_name : str
    ra_deg, dec_deg : float
        ICRS position of the spectrum (NaN if unknown).
    mjd_obs : float
        Observation mid-time (NaN if unknown).
    aperture_arcsec : float
        Slit width (``Char.SpatialAxis.Coverage.Bounds.Extent``).
    resolving_power : float
    publisher : str
    simulated : bool
    wavelength_um, flux, error : ndarray
        Flux and error in ``flux_unit``.
    segment : ndarray of str
        Module/order of each point.
    flag : ndarray of int
    flux_unit : str
        A key of FLUX_UNITS.
    extra : tuple of (FieldSpec, ndarray)
        Further per-point columns after ``flag`` (a template's number of spectra per
        bin), serialised like the others.
    """

    publisher_did: str
    title: str
    object_name: str
    ra_deg: float
    dec_deg: float
    mjd_obs: float
    aperture_arcsec: float
    resolving_power: float
    publisher: str
    simulated: bool
    wavelength_um: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    segment: np.ndarray
    flag: np.ndarray
    flux_unit: str = "Jy"
    extra: tuple[tuple[FieldSpec, np.ndarray], ...] = ()

    @property
    def n_points(self) -> int:
        return len(self.wavelength_um)

    def in_unit(self, unit: str) -> ServedSpectrum:
        """The same spectrum with flux and error in ``unit`` (Jy, mJy, W.m-2.um-1)."""
        target = _FLUX_ALIASES.get(unit.strip().lower())
        if target is None:
            raise SpectrumError(f"unknown flux unit {unit!r}; offered: "
                                f"{', '.join(FLUX_UNITS)}")
        factor = _per_jy(target, self.wavelength_um) / _per_jy(self.flux_unit,
                                                               self.wavelength_um)
        return replace(self, flux=self.flux * factor, error=self.error * factor,
                       flux_unit=target)


def _per_jy(unit: str, wavelength_um: np.ndarray) -> np.ndarray:
    if unit == "Jy":
        return np.ones_like(wavelength_um)
    if unit == "mJy":
        return np.full_like(wavelength_um, 1e3)
    return 1e-26 * _C_UM_PER_S / wavelength_um**2


def band_cutout(spectrum: ServedSpectrum, low_m: float, high_m: float) -> ServedSpectrum:
    """The points with wavelength in [low_m, high_m] (metres, SODA BAND semantics)."""
    if not (low_m <= high_m):
        raise SpectrumError(f"BAND lower bound {low_m} m exceeds the upper {high_m} m")
    lam_m = spectrum.wavelength_um * 1e-6
    keep = (lam_m >= low_m) & (lam_m <= high_m)
    if not keep.any():
        lo, hi = spectrum.wavelength_um.min(), spectrum.wavelength_um.max()
        raise SpectrumError(f"BAND {low_m:g}..{high_m:g} m does not overlap the spectrum "
                            f"({lo * 1e-6:g}..{hi * 1e-6:g} m)")
    return replace(spectrum, wavelength_um=spectrum.wavelength_um[keep],
                   flux=spectrum.flux[keep], error=spectrum.error[keep],
                   segment=spectrum.segment[keep], flag=spectrum.flag[keep],
                   extra=tuple((f, v[keep]) for f, v in spectrum.extra))


def _sdm_table():
    """The resdir's ``sdm_spectrum`` table: the FIELDs and PARAMs of a served spectrum."""
    return load().response("sdm_spectrum")


def _sdm_params(s: ServedSpectrum) -> list[ParamSpec]:
    lam = s.wavelength_um
    lo, hi = (float(lam.min()), float(lam.max())) if len(lam) else (math.nan, math.nan)
    values = {
        "Publisher": s.publisher, "PublisherDID": s.publisher_did, "Title": s.title,
        "TargetName": s.object_name, "Position": f"{s.ra_deg!r} {s.dec_deg!r}",
        "Aperture": repr(s.aperture_arcsec / 3600.0), "MidTime": repr(s.mjd_obs),
        "SpectralStart": repr(lo * 1e-6), "SpectralStop": repr(hi * 1e-6),
        "ResolvingPower": repr(s.resolving_power), "Simulated": "T" if s.simulated else "F"}
    return [param_from_column(p, values.get(p.name)) for p in _sdm_table().params]


def _fields(s: ServedSpectrum) -> list[FieldSpec]:
    return list(_fields_in(s.flux_unit))


@lru_cache(maxsize=16)
def _fields_in(flux_unit: str) -> tuple[FieldSpec, ...]:
    """The resdir's columns, the flux and error in ``flux_unit`` (made once a unit)."""
    unit, ucd = FLUX_UNITS[flux_unit]
    changes = {"flux": {"unit": unit, "ucd": ucd},
               "error": {"unit": unit, "ucd": "stat.error;" + ucd.split(";")[0]}}
    return tuple(field_from_column(c, **changes.get(c.name, {}))
                 for c in _sdm_table().columns)


def to_votable(s: ServedSpectrum) -> bytes:
    """The SDM VOTable serialisation."""
    return results_votable(
        _fields(s) + [f for f, _ in s.extra],
        [s.wavelength_um, s.flux, s.error, list(s.segment), np.asarray(s.flag, np.int32),
         *(values for _, values in s.extra)],
        params=_sdm_params(s), resource_utype=_UTYPE, table_utype=_UTYPE,
        table_name="spectrum", description=s.title)


def to_fits(s: ServedSpectrum) -> bytes:
    """The SDM FITS serialisation: primary header + one-row-per-point BINTABLE, written
    directly as bytes (``pipeline.fits_bytes``; astropy took 15 ms a spectrum)."""
    from pipeline.fits_bytes import bintable, card, header, long_card

    fields = _fields(s) + [f for f, _ in s.extra]
    segment, width = _ascii_bytes(s.segment)
    kinds = (">f8", ">f8", ">f8", f"S{width}", ">i4",
             *(">i4" if f.datatype == "int" else ">f8" for f, _ in s.extra))
    data = np.empty(s.n_points, dtype=[(f.name, kind) for f, kind in zip(
        fields, kinds, strict=True)])
    for f, values in zip(fields, (s.wavelength_um, s.flux, s.error, segment, s.flag,
                                  *(v for _, v in s.extra)), strict=True):
        data[f.name] = values
    column_cards = {f.name: [(k, v) for k, v in (("TUCD", f.ucd), ("TUTYP", f.utype and
                    f.utype.removeprefix("spec:"))) if v] for f in fields}
    lam = s.wavelength_um
    extra = [card("TDMIN1", float(lam.min()) if s.n_points else 0.0),
             card("TDMAX1", float(lam.max()) if s.n_points else 0.0)]
    table = bintable("SPECTRUM", data, units={f.name: f.unit for f in fields if f.unit},
                     column_cards=column_cards, extra=extra)
    cards = [card("SIMPLE", True), card("BITPIX", 8), card("NAXIS", 0),
             card("EXTEND", True)]
    for key, value, comment in (
        ("VOCLASS", "SPECTRUM 1.0", "Spectrum data model"),
        ("VOPUB", s.publisher, "Publisher"),
        ("VOPUBID", s.publisher_did.split("?")[0], "Publisher IVOA identifier"),
        ("DS_IDPUB", s.publisher_did, "Publisher's dataset identifier"),
        ("TITLE", s.title, "Dataset title"),
        ("OBJECT", s.object_name, "Target name"),
        ("RADESYS", "ICRS", ""),
        ("RA", _finite(s.ra_deg), "[deg] position of the spectrum"),
        ("DEC", _finite(s.dec_deg), "[deg] position of the spectrum"),
        ("APERTURE", s.aperture_arcsec / 3600.0, "[deg] slit width"),
        ("TIMESYS", "TT", ""),
        ("TMID", _finite(s.mjd_obs), "[d] MJD of the observation"),
        ("SPECSYS", "TOPOCENT", ""),
        ("SPEC_VAL", 0.5e-6 * float(lam.min() + lam.max()) if s.n_points else 0.0,
         "[m] middle of the spectral coverage"),
        ("SPEC_BW", float(lam.max() - lam.min()) * 1e-6 if s.n_points else 0.0, "[m]"),
        ("SPEC_RP", _finite(s.resolving_power), "Resolving power"),
        ("DATALEN", s.n_points, "Number of points"),
        ("FLUX_CAL", "ABSOLUTE", ""),
        ("SIMULATE", bool(s.simulated), "Spectrum from simulated exposures"),
    ):
        if value is None:
            continue
        cards.append(long_card(key, value, comment) if isinstance(value, str)
                     else card(key, value, comment))
    return b"".join([header(cards), *(bytes(c) if isinstance(c, bytes) else c.tobytes()
                                      for c in table)])


def _ascii_bytes(names) -> tuple[np.ndarray, int]:
    """Segment names (ASCII: 'SL1', 'LH14') as a bytes array and its width, from the
    code points directly (numpy's str-to-bytes conversion is 20x slower)."""
    text = np.asarray(names, dtype=str)
    width = max(1, text.dtype.itemsize // 4)
    text = np.ascontiguousarray(text, dtype=f"U{width}")
    codes = text.view(np.uint32).reshape(len(text), width)
    if codes.size and int(codes.max()) > 127:
        raise ValueError("segment names must be ASCII")
    return codes.astype(np.uint8).view(f"S{width}").reshape(len(text)), width


def dataset_fits(cj_id: str, spectra: Sequence[tuple[str, ServedSpectrum]]) -> bytes:
    """Every spectrum of one position in one FITS file: a primary HDU for the position,
    then each spectrum's SDM table (as :func:`to_fits` writes it, its primary keywords
    copied in) with EXTNAME ``<ARM>/<variant>``."""
    from astropy.io import fits

    hdus = [fits.PrimaryHDU()]
    first = spectra[0][1] if spectra else None
    header = hdus[0].header
    header["OBJECT"] = ((first.object_name if first else "")[:68], "Target name")
    header["CJ_ID"] = (cj_id, "CASSISjuice identifier AORKEY_N")
    header["NSPEC"] = (len(spectra), "Number of spectrum extensions")
    if first is not None:
        header["RA"] = (_finite(first.ra_deg), "[deg] position")
        header["DEC"] = (_finite(first.dec_deg), "[deg] position")
    for label, served in spectra:
        with fits.open(io.BytesIO(to_fits(served))) as single:
            table = fits.BinTableHDU(data=single[1].data.copy(), header=single[1].header)
            for card in single[0].header.cards:
                if card.keyword not in ("SIMPLE", "BITPIX", "NAXIS", "EXTEND", "") and \
                        card.keyword not in table.header:
                    table.header[card.keyword] = (card.value, card.comment)
        table.name = label
        hdus.append(table)
    buffer = io.BytesIO()
    fits.HDUList(hdus).writeto(buffer)
    return buffer.getvalue()


def _finite(value: float):
    """FITS cards cannot hold NaN: an unknown value is left undefined (None)."""
    return float(value) if math.isfinite(value) else None


def to_csv(s: ServedSpectrum) -> bytes:
    """One point per line: wavelength (um), flux, error (flux unit), segment, flag."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["wavelength_um", f"flux_{s.flux_unit}", f"error_{s.flux_unit}",
                     "segment", "flag", *(f.name for f, _ in s.extra)])
    for row in zip(s.wavelength_um, s.flux, s.error, s.segment, s.flag,
                   *(v for _, v in s.extra), strict=True):
        writer.writerow([repr(float(row[0])), repr(float(row[1])), repr(float(row[2])),
                         row[3], int(row[4]), *(v.item() for v in row[5:])])
    return out.getvalue().encode()


def to_png(s: ServedSpectrum, width_px: int = 800, height_px: int = 450) -> bytes:
    """A preview plot: flux against wavelength on log axes, one colour per segment.

    Rendered with matplotlib's object-oriented API on an Agg canvas (no pyplot, no global
    backend switch) and under one process-wide lock: matplotlib's text layout (the mathtext
    parser, font caches) keeps module-level state that concurrent request threads corrupt.
    """
    with _RENDER_LOCK:  # the first call imports matplotlib: once, in one thread
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(width_px / 100, height_px / 100), dpi=100)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for name in dict.fromkeys(s.segment):
            sel = s.segment == name
            ax.errorbar(s.wavelength_um[sel], s.flux[sel], yerr=s.error[sel], lw=0.8,
                        elinewidth=0.4, label=str(name))
        ax.set_xscale("log")
        if np.all(s.flux[np.isfinite(s.flux)] > 0):
            ax.set_yscale("log")
        ax.set_xlabel("wavelength (um)")
        ax.set_ylabel(f"flux density ({s.flux_unit})")
        ax.set_title(s.title, fontsize=9)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        buffer = io.BytesIO()
        canvas.print_png(buffer)
    return buffer.getvalue()


#: response format name -> (MIME type, serialiser)
FORMATS = {
    "votable": ("application/x-votable+xml", to_votable),
    "fits": ("application/fits", to_fits),
    "csv": ("text/csv", to_csv),
}
