"""A result table in the formats TAP offers (TAP 1.1 sec. 2.7.1, DALI 1.1 sec. 3.3.1).

:func:`write_table` takes the column metadata and column-wise values once and writes

* ``votable`` / ``votable/b2``: the VOTable of :func:`~vo_service.votable.results_votable`
  (TABLEDATA or BINARY2), overflow marked after the TABLE;
* ``csv`` (RFC 4180, header line of column names) and ``tsv`` (tabs; tabs and newlines in
  values become spaces): nulls are empty fields, DALI arrays space-separated;
* ``fits``: a binary table extension (astropy), units kept, nulls as NaN or TNULL;
* ``json``: ``{"metadata": [...], "data": [[...], ...], "overflow": bool}``.

Only the VOTable formats can say a result overflowed in-band; the others state it in
the ``overflow`` key (json) or not at all (csv, tsv, fits), as DALI allows.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np

from .data import cell_texts
from .writer import FieldSpec, ServiceDescriptor, results_votable

__all__ = ["write_table"]


def _spec(col, ident: str | None = None) -> FieldSpec:
    return FieldSpec(col.name, col.datatype, col.arraysize, col.unit, col.ucd, col.utype,
                     col.xtype, col.description, ident)


def _csv_field(text: str) -> str:
    """RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _tsv_field(text: str) -> str:
    """TSV (TAP 1.1 sec. 3.2): no tab or line break inside a value."""
    return text.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _clean_column(texts: list[str], clean) -> list[str]:
    joined = "\x01".join(texts)
    if not any(c in joined for c in ',"\r\n\t'):
        return texts  # one scan: most columns need no quoting
    return [clean(t) for t in texts]


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, np.ndarray):
        return [float(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return _json_value(float(value))
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


def _fits(fields, columns) -> bytes:
    from astropy.table import MaskedColumn, Table

    table = Table()
    names: set[str] = set()
    for spec, values in zip(fields, columns, strict=True):
        name = spec.name
        while name.lower() in names:
            name += "_"
        names.add(name.lower())
        mask = [v is None for v in values]
        if spec.datatype == "char":
            data = np.array(["" if v is None else str(v) for v in values], dtype=str)
        elif spec.arraysize not in (None, "1"):
            width = max([len(v) for v in values if v is not None] or [int(
                spec.arraysize) if spec.arraysize.isdigit() else 1])
            data = np.full((len(values), width), np.nan)
            for i, v in enumerate(values):
                if v is not None:
                    data[i, :len(v)] = v
            mask = np.zeros(data.shape, bool)
        elif spec.datatype in ("float", "double"):
            data = np.array([np.nan if v is None else float(v) for v in values])
        elif spec.datatype == "boolean":
            data = np.array([bool(v) if v is not None else False for v in values])
        else:
            data = np.array([0 if v is None else int(v) for v in values], dtype=np.int64)
        column = MaskedColumn(data, name=name, mask=mask, unit=spec.unit or None,
                              description=spec.description or None)
        table.add_column(column)
    buf = io.BytesIO()
    table.write(buf, format="fits")
    return buf.getvalue()


def write_table(kind: str, fields: Sequence, columns: Sequence[Sequence], *,
                overflow: bool = False, infos: Sequence[tuple[str, str]] = (),
                descriptors: Sequence[ServiceDescriptor] = (),
                field_ids: Mapping[int, str] | None = None) -> bytes:
    """``fields``: ColumnInfo-like objects (name, datatype, arraysize, unit, ucd, utype,
    xtype, description); ``columns``: one value list per field. VOTables also carry the
    service ``descriptors``, whose PARAMs ``ref`` the fields given IDs in ``field_ids``
    (field index -> ID)."""
    if kind in ("votable", "votable/b2"):
        ids = field_ids or {}
        return results_votable([_spec(f, ids.get(i)) for i, f in enumerate(fields)], columns,
                               overflow=overflow, infos=list(infos), descriptors=descriptors,
                               serialization="binary2" if kind == "votable/b2"
                               else "tabledata")
    if kind in ("csv", "tsv"):
        texts = [cell_texts(f, col) for f, col in zip(fields, columns, strict=True)]
        clean = _csv_field if kind == "csv" else _tsv_field
        texts = [_clean_column(t, clean) for t in texts]
        header = [clean(f.name) for f in fields]
        sep, end = (",", "\r\n") if kind == "csv" else ("\t", "\n")
        lines = [sep.join(header), *(sep.join(row) for row in zip(*texts, strict=True))]
        return (end.join(lines) + end).encode("utf-8")
    rows = list(zip(*columns, strict=True)) if columns else []
    if kind == "json":
        metadata = [{k: v for k, v in (("name", f.name), ("datatype", f.datatype),
                                       ("arraysize", f.arraysize), ("unit", f.unit),
                                       ("ucd", f.ucd), ("utype", f.utype), ("xtype", f.xtype),
                                       ("description", f.description)) if v is not None}
                    for f in fields]
        data = [[_json_value(v) for v in row] for row in rows]
        return json.dumps({"metadata": metadata, "data": data, "overflow": overflow},
                          allow_nan=False).encode("utf-8")
    if kind == "fits":
        return _fits(fields, columns)
    raise ValueError(f"unknown table format {kind!r}")
