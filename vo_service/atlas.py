"""The atlas from Python, offline (issue 4): for notebooks, as the CASSISjuice ones do.

    >>> from vo_service.atlas import Atlas
    >>> atlas = Atlas.open("demo-atlas/atlas.sqlite")
    >>> near = atlas.cone(83.82, -5.39, 0.5)          # astropy Table, units from resdir
    >>> spec = atlas.spectrum(near["cj_id"][0], "LR")  # QTable: wavelength, flux, error
    >>> atlas.export(near["cj_id"][0], "spec.fits")    # SDM FITS (or .vot, .csv)
    >>> atlas.features(near["cj_id"][0])               # measured at ingest (one row)
    >>> atlas.measure_features(near["cj_id"][0], "LR", "tapered/bynod/common/point")

Everything goes through the store (``vo_service.store``) and the metadata of ``resdir``,
so the columns and units are those the VO services publish.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.table import QTable, Table

from pipeline.features import Spectrum1D, columns, measure_spectrum

from .protocols.datasets import DatasetError, parse_spectrum_path, resolve
from .spectra import FORMATS, ServedSpectrum
from .store import Store, open_store
from .store.healpix import Cone

__all__ = ["Atlas", "AtlasError"]

_FORMAT_BY_SUFFIX = {".fits": "fits", ".fit": "fits", ".vot": "votable", ".xml": "votable",
                     ".csv": "csv"}


class AtlasError(LookupError):
    """An unknown ID, arm or variant, or an unsupported export format."""


class Atlas:
    """An atlas store opened for reading."""

    def __init__(self, store: Store, authority: str = "cassisjuice.invalid") -> None:
        self.store = store
        self.authority = authority

    @classmethod
    def open(cls, where: str | Path, authority: str = "cassisjuice.invalid") -> Atlas:
        """A store URL (``sqlite:///...``, ``postgresql://...``) or an SQLite file path;
        ``authority`` names the publisher in the spectra's dataset identifiers."""
        text = str(where)
        url = text if "://" in text else f"sqlite:///{Path(text).resolve()}"
        return cls(open_store(url), authority)

    def _table(self, names: list[str], rows: list[tuple], table_id: str) -> Table:
        meta = self.store.table(table_id)
        table = Table(rows=rows or None, names=names, masked=True) if rows else Table(
            names=names, dtype=[object] * len(names))
        for name in names:
            col = meta.column(name)
            if col.unit:
                table[name].unit = u.Unit(col.unit, format="vounit")
            table[name].description = col.description
        return table

    def cone(self, ra: float, dec: float, radius_deg: float) -> Table:
        """Catalogue rows within ``radius_deg`` of (ra, dec), ICRS degrees."""
        names, rows = self.store.region(Cone(ra, dec, radius_deg))
        return self._table(names, rows, "catalog")

    def by_name(self, name: str) -> Table:
        """Catalogue rows whose observer, SIMBAD or NED name matches (case-insensitive)."""
        table = self.store.physical("catalog")
        mark = self.store.mark
        names, rows, _ = self.store.execute_readonly(
            f"SELECT * FROM {table} WHERE lower(object_name) = {mark} OR "
            f"lower(simbad_name) = {mark} OR lower(ned_name) = {mark}",
            [name.lower()] * 3, 10_000, 60)
        return self._table(names, rows, "catalog")

    def variants(self, cj_id: str) -> list[str]:
        """The spectrum keys of an ID (``ARM/extraction/background/nods/calibration``)."""
        return [f"{s['arm']}/{s['variant']}" for s in self.store.spectra_of(cj_id)]

    def served(self, cj_id: str, arm: str = "LR", variant: str = "best") -> ServedSpectrum:
        """A spectrum with its metadata, exactly as the services serve it."""
        try:
            ref = parse_spectrum_path(f"{cj_id}/{arm}/{variant}")
            return resolve(self.store, ref, self.authority)
        except DatasetError as exc:
            spectra = [s["variant"] for s in self.store.spectra_of(cj_id) if s["arm"] == arm]
            hint = f"; it has: {', '.join(spectra)}" if spectra else ""
            raise AtlasError(f"{exc}{hint}") from None

    def spectrum(self, cj_id: str, arm: str = "LR", variant: str = "best") -> QTable:
        """The spectrum as a QTable: wavelength (um), flux and error (Jy), segment, flag."""
        s = self.served(cj_id, arm, variant)
        table = QTable({"wavelength": s.wavelength_um * u.um, "flux": s.flux * u.Jy,
                        "error": s.error * u.Jy, "segment": s.segment,
                        "flag": np.asarray(s.flag)})
        table.meta.update(cj_id=cj_id, arm=arm, title=s.title, object=s.object_name)
        return table

    def export(self, cj_id: str, path: str | Path, arm: str = "LR",
               variant: str = "best") -> Path:
        """Write a spectrum as SDM FITS (.fits), SDM VOTable (.vot, .xml) or CSV (.csv)."""
        path = Path(path)
        kind = _FORMAT_BY_SUFFIX.get(path.suffix.lower())
        if kind is None:
            raise AtlasError(f"unknown export format {path.suffix!r}; use "
                             + ", ".join(_FORMAT_BY_SUFFIX))
        path.write_bytes(FORMATS[kind][1](self.served(cj_id, arm, variant)))
        return path

    def features(self, cj_id: str) -> Table:
        """The features measured at ingest on the selected spectra of a position (one row of
        ``cassisjuice.features``, with the resdir's units); AtlasError for an unknown ID."""
        mark = self.store.mark
        names, rows, _ = self.store.execute_readonly(
            f"SELECT * FROM {self.store.physical('features')} WHERE cj_id = {mark}",
            [cj_id], 2, 60)
        if not rows:
            raise AtlasError(f"no features for {cj_id!r}: not an ID of this atlas")
        return self._features_table(names, rows)

    def _features_table(self, names: list[str], rows: list[tuple]) -> Table:
        """Feature rows as a table whose numbers are masked arrays (NULL: masked)."""
        meta = self.store.table("features")
        table = Table(masked=True)
        for i, name in enumerate(names):
            col = meta.column(name)
            values = [row[i] for row in rows]
            missing = [v is None for v in values]
            if col.type in ("double precision", "real"):
                data = np.ma.array([np.nan if v is None else v for v in values], float,
                                   mask=missing)
            elif col.type in ("smallint", "integer", "bigint"):
                data = np.ma.array([0 if v is None else v for v in values], int, mask=missing)
            else:
                data = np.array(values, dtype=object)
            table[name] = data
            if col.unit:
                table[name].unit = u.Unit(col.unit, format="vounit")
            table[name].description = col.description
        return table

    def measure_features(self, cj_id: str, arm: str = "LR", variant: str = "best",
                         redshift: float | None = None) -> Table:
        """Features measured now on any spectrum variant of a position (the columns of
        ``cassisjuice.features``; NULL where the spectrum does not cover a feature), at
        ``redshift`` or else the catalogue's (0 when it has none)."""
        if redshift is not None and not (math.isfinite(redshift) and redshift >= 0.0):
            raise AtlasError(f"redshift must be a number >= 0, not {redshift!r}")
        served = self.served(cj_id, arm, variant)
        if redshift is None:
            _, rows, _ = self.store.execute_readonly(
                f"SELECT redshift FROM {self.store.physical('catalog')} WHERE cj_id = "
                f"{self.store.mark}", [cj_id], 2, 60)
            redshift = float(rows[0][0]) if rows and rows[0][0] is not None else 0.0
        values = measure_spectrum(
            Spectrum1D(served.wavelength_um, served.flux, served.error), redshift,
            high_resolution=arm == "HR")
        row = {c.name: values.get(c.name) for c in columns()}
        row.update(cj_id=cj_id, redshift=redshift, arm_continuum=arm)
        names = list(row)
        return self._features_table(names, [tuple(row[n] for n in names)])
