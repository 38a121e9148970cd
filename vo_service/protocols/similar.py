"""The similarity search and template tools as DALI-style synchronous services.

Parameters are read the DALI way (names case-insensitive, DALI 1.1 sec. 3.1); a value
the service cannot use is a :class:`ToolError`, which the web layer turns into the DALI
error document (DALI 1.1 sec. 4.2; 404 for an unknown ID, 400 otherwise).

``/similar`` (the reference: ``ID``, an uploaded ``SPECTRUM`` file or a ``MODEL``):

* ``ARM`` LR (default) or HR; ``MODE`` normalised (default: the candidate scaled to the
  reference), absolute, or continuum (both divided by their power-law continuum,
  ``science.continuum``, then compared as they are);
* ``WINDOW`` repeatable rest-frame interval in um, ``low high`` (DALI 1.1 sec. 3.3.4
  interval; ``low/high`` accepted too); default the whole grid;
* ``REDSHIFT`` of the reference (default: the catalogue's for an ID, 0 otherwise);
* ``MAXREC`` the number of matches (default 20, at most 1000);
* ``MODEL`` ``blackbody:<T_K>`` or ``powerlaw:<alpha>`` (F_nu proportional to
  lambda^alpha), compared in normalised mode only;
* ``RESPONSEFORMAT`` votable (default, TABLEDATA), csv or json (the portal's table), by
  name or MIME type (DALI 1.1 sec. 3.3.1).

``/template``: ``ID`` (repeatable, or comma-separated) or ``QUERY`` (ADQL whose result
has a ``cj_id`` column), ``ARM``, ``STAT`` mean (default), median or wmean, ``NORM``
``low high`` um (default 14.5 15) or ``none``, ``RESPONSEFORMAT`` votable, fits or csv.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from vo_service.adql import AdqlError
from vo_service.adql.schema import atlas_schema
from vo_service.adql.translate import translate
from vo_service.science.continuum import ANCHORS_UM, continuum_view, normalise_reference
from vo_service.science.grids import ArmGrid, grids_of, rest_frame
from vo_service.science.resample import GRIDS
from vo_service.science.similarity import MODES, Reference, SimilarityError, search
from vo_service.science.templates import DEFAULT_NORM_UM, STATISTICS, TemplateError, stack
from vo_service.science.uploads import UploadError, read_spectrum
from vo_service.spectra import ServedSpectrum
from vo_service.store import Store
from vo_service.votable import VOTABLE_MIME, FieldSpec, results_votable
from vo_service.votable.formats import write_table

__all__ = ["SimilarityQuery", "TemplateQuery", "ToolError", "load_spectra", "parse_similar",
           "parse_template", "run_similar", "run_template", "similar_table",
           "similar_votable", "template_spectrum"]

MAX_MATCHES = 1000
MAX_TEMPLATE_SPECTRA = 5000
_CJ_ID = re.compile(r"^[0-9]{4,10}_[0-9]{1,3}$")
_MODEL = re.compile(r"^(blackbody|powerlaw):\s*([-+0-9.eE]+)$", re.I)
_SLIT_WIDTH = {"LR": 3.6, "HR": 4.7}
_RESOLVING_POWER = {"LR": 100.0, "HR": 600.0}
#: h c / k in um K
_HC_K_UM_K = 14387.77
#: RESPONSEFORMAT of /similar, by name or MIME type (DALI 1.1 sec. 3.3.1) -> (writer, MIME)
SIMILAR_FORMATS = {
    **dict.fromkeys(("votable", VOTABLE_MIME, "text/xml"), ("votable", VOTABLE_MIME)),
    **dict.fromkeys(("csv", "text/csv", "text/csv;header=present"),
                    ("csv", "text/csv;header=present")),
    **dict.fromkeys(("json", "application/json"), ("json", "application/json")),
}


class ToolError(ValueError):
    """A request a tool cannot answer; ``status`` 400 (usage) or 404 (unknown ID)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SimilarityQuery:
    arm: str = "LR"
    cj_id: str | None = None
    upload: bytes | None = None
    model: str | None = None
    windows: tuple[tuple[float, float], ...] = ()
    mode: str = "normalised"
    redshift: float | None = None
    top: int = 20
    response_format: str = "votable"  # a SIMILAR_FORMATS key
    #: a reference given as arrays (the Python API): wavelength um, flux and error Jy
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None


