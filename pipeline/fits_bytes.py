"""FITS files written directly as bytes (FITS 4.0 sec. 3-7): header cards and blocks, and
binary tables from numpy structured arrays.

The product format (``pipeline.products``) and the served SDM FITS spectra
(``vo_service.spectra``) both write through here: astropy takes 10-30 ms to write a small
file, this a fraction of a millisecond. Headers are read back by ``pipeline.fits_header``
(the one reader, shared by the products and the raw exposures); data reading stays with
astropy or the product format's codec.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from .fits_header import BLOCK

__all__ = ["BLOCK", "bintable", "card", "header", "long_card"]

_TFORM = {"i2": "I", "i4": "J", "i8": "K", "f4": "E", "f8": "D", "u1": "B"}


@lru_cache(maxsize=4096, typed=True)
def card(key: str, value: Any, comment: str = "") -> str:
    """One header card (HIERARCH when ``key`` has a space); '' if it cannot be written."""
    head = f"HIERARCH {key} = " if " " in key else f"{key:<8}= "
    if isinstance(value, str):
        text = value if value.isascii() and value.isprintable() else "".join(
            c if " " <= c <= "~" else "?" for c in value)
        text = text[:78 - len(head)]
        while len(head) + len(text) + text.count("'") + 2 > 80:
            text = text[:-1]
        val = "'" + text.replace("'", "''").ljust(8) + "'"
    elif isinstance(value, bool | np.bool_):
        val = "T" if value else "F"
    elif isinstance(value, int | np.integer):
        val = str(int(value))
    else:
        if not math.isfinite(value):
            return ""
        val = repr(float(value)).upper()
        if "." not in val and "E" not in val:
            val += ".0"
    if not val.startswith("'") and len(head) == 10:
        val = val.rjust(20)
    text = head + val
    if len(text) > 80:
        return ""
    return (f"{text} / {comment}" if comment else text)[:80].ljust(80)


def long_card(key: str, value: str, comment: str = "") -> str:
    """A string of any length: one card, or a card and CONTINUE cards (FITS 4.0 sec.
    4.2.1.2, the long-string convention astropy reads)."""
    single = card(key, value, comment)
    text = value if value.isascii() and value.isprintable() else "".join(
        c if " " <= c <= "~" else "?" for c in value)
    if single and len(text) + text.count("'") <= 68:  # fits one card, untruncated
        return single
    chunks, current = [], ""
    for char in text:  # chunks whose escaped length fits 66 characters
        if len(current) + len(char) + current.count("'") + (char == "'") > 66:
            chunks.append(current)
            current = ""
        current += char
    chunks.append(current)
    cards = []
    for i, chunk in enumerate(chunks):
        body = chunk.replace("'", "''") + ("&" if i < len(chunks) - 1 else "")
        head = f"{key:<8}= " if i == 0 else "CONTINUE  "
        cards.append((head + "'" + body + "'").ljust(80))
    if comment:
        cards.append(("CONTINUE  '' / " + comment)[:80].ljust(80))
        cards[-2] = cards[-2].rstrip()[:-1] + "&'"
        cards[-2] = cards[-2].ljust(80)
    return "".join(cards)


def header(cards: Iterable[str]) -> bytes:
    """A header: the cards (empty ones dropped), END, blank-padded to whole blocks."""
    text = "".join(c for c in cards if c) + "END".ljust(80)
    return (text + " " * (-len(text) % BLOCK)).encode("ascii")


def bintable(name: str, data: np.ndarray, *, units: Mapping[str, str] | None = None,
             logical: Collection[str] = (), column_cards: Mapping[str, Iterable[
                 tuple[str, Any]]] | None = None, extra: Iterable[str] = ()) -> list[Any]:
    """A BINTABLE extension: [header bytes, the big-endian records, padding].

    ``units``: TUNITn by column; ``logical``: 1-byte 'T'/'F' columns (TFORM L);
    ``column_cards``: more per-column keywords as (prefix, value), e.g. ("TUCD", "em.wl")
    becomes TUCDn; ``extra``: cards after EXTNAME."""
    head, tail = _table_cards(
        name, data.dtype, tuple(sorted((units or {}).items())), tuple(sorted(logical)),
        tuple((k, tuple(v)) for k, v in sorted((column_cards or {}).items())), tuple(extra))
    return [header([head, card("NAXIS2", len(data)), tail]), data,
            b"\0" * (-data.nbytes % BLOCK)]


@lru_cache(maxsize=256)
def _table_cards(name: str, dtype: np.dtype, units: tuple, logical: tuple,
                 column_cards: tuple, extra: tuple) -> tuple[str, str]:
    """The cards before and after NAXIS2 (the only one that varies between files)."""
    units_of, more = dict(units), dict(column_cards)
    head = [card("XTENSION", "BINTABLE"), card("BITPIX", 8), card("NAXIS", 2),
            card("NAXIS1", dtype.itemsize)]
    tail = [card("PCOUNT", 0), card("GCOUNT", 1), card("TFIELDS", len(dtype.names))]
    for i, col in enumerate(dtype.names, 1):
        kind = dtype[col]
        tform = ("L" if col in logical else f"{kind.itemsize}A" if kind.kind == "S"
                 else _TFORM[kind.str[1:]])
        tail += [card(f"TTYPE{i}", col), card(f"TFORM{i}", tform)]
        if col in units_of:
            tail.append(card(f"TUNIT{i}", units_of[col]))
        for prefix, value in more.get(col, ()):
            tail.append(card(f"{prefix}{i}", value))
    tail.append(card("EXTNAME", name))
    tail.extend(extra)
    return "".join(head), "".join(tail)
