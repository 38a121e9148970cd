"""SSAP 1.1 queryData (issue 6, item 1; standards.md sec. 10; clients.md sec. 5.3, 6.1).

One row per selected LR and per selected HR spectrum (the rows of ``ivoa.obscore``).
Quirks, with their sources:

* SSA 1.1 sec. 8.4: ``POS=ra,dec`` (ICRS degrees), ``SIZE`` a *diameter* in degrees
  (default 2 arcmin here: IRS slits are arcsec-sized); ``BAND=lo/hi``, ``/hi``, ``lo/`` or a
  single value, in metres; ``TIME`` an ISO 8601 range; ``FORMAT`` chooses the served
  format (``votable`` by default, ``fits``, ``csv``, ``all``, ``compliant``, a MIME type,
  or ``METADATA``);
* clients.md 5.3: pyvo's getters search FIELDs by utype (``ssa:Access.Reference``...),
  so these are FIELDs even where constant; SPLAT finds the PubDID by the column name
  ``ssa_pubDID`` (6.1); ``Access.Format`` is the spectrum's own MIME type (never the
  Datalink one, which SPLAT would load as a spectrum); a ``datalink_url`` column and a
  Datalink service descriptor give the links (TOPCAT keys on the name);
* SSA 1.1 sec. 6: ``FORMAT=METADATA`` lists the inputs as ``INPUT:`` PARAMs of the first
  RESOURCE (SPLAT builds its form from them) over an empty table;
* ``INFO name="SERVICE_PROTOCOL" value="1.1">SSAP`` (Aladin sniffs it).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
from astropy.time import Time

from vo_service.metadata import MetadataError, Resource
from vo_service.science.names import name_key
from vo_service.store import Store
from vo_service.votable import (
    FieldSpec,
    ParamSpec,
    ServiceDescriptor,
    field_from_column,
    results_votable,
)

__all__ = ["SsaError", "SsaLimits", "SsaQuery", "parse_query", "query_data"]

DEFAULT_SIZE_DEG = 2 / 60
_FORMATS = {"votable": ("votable", "application/x-votable+xml"),
            "application/x-votable+xml": ("votable", "application/x-votable+xml"),
            "fits": ("fits", "application/fits"), "application/fits": ("fits", "application/fits"),
            "csv": ("csv", "text/csv"), "text/csv": ("csv", "text/csv"),
            "all": ("votable", "application/x-votable+xml"),
            "compliant": ("votable", "application/x-votable+xml"),
            "native": ("votable", "application/x-votable+xml")}


class SsaError(ValueError):
    """A query the service cannot answer; the message is for the user."""


@dataclass(frozen=True)
class SsaLimits:
    """What the service accepts, as its registry record declares it (the resdir's ssa
    service: ``ssap.maxSearchRadius`` in degrees, ``ssap.defaultMaxRecords``,
    ``ssap.maxRecords``)."""

    max_radius_deg: float
    default_maxrec: int
    hard_maxrec: int

    @classmethod
    def of(cls, resource: Resource) -> SsaLimits:
        service = resource.service("ssa")
        return cls(service.number("ssap.maxSearchRadius"),
                   int(service.number("ssap.defaultMaxRecords")),
                   int(service.number("ssap.maxRecords")))


@dataclass(frozen=True)
class SsaQuery:
    pos: tuple[float, float] | None = None
    size: float = DEFAULT_SIZE_DEG
    band: tuple[float | None, float | None] | None = None
    time: tuple[float | None, float | None] | None = None
    format: str = "votable"
    mime: str = "application/x-votable+xml"
    targetname: str | None = None
    collection: str | None = None
    maxrec: int = 0
    metadata: bool = False


def _float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SsaError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SsaError(f"{name}: {text!r} is not finite")
    return value


def _range(text: str, name: str, convert) -> tuple:
    text = text.split(";")[0].strip()  # a frame qualifier after ';' is ignored (SSA 8.4)
    if "/" not in text:
        value = convert(text, name)
        return value, value
    lo, hi = (part.strip() for part in text.split("/", 1))
    out = (convert(lo, name) if lo else None, convert(hi, name) if hi else None)
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        raise SsaError(f"{name}: the lower bound exceeds the upper one in {text!r}")
    return out


def _mjd(text: str, name: str) -> float:
    try:
        return float(Time(text, format="isot", scale="utc").mjd)
    except ValueError:
        raise SsaError(f"{name}: {text!r} is not an ISO 8601 date") from None


def parse_query(params, limits: SsaLimits) -> SsaQuery:
    """A checked query from request parameters (``get(name)``)."""
    request = (params.get("REQUEST") or "queryData").strip()
    if request.lower() != "querydata":
        raise SsaError(f"REQUEST={request!r}: only queryData is supported")
    fmt = (params.get("FORMAT") or "votable").strip()
    if fmt.lower() == "metadata":
        return SsaQuery(metadata=True)
    if fmt.lower() not in _FORMATS:
        raise SsaError(f"FORMAT={fmt!r}: use votable, fits, csv, all or METADATA")
    kind, mime = _FORMATS[fmt.lower()]
    pos = None
    if params.get("POS"):
        parts = params.get("POS").split(";")[0].split(",")
        if len(parts) != 2:
            raise SsaError(f"POS={params.get('POS')!r}: expected ra,dec in degrees")
        ra, dec = (_float(p, "POS") for p in parts)
        if not (0 <= ra <= 360 and -90 <= dec <= 90):
            raise SsaError(f"POS={params.get('POS')!r} is outside the sky")
        pos = (ra % 360, dec)
    size = _float(params.get("SIZE"), "SIZE") if params.get("SIZE") else DEFAULT_SIZE_DEG
    if not 0 < size <= 2 * limits.max_radius_deg:
        raise SsaError(f"SIZE={size} must be in (0, {2 * limits.max_radius_deg:g}] degrees "
                       "(a diameter)")
    band = _range(params.get("BAND"), "BAND", _float) if params.get("BAND") else None
    time = _range(params.get("TIME"), "TIME", _mjd) if params.get("TIME") else None
    maxrec = limits.default_maxrec
    if params.get("MAXREC"):
        try:
            maxrec = int(params.get("MAXREC"))
        except ValueError:
            raise SsaError(f"MAXREC={params.get('MAXREC')!r} is not an integer") from None
        if maxrec < 0:
            raise SsaError("MAXREC must be >= 0")
    target, collection = params.get("TARGETNAME"), params.get("COLLECTION")
    for name, text in (("TARGETNAME", target), ("COLLECTION", collection)):
        if text and any(ord(c) < 32 and c not in "\t\n\r" for c in text):
            # no name contains one, and PostgreSQL text cannot hold NUL
            raise SsaError(f"{name} must not contain control characters")
    return SsaQuery(pos, size, band, time, kind, mime, target, collection,
                    min(maxrec, limits.hard_maxrec))


def _fields(resource: Resource) -> list[FieldSpec]:
    """The response's FIELDs: the columns of the resdir's ``ssa_response`` table (the
    Datalink descriptor's ID input refers to ``ssa_pubDID`` by its ID)."""
    return [field_from_column(c, ID=c.name if c.name == "ssa_pubDID" else None)
            for c in resource.response("ssa_response").columns]


def _input_params(limits: SsaLimits) -> list[ParamSpec]:
    return [
        ParamSpec("INPUT:POS", "char", value="", ucd="pos.eq",
                  description="ICRS position ra,dec in degrees"),
        ParamSpec("INPUT:SIZE", "double", unit="deg", value=repr(DEFAULT_SIZE_DEG),
                  description="Diameter of the search region"),
        ParamSpec("INPUT:BAND", "char", unit="m", value="",
                  description="Wavelength range lo/hi in metres"),
        ParamSpec("INPUT:TIME", "char", value="", description="ISO 8601 time range lo/hi"),
        ParamSpec("INPUT:FORMAT", "char", value="votable",
                  options=("votable", "fits", "csv", "all", "METADATA"),
                  description="Format of the spectra"),
        ParamSpec("INPUT:TARGETNAME", "char", value="", description="Target name"),
        ParamSpec("INPUT:COLLECTION", "char", value="", description="Collection"),
        ParamSpec("INPUT:MAXREC", "int", value=str(limits.default_maxrec),
                  maximum=str(limits.hard_maxrec),
                  description="Maximum number of rows"),
    ]


def _descriptor(base_url: str) -> ServiceDescriptor:
    return ServiceDescriptor(
        "datalink", f"{base_url}/datalink/links", "ivo://ivoa.net/std/DataLink#links-1.1",
        inputs=(ParamSpec("ID", "char", ref="ssa_pubDID", ucd="meta.id;meta.main"),),
        description="Links of a spectrum: variants, preview, cut-out")


#: percent-encoding of every ASCII character ``quote(text, safe="")`` encodes (RFC 3986
#: sec. 2.3: all but the unreserved ones)
_PERCENT = str.maketrans({chr(c): f"%{c:02X}" for c in range(128)
                          if chr(c) not in string.ascii_letters + string.digits + "_.-~"})


def _quoted(texts: list[str]) -> list[str]:
    """Each text percent-encoded for a query string, as ``quote(text, safe="")`` does:
    ASCII texts by one ``str.translate`` of them all (``quote`` works byte by byte in
    Python, 50 lookups a DID), split again at the encoded separator."""
    joined = "\n".join(texts)
    if not joined.isascii() or joined.count("\n") != len(texts) - 1:
        return [quote(t, safe="") for t in texts]
    return joined.translate(_PERCENT).split("%0A") if texts else []


def _iso_times(mjds: list) -> list[str | None]:
    """MJDs (UTC) as ISO 8601 times to the second, truncated as ``datetime.strftime``
    truncates (after rounding to the microsecond, as ``datetime.fromtimestamp`` does);
    None stays None."""
    values = np.array([np.nan if v is None else v for v in mjds], float)
    seconds = np.floor(np.round((values - 40587.0) * 86400.0 * 1e6) / 1e6)
    known = np.isfinite(seconds)
    texts = np.datetime_as_string(np.where(known, seconds, 0).astype("datetime64[s]"),
                                  unit="s")
    return [t if k else None for t, k in zip(texts.tolist(), known.tolist(), strict=True)]


def _titles(resource: Resource, columns: dict[str, list], n: int) -> list[str]:
    """The datasets' titles as the resdir's SSA view builds them (its ``ssa_dstitle``,
    literals and columns concatenated); a column this service does not select is a
    MetadataError."""
    pieces = []
    for text, literal in resource.view_concatenation("ssa_view", "ssa_dstitle"):
        if not literal and text not in columns:
            raise MetadataError(f"ssa_view's ssa_dstitle uses {text!r}, which the SSAP "
                                "query does not select")
        pieces.append([text] * n if literal else ["" if v is None else str(v)
                                                   for v in columns[text]])
    return ["".join(row) for row in zip(*pieces, strict=True)] if n else []


def query_data(store: Store, query: SsaQuery, base_url: str) -> bytes:
    """The SSAP response document."""
    infos = {"SERVICE_PROTOCOL": ("1.1", "SSAP")}
    fields = _fields(store.resource)
    if query.metadata:
        return results_votable(fields, [[] for _ in fields], infos=infos,
                               params=_input_params(SsaLimits.of(store.resource)),
                               descriptors=[_descriptor(base_url)])
    mark = store.mark
    where, args = ["1 = 1"], []
    if query.pos is not None:
        from vo_service.store.healpix import Cone, ranges_sql

        cone = Cone(query.pos[0], query.pos[1], query.size / 2)
        prefilter, p = ranges_sql('"healpix"', cone.ranges(), store.dialect)
        exact, e = cone.sql_contains('"s_ra"', '"s_dec"', store.dialect)
        where += [prefilter, exact]
        args += p + e
    # overlap of the requested interval with [low column, high column]
    for interval, low_col, high_col in ((query.band, "em_min", "em_max"),
                                        (query.time, "t_min", "t_max")):
        if interval is None:
            continue
        lo, hi = interval
        for bound, sql in ((hi, f"{low_col} <= {mark}"), (lo, f"{high_col} >= {mark}")):
            if bound is not None:
                where.append(sql)
                args.append(bound)
    if query.targetname:
        # any name of the position (observer's, SIMBAD's, NED's), however it is written
        # (science.names.name_key: "NGC 1068" = "ngc1068"); SSA 1.1 sec. 8 names TARGETNAME
        # without saying how it is matched
        where.append(f"obs_id IN (SELECT cj_id || '/LR' FROM {store.physical('object_names')} "
                     f"WHERE name_key = {mark} UNION SELECT cj_id || '/HR' FROM "
                     f"{store.physical('object_names')} WHERE name_key = {mark})")
        key = name_key(query.targetname) or ""
        args += [key, key]
    if query.collection:
        where.append(f"lower(obs_collection) = {mark}")
        args.append(query.collection.strip().lower())
    sql = (f"SELECT obs_id, obs_publisher_did, target_name, s_ra, s_dec, t_min, em_min, "
           f"em_max, em_res_power, em_xel, obs_collection, access_estsize FROM "
           f"{store.physical('obscore')} WHERE {' AND '.join(where)} ORDER BY obs_id")
    _, rows, overflow = store.execute_readonly(sql, args, query.maxrec, 60)
    n = len(rows)
    obs_id, did, target, ra, dec, tmin, em_min, em_max, res, points, coll, size = \
        map(list, zip(*rows, strict=True)) if rows else [[] for _ in range(12)]
    # the same for every spectrum: the literals of the resdir's SSA view
    same = store.resource.view_constants("ssa_view")
    titles = _titles(store.resource, {"obs_id": obs_id, "target_name": target,
                                      "obs_collection": coll}, n)
    columns = [
        did, [f"{base_url}/spectra/{o}/best?format={query.format}" for o in obs_id],
        [query.mime] * n, [int(v or 1) * 1024 for v in size],
        [f"{base_url}/datalink/links?ID={q}" for q in _quoted(did)],
        titles, target, ra, dec,
        list(zip(ra, dec, strict=True)), _iso_times(tmin), [same["ssa_instrument"]] * n,
        coll, em_min, em_max, res, points, [same["ssa_model"]] * n, [same["ssa_dstype"]] * n,
        [same["ssa_spectralunit"]] * n, [same["ssa_fluxunit"]] * n]
    return results_votable(fields, columns, overflow=overflow, infos=infos,
                           descriptors=[_descriptor(base_url)],
                           description=store.resource.service("ssa").required("title"))