@dataclass(frozen=True)
class TemplateQuery:
    arm: str = "LR"
    ids: tuple[str, ...] = ()
    query: str | None = None
    statistic: str = "mean"
    norm_um: tuple[float, float] | None = DEFAULT_NORM_UM
    response_format: str = "votable"


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ToolError(f"{name}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise ToolError(f"{name}={text!r} is not a finite number")
    return value


def _interval(name: str, text: str) -> tuple[float, float]:
    parts = text.replace("/", " ").split()
    if len(parts) != 2:
        raise ToolError(f"{name}={text!r}: give an interval 'low high' in um")
    low, high = (_number(name, p) for p in parts)
    if not 0 < low < high:
        raise ToolError(f"{name}={text!r} is an empty or negative interval: give "
                        "0 < low < high (um)")
    return low, high


def _arm(params) -> str:
    arm = (params.get("ARM") or "LR").strip().upper()
    if arm not in GRIDS:
        raise ToolError(f"ARM={arm!r}: LR or HR")
    return arm


def _cj_id(text: str) -> str:
    text = text.strip()
    if not _CJ_ID.match(text):
        raise ToolError(f"ID={text!r} is not a CASSISjuice identifier (AORKEY_N)")
    return text


def parse_similar(params, upload: bytes | None, arrays=None) -> SimilarityQuery:
    """A checked similarity query from request parameters and an uploaded file (or, from
    Python, ``(wavelength_um, flux, error)`` arrays)."""
    given = [n for n, v in (("ID", params.get("ID")), ("SPECTRUM", upload),
                            ("MODEL", params.get("MODEL")), ("arrays", arrays)) if v]
    if len(given) != 1:
        raise ToolError("give one reference: ID (an atlas position), SPECTRUM (an uploaded "
                        "VOTable, FITS or CSV spectrum) or MODEL" +
                        (f"; got {', '.join(given)}" if given else ""))
    mode = (params.get("MODE") or "normalised").strip().lower()
    if mode not in (*MODES, "continuum"):
        raise ToolError(f"MODE={mode!r}: absolute, normalised or continuum")
    model = params.get("MODEL")
    if model and mode == "absolute":
        raise ToolError("a MODEL has no absolute flux scale: use MODE=normalised")
    redshift = None
    if params.get("REDSHIFT"):
        redshift = _number("REDSHIFT", params.get("REDSHIFT"))
        if not 0 <= redshift < 10:
            raise ToolError(f"REDSHIFT={redshift:g} must be in 0..10")
    top = int(_number("MAXREC", params.get("MAXREC") or "20"))
    if not 1 <= top <= MAX_MATCHES:
        raise ToolError(f"MAXREC={top} must be in 1..{MAX_MATCHES}")
    windows = tuple(_interval("WINDOW", w) for w in params.getlist("WINDOW") if w.strip())
    fmt = (params.get("RESPONSEFORMAT") or "votable").strip().lower().replace(" ", "")
    if fmt not in SIMILAR_FORMATS:
        raise ToolError(f"RESPONSEFORMAT={fmt!r}: votable, csv or json")
    return SimilarityQuery(_arm(params), _cj_id(params.get("ID")) if params.get("ID")
                           else None, upload, model.strip() if model else None, windows,
                           mode, redshift, top, fmt, arrays)


def _model(text: str, arm: ArmGrid) -> Reference:
    match = _MODEL.match(text)
    if not match:
        raise ToolError(f"MODEL={text!r}: blackbody:<temperature K> or powerlaw:<alpha>")
    kind, value = match.group(1).lower(), _number("MODEL", match.group(2))
    lam = arm.grid.centres_um
    if kind == "blackbody":
        if not 2.7 <= value <= 1e5:
            raise ToolError(f"MODEL temperature {value:g} K must be in 2.7..1e5")
        with np.errstate(over="ignore"):
            flux = lam ** -3.0 / np.expm1(_HC_K_UM_K / (lam * value))  # B_nu, any scale
    else:
        if not -10 <= value <= 10:
            raise ToolError(f"MODEL power-law index {value:g} must be in -10..10")
        flux = lam ** value
    flux = flux / np.nanmax(flux) if np.nanmax(flux) > 0 else flux
    flux = np.where(flux > 1e-30, flux, np.nan)  # a Wien tail too faint to compare
    return Reference(flux, np.zeros_like(flux), f"model {kind} {value:g}")


def _reference(store: Store, arm: ArmGrid, q: SimilarityQuery) -> Reference:
    if q.model:
        return _model(q.model, arm)
    if q.upload is not None or q.arrays is not None:
        try:
            wave, flux, err = q.arrays or read_spectrum(q.upload)
        except UploadError as exc:
            raise ToolError(str(exc)) from None
        f, e = rest_frame(wave, flux, err, q.redshift or 0.0, arm.grid)
        return Reference(f, e, "uploaded spectrum")
    if q.redshift is None:
        found = arm.spectrum(q.cj_id)
        if found is not None:
            return Reference(*found, q.cj_id, q.cj_id)
    served = store.served_spectrum(q.cj_id, q.arm)
    if served is None:
        which = "unknown ID" if store.catalog_row(q.cj_id) is None else \
            f"no selected {q.arm} spectrum for ID"
        raise ToolError(f"{which} {q.cj_id}", 404)
    arrays = served[1]
    f, e = rest_frame(arrays["wavelength"], arrays["flux"], arrays["flux_error"],
                      q.redshift, arm.grid)
    return Reference(f, e, q.cj_id, q.cj_id)


def run_similar(store: Store, q: SimilarityQuery) -> list[dict]:
    """The matches, best first, with the catalogue's name, redshift and position."""
    arm = grids_of(store, q.arm)
    if arm is None:
        raise ToolError(f"the atlas has no {q.arm} similarity matrix yet (ingest builds it)",
                        503)
    ref = _reference(store, arm, q)
    mode = q.mode
    if mode == "continuum":
        normalised = normalise_reference(arm, ref.flux, ref.error)
        if normalised is None:
            raise ToolError("the reference has no continuum: MODE=continuum needs flux in "
                            "two of the rest-frame anchors " + ", ".join(
                                f"{a:g}-{b:g}" for a, b in ANCHORS_UM) + " um")
        ref = Reference(*normalised, ref.label, ref.cj_id)
        arm, mode = continuum_view(arm), "absolute"
    try:
        matches = search(arm, ref, windows=q.windows or None, mode=mode, top=q.top)
    except SimilarityError as exc:
        raise ToolError(str(exc)) from None
    info = _catalogue(store, [m.cj_id for m in matches])
    return [{"rank": m.rank, "cj_id": m.cj_id, "score": m.score, "chi2": m.chi2,
             "n_bins": m.n_bins, "scale": m.scale, **info.get(m.cj_id, {})}
            for m in matches]


def _catalogue(store: Store, ids: list[str]) -> dict[str, dict]:
    if not ids:
        return {}
    names, rows = store.select(
        f"SELECT cj_id, object_name, redshift, ra, dec FROM {store.physical('positions')} "
        f"WHERE cj_id IN ({', '.join([store.mark] * len(ids))})", ids)
    return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in rows}


