"""The atlas from Python, offline (issue 4): for notebooks, as the CASSISjuice ones do.

    >>> from vo_service.atlas import Atlas
    >>> atlas = Atlas.open("demo-atlas/atlas.sqlite")
    >>> near = atlas.cone(83.82, -5.39, 0.5)          # astropy Table, units from resdir
    >>> spec = atlas.spectrum(near["cj_id"][0], "LR")  # QTable: wavelength, flux, error
    >>> atlas.export(near["cj_id"][0], "spec.fits")    # SDM FITS (or .vot, .csv)
    >>> atlas.features(near["cj_id"][0])               # measured at ingest (one row)
    >>> atlas.measure_features(near["cj_id"][0], "LR", "tapered/bynod/common/point")
    >>> atlas.similar(near["cj_id"][0], windows=[(5.5, 7.5)])  # top 20, scores
    >>> atlas.template(query="SELECT cj_id FROM cassisjuice.positions "
    ...                "WHERE object_type = 'pah_galaxy'", statistic="median")
    >>> atlas.line_coverage("[NeV] 14.32")             # who covers it, R, local SNR
    >>> atlas.by_name("ngc1068")                       # = "NGC 1068", "NGC_1068"

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
from .protocols.lookups import CoverageQuery, NameQuery, line_coverage, names_lookup
from .protocols.similar import (
    TemplateQuery,
    ToolError,
    parse_similar,
    run_similar,
    run_template,
)
from .science.lines import LineError, find_line, line_list
from .science.templates import DEFAULT_NORM_UM
from .spectra import FORMATS, ServedSpectrum
from .store import Store, open_store
from .store.healpix import Cone

__all__ = ["Atlas", "AtlasError"]

_FORMAT_BY_SUFFIX = {".fits": "fits", ".fit": "fits", ".vot": "votable", ".xml": "votable",
                     ".csv": "csv"}


class AtlasError(LookupError):
    """An unknown ID, arm or variant, an unsupported export format, or a request a
    science tool cannot answer."""


class _Params(dict):
    """Tool parameters given in Python, read as the services read a request's."""

    def __init__(self, **values) -> None:
        super().__init__({k: v for k, v in values.items() if v is not None})

    def get(self, name: str, default=None):
        value = super().get(name, default)
        return value[-1] if isinstance(value, list) and value else \
            (default if isinstance(value, list) else value)

    def getlist(self, name: str) -> list[str]:
        value = super().get(name)
        return list(value) if isinstance(value, list) else [] if value is None else [value]


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
        return self._table(names, rows, "positions")

    def by_name(self, name: str, prefix: bool = False) -> Table:
        """Catalogue rows of the positions one of whose names (observer's, SIMBAD's, NED's)
        is ``name`` however written ("NGC 1068" = "ngc1068"), or starts with it."""
        found = names_lookup(self.store, NameQuery(name, prefix, 10_000))
        ids = [r["cj_id"] for r in found]
        if not ids:
            return self._table([c.name for c in self.store.table("positions").columns
                                if c.type != "bytea"], [], "positions")
        names, rows = self.store.select(
            f"SELECT * FROM {self.store.physical('positions')} WHERE cj_id IN "
            f"({', '.join([self.store.mark] * len(ids))}) ORDER BY cj_id", ids)
        return self._table(names, rows, "positions")

    def similar(self, reference, arm: str = "LR", *, windows=None,
                mode: str = "normalised", redshift: float | None = None,
                top: int = 20) -> Table:
        """The ``top`` atlas spectra most like ``reference`` (``science.similarity``):
        an atlas ID, a spectrum file (VOTable, FITS, CSV), a model
        (``blackbody:300``, ``powerlaw:-2``) or ``(wavelength_um, flux_jy, error_jy)``
        arrays; ``windows``: rest-frame (low, high) um intervals; ``mode`` normalised,
        absolute or continuum."""
        params = _Params(ARM=arm, MODE=mode, MAXREC=str(top),
                         REDSHIFT=None if redshift is None else repr(redshift),
                         WINDOW=[f"{a!r} {b!r}" for a, b in windows or ()])
        upload = arrays = None
        if isinstance(reference, tuple | list):
            arrays = tuple(None if a is None else np.asarray(a, float) for a in reference)
        elif isinstance(reference, Path) or (isinstance(reference, str) and
                                               Path(reference).is_file()):
            upload = Path(reference).read_bytes()
        elif isinstance(reference, str) and ":" in reference:
            params["MODEL"] = reference
        else:
            params["ID"] = str(reference)
        try:
            query = parse_similar(params, upload, arrays)
            matches = run_similar(self.store, query)
        except ToolError as exc:
            raise AtlasError(str(exc)) from None
        names = ["rank", "cj_id", "score", "chi2", "n_bins", "scale", "object_name",
                 "redshift", "ra", "dec"]
        table = Table(rows=[[m.get(n) for n in names] for m in matches] or None,
                      names=names, masked=True) if matches else Table(names=names)
        table.meta.update(reference=str(reference) if arrays is None else "arrays",
                          arm=query.arm, mode=query.mode)
        return table

    def template(self, ids=None, *, query: str | None = None, arm: str = "LR",
                 statistic: str = "mean", norm_um=DEFAULT_NORM_UM) -> QTable:
        """A rest-frame template (``science.templates``) of the selected spectra of
        ``ids`` or of the positions an ADQL ``query`` returns (its ``cj_id`` column):
        wavelength, flux, error, n_spectra; ``norm_um=None`` stacks observed fluxes."""
        try:
            result, _ = run_template(self.store, TemplateQuery(
                arm, tuple(ids or ()), query, statistic,
                None if norm_um is None else tuple(norm_um)))
        except ToolError as exc:
            raise AtlasError(str(exc)) from None
        table = QTable({"wavelength": result.wavelength_um * u.um,
                        "flux": result.flux * u.Jy, "error": result.error * u.Jy,
                        "n_spectra": result.n_spectra})
        table.meta.update(arm=arm, statistic=statistic, used=list(result.used),
                          left_out=list(result.left_out), norm_um=result.norm_um)
        return table

    def line_coverage(self, line: str | float, arm: str | None = None,
                      min_snr: float | None = None, maxrec: int = 1000) -> Table:
        """The selected spectra covering ``line`` (title, species or rest um) at their
        redshift, with resolving power and local SNR (``protocols.lookups``)."""
        try:
            found = find_line(str(line))
        except LineError as exc:
            raise AtlasError(str(exc)) from None
        rows, _ = line_coverage(self.store, CoverageQuery(
            found, (arm,) if arm else ("LR", "HR"), min_snr, maxrec))
        names = ["spectrum_id", "cj_id", "arm", "segment", "object_name", "redshift",
                 "observed_wavelength", "resolving_power", "local_snr"]
        table = Table(rows=[[r.get(n) for n in names] for r in rows], names=names,
                      masked=True) if rows else Table(names=names)
        table.meta["line"] = found.title
        return table

    @staticmethod
    def lines(low_um: float = 0.0, high_um: float = 1e9) -> Table:
        """The line list (``science.lines``) between two rest wavelengths in um."""
        rows = [line.row() for line in line_list() if low_um <= line.wavelength_um <= high_um]
        names = list(line_list()[0].row())
        return Table(rows=[[r[n] for n in names] for r in rows], names=names, masked=True)

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
                f"SELECT redshift FROM {self.store.physical('positions')} WHERE cj_id = "
                f"{self.store.mark}", [cj_id], 2, 60)
            redshift = float(rows[0][0]) if rows and rows[0][0] is not None else 0.0
        values = measure_spectrum(
            Spectrum1D(served.wavelength_um, served.flux, served.error), redshift,
            high_resolution=arm == "HR")
        row = {c.name: values.get(c.name) for c in columns()}
        row.update(cj_id=cj_id, redshift=redshift, arm_continuum=arm)
        names = list(row)
        return self._features_table(names, [tuple(row[n] for n in names)])
