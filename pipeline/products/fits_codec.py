"""The product format's FITS codec: a Product to the bytes of its file and back, with numpy
(``astropy.io.fits`` costs tens of milliseconds per file). Headers are read by
``pipeline.fits_header``, the reader the raw exposures share.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..fits_bytes import BLOCK, bintable, card, header
from ..fits_header import FitsHeaderError, header_value, read_cards
from .model import (
    FORMAT_VERSION,
    SEG_WIDTH,
    Product,
    ProductError,
    Provenance,
    Selection,
    Spectrum,
    parse_variant_key,
    seg_to_str,
)
from .validation import check_rows, check_scalars, concat_rows

__all__ = ["decode_product", "encode_product"]

_HIER_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_EXTENSIONS = ("SPECTRA", "VARIANTS", "SCALES", "META")
_SPECTRA_DTYPE = np.dtype([("variant", ">i2"), ("wavelength", ">f8"), ("flux", ">f8"),
                           ("flux_error", ">f8"), ("segment", f"S{SEG_WIDTH}"),
                           ("flag", ">i4")])
_UNITS = {"wavelength": "um", "flux": "Jy", "flux_error": "Jy"}
_LOGICAL = frozenset({"selected"})
_FROM_TFORM = {"I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8", "B": "u1"}

def _primary_header(p: Product, size: int) -> bytes:
    prov = p.provenance
    cards = [card("SIMPLE", True, "conforms to FITS"), card("BITPIX", 8), card("NAXIS", 0),
             card("EXTEND", True),
             card("CJPRODV", FORMAT_VERSION, "CASSISjuice product format version"),
             card("CJSIZE", size, "file size in bytes (completeness check)"),
             card("CJ_ID", p.cj_id, "CASSISjuice ID <AORKEY>_<N>"),
             card("AORKEY", p.aorkey), card("POINTING", p.pointing, "pointing in the AOR"),
             card("OBJECT", p.object_name), card("RADESYS", "ICRS"),
             card("RA", p.ra_deg, "[deg] measured"), card("DEC", p.dec_deg, "[deg] measured"),
             card("RA_RQST", p.ra_rqst_deg, "[deg] requested"),
             card("DEC_RQST", p.dec_rqst_deg, "[deg] requested"),
             card("SIMULATE", p.simulated, "input data were simulated"),
             card("SWNAME", prov.software), card("SWVERSN", prov.version),
             card("CALSET", prov.calibration_set, "calibration set"),
             card("DATE", prov.date, "product written (UTC)"),
             card("NSTEPS", len(prov.steps), "reduction steps")]
    for i, (name, status) in enumerate(prov.steps[:999], 1):
        cards += [card(f"STEP{i:03d}", name), card(f"STAT{i:03d}", status)]
    cards.append(card("NVARIANT", len(p.spectra), "method variants"))
    for arm, sel in p.selection.items():
        cards += [card(f"SEL_{arm}", sel.key or "NONE", f"selected {arm} variant"),
                  card(f"WHY_{arm}", "; ".join(sel.reasons))]
    for key, value in p.metadata.items():
        if _HIER_KEY_RE.match(key) and isinstance(value, str | int | float):
            cards.append(card(f"CJ META {key.upper()}", value))
    cards.append("COMMENT   Authoritative record: extension META (JSON)".ljust(80))
    return header(cards)


def _table_hdu(name: str, data: np.ndarray) -> list[Any]:
    return bintable(name, data, units=_UNITS, logical=_LOGICAL)


def _str_table(columns: list[tuple[str, str, list[Any]]], n: int) -> np.ndarray:
    """Small table from (name, dtype, values); 'S' dtypes get the width of the longest."""
    dtype = []
    for name, code, values in columns:
        if code == "S":
            code = f"S{max([len(v) for v in values] + [1])}"
        dtype.append((name, code))
    data = np.zeros(n, dtype)
    for name, _, values in columns:
        data[name] = values
    return data


def encode_product(p: Product) -> list[Any]:
    """Validate and encode a product as a list of byte buffers."""
    try:
        check_scalars(p)
        counts, wl, seg = concat_rows(p)
        check_rows(p, counts, wl, seg)
    except ProductError as exc:
        raise ProductError(f"product {p.cj_id!r}: {exc}") from None
    specs = p.spectra
    rows = np.empty(len(wl), _SPECTRA_DTYPE)
    rows["variant"] = np.repeat(np.arange(len(specs), dtype=np.int16), counts)
    rows["wavelength"] = wl
    if specs:
        rows["flux"] = np.concatenate([s.flux_jy for s in specs])
        rows["flux_error"] = np.concatenate([s.flux_error_jy for s in specs])
        rows["flag"] = np.concatenate([s.flag for s in specs])
    rows["segment"] = seg
    parts = [parse_variant_key(s.key) for s in specs]
    variants = _str_table([
        ("index", ">i2", list(range(len(specs)))), ("key", "S", [s.key for s in specs]),
        ("arm", "S", [s.arm for s in specs]),
        *[(f, "S", [getattr(v, f) for v in parts])
          for f in ("background", "extraction", "nods", "calibration")],
        ("selected", "S1", [b"T" if s.selected else b"F" for s in specs]),
        ("n_points", ">i4", counts), ("snr", ">f8", [s.snr for s in specs])], len(specs))
    scales = [(i, k, v) for i, s in enumerate(specs) for k, v in s.scale_factors.items()]
    scale_table = _str_table([("variant", ">i2", [r[0] for r in scales]),
                              ("segment", f"S{SEG_WIDTH}", [r[1] for r in scales]),
                              ("factor", ">f8", [r[2] for r in scales])], len(scales))
    prov = p.provenance
    doc = {"cj_id": p.cj_id, "aorkey": p.aorkey, "pointing": p.pointing,
           "object_name": p.object_name, "ra_deg": p.ra_deg, "dec_deg": p.dec_deg,
           "ra_rqst_deg": p.ra_rqst_deg, "dec_rqst_deg": p.dec_rqst_deg,
           "simulated": p.simulated,
           "provenance": {"software": prov.software, "version": prov.version,
                          "steps": [list(s) for s in prov.steps],
                          "calibration_set": prov.calibration_set, "date": prov.date},
           "selection": {a: {"key": s.key, "reasons": list(s.reasons)}
                         for a, s in p.selection.items()},
           "metadata": p.metadata}
    text = json.dumps(doc, separators=(",", ":")).encode("ascii")
    meta = np.frombuffer(text, f"S{len(text)}", 1).view([("json", f"S{len(text)}")])
    out = []
    for name, data in zip(_EXTENSIONS, (rows, variants, scale_table, meta), strict=True):
        out += _table_hdu(name, data)
    primary = bytearray(_primary_header(p, 0))
    size = len(primary) + sum(len(c) if isinstance(c, bytes) else c.nbytes for c in out)
    primary[400:480] = card("CJSIZE", size, "file size in bytes (completeness check)").encode()
    return [bytes(primary), *out]


def _get(header: Mapping[str, str], key: str, default: Any = None) -> Any:
    if key in header:
        return header_value(header[key], strict=True)
    if default is None:
        raise ProductError(f"keyword {key} missing")
    return default


def _readheader(buf: bytes, pos: int) -> tuple[dict[str, str], int]:
    """Raw value fields of the ``KEY = value`` cards of the header at ``pos``; end offset."""
    try:
        return read_cards(buf, pos)
    except FitsHeaderError:
        raise ProductError("truncated file (header runs past its end)") from None


def _int(header: Mapping[str, str], key: str, low: int, high: int, default: Any = None) -> int:
    value = _get(header, key, default)
    if type(value) is not int or not low <= value <= high:
        raise ProductError(f"keyword {key} = {value!r} is not an integer in [{low}, {high}]")
    return value


def _data_size(header: Mapping[str, str]) -> int:
    naxis = _int(header, "NAXIS", 0, 999)
    size = 1 if naxis else 0
    for i in range(1, naxis + 1):
        size *= _int(header, f"NAXIS{i}", 0, 2**40)
    bitpix = _int(header, "BITPIX", -64, 64)
    if bitpix not in (8, 16, 32, 64, -32, -64):
        raise ProductError(f"invalid BITPIX {bitpix}")
    return abs(bitpix) // 8 * _int(header, "GCOUNT", 1, 2**31, 1) * (
        _int(header, "PCOUNT", 0, 2**40, 0) + size)


def _table(header: Mapping[str, str], buf: bytes, start: int, name: str) -> np.ndarray:
    if _get(header, "XTENSION") != "BINTABLE" or _get(header, "PCOUNT", 0) != 0:
        raise ProductError(f"extension {name} is not a plain binary table")
    fields = []
    for i in range(1, _int(header, "TFIELDS", 0, 999) + 1):
        if f"TSCAL{i}" in header or f"TZERO{i}" in header:
            raise ProductError(f"extension {name}: scaled columns are not supported")
        match = re.match(r"\s*([0-9]*)([A-Z])", _get(header, f"TFORM{i}"))
        if match is None or match[2] not in "AL" + "".join(_FROM_TFORM):
            raise ProductError(f"extension {name}: unsupported TFORM{i}")
        rep, code = int(match[1] or 1), match[2]
        base = "S1" if code == "L" else _FROM_TFORM.get(code, f"S{rep}")
        dtype = base if code == "A" or rep == 1 else (base, (rep,))
        fields.append((_get(header, f"TTYPE{i}").lower(), dtype))
    dtype = np.dtype(fields)
    if dtype.itemsize != _get(header, "NAXIS1"):
        raise ProductError(f"extension {name}: NAXIS1 does not match its columns")
    return np.frombuffer(buf, dtype, _get(header, "NAXIS2"), start)


def _col(table: np.ndarray, column: str, name: str) -> np.ndarray:
    if column not in (table.dtype.names or ()):
        raise ProductError(f"extension {name} has no column {column!r}")
    return table[column]


def decode_product(buf: bytes) -> Product:
    if not buf.startswith(b"SIMPLE  =") or len(buf) < BLOCK:
        raise ProductError("not a FITS file")
    if len(buf) % BLOCK:
        raise ProductError("truncated file (size is not a multiple of 2880 bytes)")
    primary, pos = _readheader(buf, 0)
    if "CJPRODV" not in primary:
        raise ProductError("not a CASSISjuice product (no CJPRODV keyword)")
    version = _get(primary, "CJPRODV")
    if version != FORMAT_VERSION:
        raise ProductError(f"unknown product format version {version!r} "
                           f"(this software reads version {FORMAT_VERSION})")
    size = _data_size(primary)
    pos += size + (-size % BLOCK)
    tables: dict[str, np.ndarray] = {}
    while pos < len(buf):
        header, start = _readheader(buf, pos)
        name = _get(header, "EXTNAME", "")
        size = _data_size(header)
        if start + size > len(buf):
            raise ProductError(f"truncated file (extension {name or '?'} data)")
        if name in _EXTENSIONS and name not in tables:
            tables[name] = _table(header, buf, start, name)
        pos = start + size + (-size % BLOCK)
    missing = [name for name in _EXTENSIONS if name not in tables]
    if missing:
        raise ProductError(f"not a complete product: missing extension(s) {', '.join(missing)}")

    doc = json.loads(_col(tables["META"], "json", "META")[0])
    var = tables["VARIANTS"]
    index = _col(var, "index", "VARIANTS").astype(np.int64)
    nv = len(index)
    if sorted(index.tolist()) != list(range(nv)):
        raise ProductError("VARIANTS index is not 0..N-1")
    rows = tables["SPECTRA"]
    variant = _col(rows, "variant", "SPECTRA").astype(np.int32)
    if len(variant) and not (variant[1:] >= variant[:-1]).all():
        perm = np.argsort(variant, kind="stable")
        rows, variant = rows[perm], variant[perm]
    if len(variant) and (variant[0] < 0 or variant[-1] >= nv):
        raise ProductError("SPECTRA refers to a variant missing from VARIANTS")
    counts = np.bincount(variant, minlength=nv)
    order = np.argsort(index)
    if not np.array_equal(counts, _col(var, "n_points", "VARIANTS")[order]):
        raise ProductError("VARIANTS n_points disagrees with SPECTRA")
    wl = _col(rows, "wavelength", "SPECTRA").astype(np.float64)
    flux = _col(rows, "flux", "SPECTRA").astype(np.float64)
    error = _col(rows, "flux_error", "SPECTRA").astype(np.float64)
    flag = _col(rows, "flag", "SPECTRA").astype(np.int32)
    seg = _col(rows, "segment", "SPECTRA")
    if seg.dtype.itemsize > SEG_WIDTH:
        raise ProductError("SPECTRA segment column is wider than 4 characters")
    seg = seg.astype(f"S{SEG_WIDTH}")
    seg_str = seg_to_str(seg)
    scales: dict[int, dict[str, float]] = {}
    sc = tables["SCALES"]
    for v, s, f in zip(_col(sc, "variant", "SCALES").tolist(),
                       _col(sc, "segment", "SCALES").tolist(),
                       _col(sc, "factor", "SCALES").tolist(), strict=True):
        scales.setdefault(v, {})[s.decode("ascii")] = f
    text = {c: [b.decode("ascii") for b in _col(var, c, "VARIANTS").tolist()]
            for c in ("key", "arm", "background", "extraction", "nods", "calibration")}
    selected = _col(var, "selected", "VARIANTS").tolist()
    snr = _col(var, "snr", "VARIANTS").tolist()
    ends = np.cumsum(counts).tolist()
    spectra = []
    for j, i in enumerate(order.tolist()):
        if selected[i] not in (b"T", b"F"):
            raise ProductError("VARIANTS selected is neither T nor F")
        a, b = ends[j] - int(counts[j]), ends[j]
        spectra.append(Spectrum(
            text["key"][i], text["arm"][i], text["background"][i], text["extraction"][i],
            text["nods"][i], text["calibration"][i], wl[a:b], flux[a:b], error[a:b],
            seg_str[a:b], flag[a:b], selected[i] == b"T", snr[i], scales.get(j, {})))
    prov = doc["provenance"]
    product = Product(
        doc["cj_id"], doc["aorkey"], doc["pointing"], doc["object_name"], doc["ra_deg"],
        doc["dec_deg"], doc["ra_rqst_deg"], doc["dec_rqst_deg"], doc["simulated"],
        Provenance(prov["software"], prov["version"], tuple(map(tuple, prov["steps"])),
                   prov["calibration_set"], prov["date"]),
        {arm: Selection(s["key"], tuple(s["reasons"])) for arm, s in doc["selection"].items()},
        doc["metadata"], tuple(spectra))
    try:
        check_scalars(product)
        check_rows(product, counts, wl, seg)
    except ProductError as exc:
        raise ProductError(f"invalid product {product.cj_id!r}: {exc}") from None
    return product