_MATCH_FIELDS = (
    FieldSpec("rank", "int", ucd="meta.number", description="Rank, 1 = most similar"),
    FieldSpec("cj_id", "char", ucd="meta.id;meta.main",
              description="CASSISjuice identifier of the position"),
    FieldSpec("score", "double", ucd="stat.fit.chi2",
              description="chi^2 per compared bin (normalised mode: per degree of freedom)"),
    FieldSpec("chi2", "double", ucd="stat.fit.chi2", description="chi^2 over the compared bins"),
    FieldSpec("n_bins", "int", ucd="meta.number", description="Grid bins compared"),
    FieldSpec("scale", "double", ucd="arith.factor",
              description="Factor applied to the candidate (1 in absolute mode)"),
)


def _similar_fields(store: Store) -> list[FieldSpec]:
    """The matches' columns, then the catalogue's from the resdir."""
    catalog = store.table("positions")
    extra = [catalog.column(n) for n in ("object_name", "redshift", "ra", "dec")]
    return [*_MATCH_FIELDS, *(FieldSpec(c.name, c.votable_datatype, unit=c.unit, ucd=c.ucd,
                                        description=c.description) for c in extra)]


def similar_table(store: Store, q: SimilarityQuery, matches: list[dict]
                  ) -> tuple[bytes, str]:
    """The result in the query's RESPONSEFORMAT, and its MIME type."""
    kind, mime = SIMILAR_FORMATS[q.response_format]
    if kind == "votable":
        return similar_votable(store, q, matches), mime
    fields = _similar_fields(store)
    return write_table(kind, fields, [[m.get(f.name) for m in matches] for f in fields]), mime


