"""The atlas as a GAVO DaCHS resource directory: q.rd, its tables as CSV, its spectra as
files (``cassisjuice export-dachs``).

What is written follows the resource descriptor: every table a ``data`` element of q.rd
imports gets the file that element names (``data/<table>.csv``: a header of the column
names in the descriptor's order, then one line per row; NULL is an empty field, which the
descriptor's ``empty_is_null`` row filter turns back into NULL), and every ObsCore row its
selected spectrum as SDM FITS (``data/spectra/<ID>_<ARM>.fits``, the file the descriptor's
``//products#define`` registers). ``dachs imp q`` in that directory then imports it all.
The tables are read and written in chunks of :data:`CHUNK_ROWS` rows, never whole.
"""

from __future__ import annotations

import csv
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from vo_service.metadata import default_rd_path
from vo_service.spectra import to_fits

from . import Store, quote_identifier

__all__ = ["DumpReport", "dump_for_dachs", "spectrum_file"]

#: no row limit: the dump takes whole tables
_ALL_ROWS = (1 << 31) - 2
_QUERY_TIMEOUT_S = 3600.0
#: rows read from the store at a time (PostgreSQL: a server-side cursor), so a table of
#: any size is written in bounded memory
CHUNK_ROWS = 5000


@dataclass
class DumpReport:
    rows: dict[str, int] = field(default_factory=dict)  # table id -> rows written
    spectra: int = 0


def spectrum_file(obs_id: str) -> str:
    """The resdir-relative file of the spectrum of an ObsCore ``obs_id`` (``ID/ARM``)."""
    return f"data/spectra/{obs_id.replace('/', '_')}.fits"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _write_table(store: Store, table_id: str, path: Path) -> int:
    """Write the table as CSV chunk by chunk as the store gives the rows (the time limit
    counts the time spent in the database only); returns the number of rows."""
    table = store.table(table_id)
    names = [c.name for c in table.columns]
    order = f" ORDER BY {quote_identifier(table.primary)}" if table.primary else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    written = 0
    with store.query_chunks(
            f"SELECT {', '.join(map(quote_identifier, names))} FROM "
            f"{store.physical(table_id)}{order}", [], _ALL_ROWS, _QUERY_TIMEOUT_S,
            chunk_rows=CHUNK_ROWS) as chunks, \
            partial.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for rows in chunks:
            writer.writerows([_cell(v) for v in row] for row in rows)
            written += len(rows)
    partial.replace(path)
    return written


def dump_for_dachs(store: Store, out_dir: Path, authority: str) -> DumpReport:
    """Write ``out_dir`` as the GAVO DaCHS resource directory of the atlas in ``store``."""
    from vo_service.protocols.datasets import SpectrumRef, resolve

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(default_rd_path(), out_dir / "q.rd")
    report = DumpReport()
    for table_id, source in store.resource.imports.items():
        report.rows[table_id] = _write_table(store, table_id, out_dir / source)
    _, rows, _ = store.execute_readonly(
        f"SELECT obs_id FROM {store.physical('obscore')} ORDER BY obs_id", [], _ALL_ROWS,
        _QUERY_TIMEOUT_S)
    for (obs_id,) in rows:
        cj_id, arm = obs_id.split("/")
        spectrum = resolve(store, SpectrumRef(cj_id, arm), authority)
        path = out_dir / spectrum_file(obs_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(to_fits(spectrum))
        report.spectra += 1
    return report
