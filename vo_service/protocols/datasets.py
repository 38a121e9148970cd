"""Spectrum identifiers and their resolution to :class:`~vo_service.spectra.ServedSpectrum`
(shared by SSAP, Datalink, SODA and the spectrum downloads).

Identifiers (DESIGN.md, Identifiers):

* a spectrum: ``<ID>/<ARM>/best`` or ``<ID>/<ARM>/<extraction>/<background>/<nods>/
  <calibration>``; the path under ``/spectra/``;
* a publisher DID: ``ivo://<authority>/cassisjuice?<ID>/<ARM>`` (the selected spectrum),
  optionally followed by ``/<variant>``.

Anything else (path-like IDs, unknown variants) is refused before the store is asked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from pipeline.products import ProductError, parse_variant_key
from vo_service.spectra import ServedSpectrum
from vo_service.store import Store

__all__ = ["DatasetError", "SpectrumRef", "parse_did", "parse_spectrum_path", "resolve"]

# The shape only (lower-case words, no dots or empty parts, so nothing path-like gets
# through); which words make a variant is the product format's vocabulary, checked by
# pipeline.products.parse_variant_key (the one source of truth for variant keys).
_WORD = r"[a-z]+"
_SPECTRUM = re.compile(rf"^(?P<cj>[0-9]{{4,10}}_[0-9]{{1,3}})/(?P<arm>LR|HR)"
                       rf"(?:/(?P<variant>best|{_WORD}/{_WORD}/{_WORD}/{_WORD}))?$")
_SLIT_WIDTH = {"LR": 3.6, "HR": 4.7}
_RESOLVING_POWER = {"LR": 100.0, "HR": 600.0}


class DatasetError(LookupError):
    """An identifier that is malformed (``status`` 400) or unknown (404)."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SpectrumRef:
    cj_id: str
    arm: str
    variant: str = "best"

    @property
    def path(self) -> str:
        return f"{self.cj_id}/{self.arm}/{self.variant}"

    def did(self, authority: str) -> str:
        suffix = "" if self.variant == "best" else f"/{self.variant}"
        return f"ivo://{authority}/cassisjuice?{self.cj_id}/{self.arm}{suffix}"


def parse_spectrum_path(text: str) -> SpectrumRef:
    """A spectrum path ``<ID>/<ARM>[/best|/<variant>]``, or DatasetError(400) if it is
    malformed or names a variant outside the product format's vocabulary."""
    match = _SPECTRUM.match(text or "")
    if not match:
        raise DatasetError(f"not a spectrum identifier: {text!r} (expected "
                           "<AORKEY>_<N>/<LR|HR>[/best|/<variant>])", 400)
    variant = match["variant"] or "best"
    if variant != "best":
        try:
            parse_variant_key(f"{match['arm']}/{variant}")
        except ProductError as exc:
            raise DatasetError(f"not a spectrum identifier: {text!r} ({exc})", 400) from None
    return SpectrumRef(match["cj"], match["arm"], variant)


def parse_did(text: str, authority: str) -> SpectrumRef:
    prefix = f"ivo://{authority}/cassisjuice?"
    if not (text or "").lower().startswith(prefix.lower()):
        raise DatasetError(f"not a dataset identifier of this service: {text!r} (expected "
                           f"{prefix}<AORKEY>_<N>/<LR|HR>)", 400)
    return parse_spectrum_path(text[len(prefix):])


def resolve(store: Store, ref: SpectrumRef, authority: str) -> ServedSpectrum:
    """The spectrum, or DatasetError(404) when the store does not have it."""
    found = store.served_spectrum(ref.cj_id, ref.arm,
                                  None if ref.variant == "best" else ref.variant)
    if found is None:
        raise DatasetError(f"no spectrum {ref.path} in this atlas")
    chosen, arrays = found
    # Served sorted by wavelength (specutils needs a monotonic axis), every point kept:
    # overlapping orders (SL1 and its bonus order SL3, LL1/LL3; CASSIS gives them the same
    # grid) may share a wavelength: SDM 1.1 asks no monotonic Data.SpectralAxis.Value (its
    # required fields, standards.md sec. 11.1), specutils accepts equal neighbours, and the
    # segment column tells the orders apart. The stable sort keeps the product's order
    # within one wavelength.
    by_wave = np.argsort(arrays["wavelength"], kind="stable")
    arrays = {k: v[by_wave] for k, v in arrays.items()}
    mjd = chosen.get("obs_mjd")
    return ServedSpectrum(
        publisher_did=ref.did(authority),
        title=f"CASSISjuice {ref.cj_id} {ref.arm} {chosen['variant']}",
        object_name=chosen.get("object_name") or "", ra_deg=float(chosen["ra"]),
        dec_deg=float(chosen["dec"]), mjd_obs=float(mjd) if mjd is not None else math.nan,
        aperture_arcsec=_SLIT_WIDTH[ref.arm], resolving_power=_RESOLVING_POWER[ref.arm],
        publisher="cassisjuice-vo", simulated=chosen.get("provenance") == "simulated",
        wavelength_um=arrays["wavelength"], flux=arrays["flux"],
        error=arrays["flux_error"], segment=arrays["segment"], flag=arrays["flag"])


def resolve_dataset(store: Store, cj_id: str, authority: str
                    ) -> list[tuple[str, ServedSpectrum]]:
    """Every spectrum variant of a position, labelled ``<ARM>/<variant>`` (the selected
    ones first), or DatasetError(404)."""
    ref = parse_spectrum_path(f"{cj_id}/LR")  # validates the ID's form (400 if not)
    spectra = sorted(store.spectra_of(ref.cj_id),
                     key=lambda s: (s["arm"], not s["selected"], s["variant"]))
    if not spectra:
        raise DatasetError(f"no position {ref.cj_id} in this atlas")
    return [(f"{s['arm']}/{s['variant']}",
             resolve(store, SpectrumRef(ref.cj_id, s["arm"], s["variant"]), authority))
            for s in spectra]
