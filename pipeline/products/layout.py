"""Where products live: ``<directory>/<ID>.fits``, written atomically (a temporary name in
the same directory, renamed over the target), read, listed, checked for completeness, and
the temporaries of interrupted writes cleaned up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any, BinaryIO

from ..fits_header import read_header
from .fits_codec import decode_product, encode_product
from .model import CJ_ID_PATTERN, Product, ProductError, parse_cj_id

__all__ = ["clean_temporaries", "is_complete", "list_products", "product_path",
           "read_product", "write_product"]

logger = logging.getLogger("pipeline.products")

_TEMP_RE = re.compile(r"^\.[0-9]{4,10}_[0-9]{1,3}\.[0-9]+\.[0-9a-f]{8}\.fits\.tmp$")


def _write_chunks(fh: BinaryIO, chunks: list[Any]) -> None:
    for chunk in chunks:
        fh.write(chunk)


def product_path(directory: str | os.PathLike[str], cj_id: str) -> Path:
    """Path of the product file of ``cj_id`` in ``directory``."""
    parse_cj_id(cj_id)
    return Path(directory) / f"{cj_id}.fits"


def write_product(product: Product, directory: str | os.PathLike[str], *,
                  fsync: bool = True, atomic: bool = True) -> Path:
    """Validate and write ``<directory>/<ID>.fits`` atomically.

    The file is written under a temporary name (``.<ID>.<pid>.<random>.fits.tmp``) in the
    same directory, flushed (``fsync``) and renamed over the target, so readers see the old
    file or the new one, never a partial one.

    Parameters
    ----------
    product : Product
    directory : path
        Created if missing.
    fsync : bool
        Flush file and directory to disk (survives power loss). ``False`` keeps the
        rename's atomicity against process crashes only, and is faster.
    atomic : bool
        ``False`` writes the final name directly, without the temporary name and the
        rename (and without ``fsync``): only for a directory no reader sees before the
        writer renames it into place as a whole (``cassisjuice simulate``'s staging).

    Returns
    -------
    Path
        The product file.

    Raises
    ------
    ProductError
        If the product is invalid (nothing is written).
    """
    chunks = encode_product(product)
    final = product_path(directory, product.cj_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    if not atomic:
        with open(final, "wb") as fh:
            _write_chunks(fh, chunks)
        return final
    tmp = final.parent / f".{product.cj_id}.{os.getpid()}.{secrets.token_hex(4)}.fits.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with open(fd, "wb") as fh:
            _write_chunks(fh, chunks)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        tmp.replace(final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        except OSError:  # some file systems refuse fsync on directories
            pass
        finally:
            os.close(dir_fd)
    logger.debug("wrote %s (%d variants)", final, len(product.spectra))
    return final


def read_product(path: str | os.PathLike[str]) -> Product:
    """Read a product file.

    Raises
    ------
    ProductError
        If the file is missing, unreadable, truncated or corrupt, not a product, of an
        unknown format version, or holds an invalid product. The message names the path.
    """
    path = Path(path)
    try:
        buf = path.read_bytes()
    except FileNotFoundError:
        raise ProductError(f"{path}: no such product file") from None
    except OSError as exc:
        raise ProductError(f"{path}: cannot read product file: {exc}") from exc
    try:
        return decode_product(buf)
    except ProductError as exc:
        raise ProductError(f"{path}: {exc}") from None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeError) as exc:
        raise ProductError(f"{path}: corrupt product file ({type(exc).__name__}: {exc})"
                           ) from exc


def list_products(directory: str | os.PathLike[str]) -> list[str]:
    """IDs of the product files in ``directory``, ordered by (AORKEY, N).

    Only regular files named ``<ID>.fits`` count; temporary and foreign files are ignored.
    """
    try:
        with os.scandir(directory) as entries:
            ids = [e.name[:-5] for e in entries if e.name.endswith(".fits")
                   and CJ_ID_PATTERN.match(e.name[:-5]) and e.is_file()]
    except OSError as exc:
        raise ProductError(f"cannot list products in {directory}: {exc}") from exc
    return sorted(ids, key=parse_cj_id)


def is_complete(directory: str | os.PathLike[str], cj_id: str) -> bool:
    """Whether ``<ID>.fits`` exists and looks like a whole product.

    Writes are atomic, so this is a cheap check (the file size equals the ``CJSIZE``
    recorded in the primary header), not a full read; use :func:`read_product` for that.
    """
    path = product_path(directory, cj_id)
    try:
        header, _ = read_header(path, max_blocks=1000, keys=("CJSIZE",))
        size = path.stat().st_size
    except (OSError, ValueError):
        return False
    return header.get("CJSIZE") == size


def clean_temporaries(directory: str | os.PathLike[str], *, min_age_s: float = 3600.0) -> int:
    """Remove temporary files left by interrupted writes older than ``min_age_s``.

    Returns
    -------
    int
        Number of files removed.
    """
    removed, now = 0, time.time()
    with os.scandir(directory) as entries:
        for entry in entries:
            if _TEMP_RE.match(entry.name) and now - entry.stat().st_mtime >= min_age_s:
                with contextlib.suppress(FileNotFoundError):
                    Path(entry.path).unlink()
                    removed += 1
    if removed:
        logger.info("removed %d stale temporary product file(s) from %s", removed, directory)
    return removed