def similar_votable(store: Store, q: SimilarityQuery, matches: list[dict]) -> bytes:
    """The result document: the matches, then the catalogue columns from the resdir."""
    fields = _similar_fields(store)
    columns = [[m.get(f.name) for m in matches] for f in fields]
    # the same metadata for every query of an arm and mode, so the document's head is
    # built once (votable.writer keeps it); the reference is the request's own
    return results_votable(fields, columns, infos=[("arm", q.arm), ("mode", q.mode)],
                           description=f"CASSISjuice {q.arm} spectra most similar to the "
                           f"reference (rest frame, {q.mode})")


def parse_template(params) -> TemplateQuery:
    """A checked template request."""
    ids = tuple(_cj_id(i) for v in params.getlist("ID") for i in v.split(",") if i.strip())
    query = (params.get("QUERY") or "").strip() or None
    if bool(ids) == bool(query):
        raise ToolError("give the selection as ID (one or more) or as an ADQL QUERY "
                        "returning cj_id, not both")
    statistic = (params.get("STAT") or "mean").strip().lower()
    if statistic not in STATISTICS:
        raise ToolError(f"STAT={statistic!r}: {', '.join(STATISTICS)}")
    norm_text = (params.get("NORM") or "").strip()
    norm = None if norm_text.lower() == "none" else (
        _interval("NORM", norm_text) if norm_text else DEFAULT_NORM_UM)
    fmt = (params.get("RESPONSEFORMAT") or "votable").strip().lower()
    fmt = {"application/x-votable+xml": "votable", "application/fits": "fits",
           "text/csv": "csv"}.get(fmt, fmt)
    if fmt not in ("votable", "fits", "csv"):
        raise ToolError(f"RESPONSEFORMAT={fmt!r}: votable, fits or csv")
    if len(ids) > MAX_TEMPLATE_SPECTRA:
        raise ToolError(f"at most {MAX_TEMPLATE_SPECTRA} spectra are stacked")
    return TemplateQuery(_arm(params), ids, query, statistic, norm, fmt)


