"""Datalink 1.1 ``{links}`` and the SODA 1.0 sync cut-out (issue 6, items 3-4;
standards.md sec. 8-9; clients.md sec. 5.5, 9 H).

Links of a dataset identifier ``ivo://<authority>/cassisjuice?<ID>/<ARM>[/<variant>]``:
``#this`` (the spectrum as VOTable and FITS), ``#preview`` (PNG), ``#derivation`` (every
other method variant of the same arm), ``#auxiliary`` (the other resolution of the same
position; every spectrum of the position in one FITS file; the position's ID card,
``/cards/<ID>``: ``#package`` and ``#documentation`` would be the terms, but
datalinklint 3.4.7's vocabulary lacks both), ``#progenitor`` (a TAP query listing the
raw exposures it was reduced from, when the store has them) and ``#cutout`` (a SODA
service descriptor per identifier, with BAND in metres
and the flux unit as declared parameters). Quirks:

* Datalink 1.1 sec. 3.2 / pyvo: several IDs per request (GET or POST), rows grouped per ID
  in request order, ``ID`` the first column; an unknown or malformed ID is a row with
  ``error_message`` (``NotFoundFault:`` / ``UsageFault:``), not an HTTP error;
* SODA 1.0 sec. 3.3: ``BAND`` is an interval ``lo hi`` in metres; an empty overlap is a
  ``UsageFault``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from urllib.parse import urlencode

from vo_service.spectra import FLUX_UNITS, FORMATS, ServedSpectrum, SpectrumError, band_cutout
from vo_service.store import Store
from vo_service.votable import (
    VOTABLE_MIME,
    FieldSpec,
    ParamSpec,
    ServiceDescriptor,
    results_votable,
)

from .datasets import DatasetError, parse_did, resolve

__all__ = ["LINKS_MIME", "MAX_IDS", "SodaError", "links_document", "soda_cutout"]

LINKS_MIME = "application/x-votable+xml;content=datalink"
#: identifiers a links request may carry
MAX_IDS = 200
_FIELDS = [
    FieldSpec("ID", "char", ucd="meta.id;meta.main", description="Input identifier"),
    FieldSpec("access_url", "char", ucd="meta.ref.url", description="Link"),
    FieldSpec("service_def", "char", ucd="meta.ref", description="Service descriptor"),
    FieldSpec("error_message", "char", ucd="meta.code.error", description="Error"),
    FieldSpec("semantics", "char", ucd="meta.code", description="Datalink vocabulary term"),
    FieldSpec("description", "char", ucd="meta.note", description="What the link is"),
    FieldSpec("content_type", "char", ucd="meta.code.mime", description="MIME type"),
    FieldSpec("content_length", "long", unit="byte", ucd="phys.size;meta.file",
              description="Size in bytes (when known)"),
]


class SodaError(ValueError):
    """A cut-out that cannot be made; ``status`` 400 (usage) or 404 (unknown ID)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _soda_descriptor(name: str, did: str, base_url: str) -> ServiceDescriptor:
    """SODA sync on one dataset (DataLink 1.1 sec. 4; SODA 1.0 sec. 3): ID fixed to the
    row's identifier, the other inputs with an empty value (the user's to fill; the
    service's default applies when they are left empty) and their ranges or options."""
    return ServiceDescriptor(
        name, f"{base_url}/soda", "ivo://ivoa.net/std/SODA#sync-1.0",
        inputs=(ParamSpec("ID", "char", value=did, ucd="meta.ref.url;meta.curation",
                          description="The dataset identifier (SODA 1.0 sec. 3.2.1)"),
                ParamSpec("BAND", "double", arraysize="2", xtype="interval", unit="m",
                          ucd="em.wl;stat.interval", minimum="5.0e-06", maximum="3.9e-05",
                          description="Wavelength interval of the cut-out, 'lo hi' in "
                          "metres (SODA 1.0 sec. 3.3.3; empty or NaN bounds: no limit)"),
                ParamSpec("FLUXUNIT", "char", options=tuple(FLUX_UNITS),
                          description="Flux unit of the result (default Jy)"),
                ParamSpec("RESPONSEFORMAT", "char", options=tuple(FORMATS),
                          description="Format of the result (default votable)")),
        description="Wavelength cut-out of the spectrum (SODA sync)")


