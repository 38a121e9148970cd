"""The coverage MOC (MOC 2.0) built, serialised and converted with mocpy.

The store keeps the MOC as FITS bytes (``store_meta``); ``/moc`` serves those bytes, or the
JSON and ASCII serialisations of MOC 2.0 sec. 4 converted here.
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["moc_fits_from_cells", "moc_text"]


def moc_fits_from_cells(cells: np.ndarray, order: int) -> bytes:
    """MOC 2.0 FITS of NESTED HEALPix cells of one order."""
    from mocpy import MOC

    cells = np.unique(np.asarray(cells, np.int64)).astype(np.uint64)
    moc = MOC.from_healpix_cells(cells, np.full(len(cells), order, np.uint8), order)
    buffer = io.BytesIO()
    moc.serialize(format="fits").writeto(buffer)
    return buffer.getvalue()


def moc_text(fits_bytes: bytes, kind: str) -> str:
    """The JSON or ASCII serialisation of a FITS MOC."""
    import tempfile
    from pathlib import Path

    from mocpy import MOC

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "moc.fits"
        path.write_bytes(fits_bytes)
        moc = MOC.from_fits(path)
    return moc.to_string(format=kind)