def _query_ids(store: Store, query: str, timeout_s: float) -> tuple[str, ...]:
    try:
        translation = translate(query, atlas_schema(store), store.dialect,
                                limit=MAX_TEMPLATE_SPECTRA + 1)
    except AdqlError as exc:
        raise ToolError(f"QUERY: {exc}") from None
    names = [f.name.lower() for f in translation.fields()]
    if "cj_id" not in names:
        raise ToolError("QUERY must return a cj_id column")
    try:
        _, rows, overflow = store.execute_readonly(translation.sql, [],
                                                   MAX_TEMPLATE_SPECTRA, timeout_s)
    except store.database_errors() as exc:
        raise ToolError(f"QUERY: the database refused it: {str(exc).splitlines()[0]}") \
            from None
    if overflow:
        raise ToolError(f"QUERY selects more than {MAX_TEMPLATE_SPECTRA} positions")
    at = names.index("cj_id")
    return tuple(dict.fromkeys(str(r[at]) for r in rows if r[at] is not None))


def load_spectra(store: Store, arm: str, ids: tuple[str, ...]) -> list[tuple]:
    """``(cj_id, redshift, wavelength, flux, error, provenance)`` of the selected spectra
    of ``ids``."""
    out = []
    for start in range(0, len(ids), 500):
        chunk = list(ids[start:start + 500])
        _, rows = store.select(
            f"SELECT s.cj_id, c.redshift, d.wavelength, d.flux, d.flux_error, c.provenance "
            f"FROM "
            f"{store.physical('spectra')} AS s JOIN {store.physical('spectrum_data')} AS d "
            f"ON d.spectrum_id = s.spectrum_id JOIN {store.physical('positions')} AS c ON "
            f"c.cj_id = s.cj_id WHERE s.selected = 1 AND s.arm = {store.mark} AND s.cj_id "
            f"IN ({', '.join([store.mark] * len(chunk))})", [arm, *chunk])
        out.extend((cj, z, np.frombuffer(bytes(w), "<f8"), np.frombuffer(bytes(f), "<f8"),
                    np.frombuffer(bytes(e), "<f8"), prov) for cj, z, w, f, e, prov in rows)
    return out


def template_spectrum(t, authority: str, simulated: bool) -> ServedSpectrum:
    """A template as an SDM spectrum, with its number of spectra per bin."""
    norm = "observed flux densities" if t.norm_um is None else \
        f"each spectrum normalised to 1 Jy at {t.norm_um[0]:g}-{t.norm_um[1]:g} um"
    return ServedSpectrum(
        publisher_did=f"ivo://{authority}/cassisjuice/template", title=(
            f"CASSISjuice {t.arm} rest-frame template: {t.statistic} of {len(t.used)} "
            f"spectra, {norm}"), object_name="template", ra_deg=math.nan,
        dec_deg=math.nan, mjd_obs=math.nan, aperture_arcsec=_SLIT_WIDTH[t.arm],
        resolving_power=_RESOLVING_POWER[t.arm], publisher=authority, simulated=simulated,
        wavelength_um=t.wavelength_um, flux=t.flux, error=t.error,
        segment=np.full(len(t.flux), t.arm), flag=np.zeros(len(t.flux), np.int32),
        extra=((FieldSpec("n_spectra", "int", ucd="meta.number",
                          description="Number of spectra stacked in the bin"), t.n_spectra),))


def run_template(store: Store, q: TemplateQuery, timeout_s: float = 60.0):
    """The :class:`~vo_service.science.templates.Template` of the selection and whether
    any spectrum in it is simulated."""
    ids = q.ids or _query_ids(store, q.query, timeout_s)
    if not ids:
        raise ToolError("the selection is empty")
    spectra = load_spectra(store, q.arm, ids)
    if q.ids:
        found = {s[0] for s in spectra}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ToolError(f"no selected {q.arm} spectrum for ID "
                            + ", ".join(missing[:10]), 404)
    try:
        template = stack(q.arm, (s[:5] for s in spectra), statistic=q.statistic,
                         norm_um=q.norm_um)
        return template, any(s[5] == "simulated" for s in spectra)
    except TemplateError as exc:
        raise ToolError(str(exc)) from None