def _rows_for(store: Store, raw_id: str, authority: str, base_url: str, k: int):
    """The rows of one ID and its SODA descriptor (or None)."""
    def row(access_url=None, service_def=None, error=None, semantics="#this",
            description=None, content_type=None):
        return [raw_id, access_url, service_def, error, semantics, description, content_type,
                None]

    try:
        ref = parse_did(raw_id, authority)
        # both arms and the progenitors' count: one query
        of_position, exposures = store.spectra_and_exposure_count(ref.cj_id)
        spectra = [s for s in of_position if s["arm"] == ref.arm]
        if not spectra or (ref.variant != "best" and not any(
                s["variant"] == ref.variant for s in spectra)):
            raise DatasetError(f"no spectrum {ref.path} in this atlas")
    except DatasetError as exc:  # DataLink 1.1 sec. 3.2.4: an ID we cannot resolve
        return [row(error=f"NotFoundFault: {exc}", semantics="#this")], None
    url = f"{base_url}/spectra/{ref.path}"
    rows = [row(f"{url}?format=votable", description="The spectrum (SDM VOTable)",
                content_type="application/x-votable+xml"),
            row(f"{url}?format=fits", description="The spectrum (SDM FITS)",
                content_type="application/fits"),
            row(f"{url}?format=png", semantics="#preview", description="Preview plot",
                content_type="image/png")]
    current = ref.variant if ref.variant != "best" else next(
        (s["variant"] for s in spectra if s["selected"]), "")
    for s in spectra:
        if s["variant"] != current:
            rows.append(row(f"{base_url}/spectra/{ref.cj_id}/{ref.arm}/{s['variant']}"
                            "?format=votable", semantics="#derivation",
                            description=f"Other method variant: {s['variant']}",
                            content_type="application/x-votable+xml"))
    other = "HR" if ref.arm == "LR" else "LR"
    if any(s["arm"] == other for s in of_position):
        rows.append(row(f"{base_url}/spectra/{ref.cj_id}/{other}/best?format=votable",
                        semantics="#auxiliary",
                        description=f"The {other} spectrum of the same position",
                        content_type="application/x-votable+xml"))
    rows.append(row(f"{base_url}/cards/{ref.cj_id}", semantics="#auxiliary",
                    description="The ID card of the position (HTML)",
                    content_type="text/html"))
    rows.append(row(f"{base_url}/datasets/{ref.cj_id}", semantics="#auxiliary",
                    description="Every spectrum of this position (all variants, both "
                    "resolutions) in one FITS file", content_type="application/fits"))
    if exposures:
        query = (f"SELECT * FROM cassisjuice.exposures WHERE cj_id = "
                 f"'{ref.cj_id.replace(chr(39), chr(39) * 2)}' ORDER BY file")
        rows.append(row(f"{base_url}/tap/sync?" + urlencode({"LANG": "ADQL", "QUERY": query}),
                        semantics="#progenitor", description="The raw IRS exposures (BCDs) "
                        "this position was reduced from", content_type=VOTABLE_MIME))
    name = f"soda{k}"
    rows.append(row(service_def=name, semantics="#cutout",
                    description="Wavelength cut-out (SODA)"))
    return rows, _soda_descriptor(name, raw_id, base_url)


def links_document(store: Store, ids: Sequence[str], authority: str, base_url: str) -> bytes:
    """The links document of ``ids`` (in request order)."""
    rows, descriptors = [], []
    for k, raw_id in enumerate(ids):
        id_rows, descriptor = _rows_for(store, raw_id, authority, base_url, k)
        rows += id_rows
        if descriptor is not None:
            descriptors.append(descriptor)
    columns = [[r[i] for r in rows] for i in range(len(_FIELDS))]
    return results_votable(_FIELDS, columns, descriptors=descriptors,
                           description=store.resource.service("dl").required("title"))


def _interval(text: str) -> tuple[float, float]:
    """A DALI interval ``lo hi`` (DALI 1.1 sec. 3.3.4: -Inf/+Inf allowed); a NaN bound, the
    "no value" a client may echo from the descriptor, is no limit on that side."""
    parts = text.split()
    if len(parts) != 2:
        raise SpectrumError(f"BAND={text!r}: expected 'lo hi' in metres")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise SpectrumError(f"BAND={text!r} is not two numbers") from None
    return (-math.inf if math.isnan(lo) else lo), (math.inf if math.isnan(hi) else hi)


def soda_cutout(store: Store, params, authority: str) -> tuple[ServedSpectrum, str]:
    """The cut-out spectrum and the requested response format."""
    ids = params.getlist("ID")
    if len(ids) != 1:
        raise SodaError(f"UsageFault: exactly one ID is required, got {len(ids)}")
    try:
        spectrum = resolve(store, parse_did(ids[0], authority), authority)
    except DatasetError as exc:  # DataLink 1.1 sec. 3.2.4 (the same faults as {links})
        raise SodaError(f"NotFoundFault: {exc}", 404) from exc
    bands = [b for b in params.getlist("BAND") if b.strip()]
    try:
        if bands:
            lo, hi = _interval(bands[-1])
            if math.isfinite(lo) or math.isfinite(hi):
                spectrum = band_cutout(spectrum, lo, hi)
        spectrum = spectrum.in_unit(params.get("FLUXUNIT") or "Jy")
    except SpectrumError as exc:
        raise SodaError(f"UsageFault: {exc}") from exc
    fmt = (params.get("RESPONSEFORMAT") or "votable").lower()
    if fmt not in FORMATS:
        raise SodaError(f"UsageFault: RESPONSEFORMAT={fmt!r}; offered: {', '.join(FORMATS)}")
    return spectrum, fmt

