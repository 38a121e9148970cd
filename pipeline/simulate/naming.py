"""Spitzer Science Center file names and archive layout of IRS BCD products.

The archive stores every DCE (one ramp) of an AOR as
``r<AORKEY>/ch<N>/bcd/SPITZER_S<N>_<AORKEY>_<EXPID>_<DCENUM>_<version>_<kind>.fits``
(e.g. ``SPITZER_S0_21247232_0005_0002_7_bcd.fits``); post-BCD co-adds of all the DCEs of
one EXPID drop the DCE field (``SPITZER_S0_21247232_0005_7_coa2d.fits``). The raw DCE name
recorded in the header keyword RAWNAME is
``IRSX.<N>.<AORKEY, 10 digits>.<EXPID, 4>.<DCE, 4>.01.mipl.fits`` (irs.md 2.1, 2.2).

Channel numbers: 0 SL, 1 SH, 2 LL, 3 LH (5/6 peak-up acquisition, 8/9 peak-up imaging).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath

__all__ = [
    "COADD_KINDS",
    "DCE_KINDS",
    "BcdName",
    "aor_directory",
    "bcd_filename",
    "parse_bcd_filename",
    "rawname",
]

#: per-DCE products: slope image, its uncertainty, and the status bit mask
DCE_KINDS = ("bcd", "func", "bmask")
#: post-BCD co-adds of the DCEs of one EXPID (image, uncertainty, mask); no DCE field
COADD_KINDS = ("coa2d", "c2unc", "c2msk")
#: channel digits that appear in IRS file names (spectral modules and peak-up)
_CHANNELS = frozenset({0, 1, 2, 3, 5, 6, 8, 9})
_ARCHIVE_PRODUCTS = ("bcd", "pbcd", "cal")

_NAME_RE = re.compile(
    r"^SPITZER_S(?P<chnl>\d)_(?P<aor>\d+)_(?P<expid>\d{4})_(?:(?P<dce>\d{4})_)?"
    r"(?P<version>\d+)_(?P<kind>[a-z0-9]+)\.fits$"
)


@dataclass(frozen=True)
class BcdName:
    """The fields of an SSC IRS product file name.

    Attributes
    ----------
    chnlnum : int
        Channel (module) number: 0 SL, 1 SH, 2 LL, 3 LH.
    aorkey : int
        AOR key.
    expid : int
        Exposure ID within the AOR.
    dcenum : int or None
        DCE number within the exposure; None for co-added products.
    version : int
        Pipeline product version digit (7 for the S18.18 BCDs).
    kind : str
        Product suffix: one of :data:`DCE_KINDS` or :data:`COADD_KINDS`.
    """

    chnlnum: int
    aorkey: int
    expid: int
    dcenum: int | None
    version: int
    kind: str

    @property
    def is_coadd(self) -> bool:
        """True for post-BCD co-adds (no DCE field)."""
        return self.dcenum is None

    @property
    def filename(self) -> str:
        """The file name these fields describe (inverse of :func:`parse_bcd_filename`)."""
        return bcd_filename(self.chnlnum, self.aorkey, self.expid, self.dcenum, self.kind,
                            self.version)

    def sibling(self, kind: str) -> str:
        """File name of another product of the same DCE (e.g. ``func`` for a ``bcd``)."""
        return bcd_filename(self.chnlnum, self.aorkey, self.expid, self.dcenum, kind,
                            self.version)


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    number = int(value)  # type: ignore[call-overload]
    if number < low or (high is not None and number > high):
        upper = "" if high is None else f"..{high}"
        raise ValueError(f"{name} must be in {low}{upper}, got {number}")
    return number


def _check_channel(chnlnum: object) -> int:
    channel = _check_int("chnlnum", chnlnum, 0, 9)
    if channel not in _CHANNELS:
        raise ValueError(f"chnlnum {channel} is not an IRS channel ({sorted(_CHANNELS)})")
    return channel


def bcd_filename(chnlnum: int, aorkey: int, expid: int, dcenum: int | None, kind: str,
                 version: int = 7) -> str:
    """SSC archive file name of an IRS product.

    Parameters
    ----------
    chnlnum : int
        Channel: 0 SL, 1 SH, 2 LL, 3 LH (5, 6, 8, 9 for peak-up products).
    aorkey : int
        AOR key (positive).
    expid : int
        Exposure ID, 0..9999.
    dcenum : int or None
        DCE number, 0..9999, for the per-DCE kinds; must be None for the co-add kinds.
    kind : str
        ``'bcd'``, ``'func'``, ``'bmask'`` (per DCE) or ``'coa2d'``, ``'c2unc'``,
        ``'c2msk'`` (co-adds).
    version : int, optional
        Product version digit, 7 for the final S18.18 processing.

    Returns
    -------
    str
        E.g. ``'SPITZER_S0_21247232_0005_0002_7_bcd.fits'`` or
        ``'SPITZER_S0_21247232_0005_7_coa2d.fits'``.

    Raises
    ------
    ValueError
        For an unknown kind, out-of-range numbers, or a DCE number given (or missing) where
        the kind forbids (or needs) it.
    """
    channel = _check_channel(chnlnum)
    aor = _check_int("aorkey", aorkey, 1)
    exp = _check_int("expid", expid, 0, 9999)
    ver = _check_int("version", version, 0)
    if kind in DCE_KINDS:
        if dcenum is None:
            raise ValueError(f"kind {kind!r} is a per-DCE product and needs a dcenum")
        dce = _check_int("dcenum", dcenum, 0, 9999)
        return f"SPITZER_S{channel}_{aor}_{exp:04d}_{dce:04d}_{ver}_{kind}.fits"
    if kind in COADD_KINDS:
        if dcenum is not None:
            raise ValueError(f"kind {kind!r} is a co-add of all DCEs and has no dcenum "
                             f"(got {dcenum!r}); pass dcenum=None")
        return f"SPITZER_S{channel}_{aor}_{exp:04d}_{ver}_{kind}.fits"
    raise ValueError(f"unknown product kind {kind!r}; expected one of "
                     f"{DCE_KINDS + COADD_KINDS}")


def parse_bcd_filename(name: str | os.PathLike[str]) -> BcdName:
    """Split an SSC IRS product file name into its fields.

    Parameters
    ----------
    name : str or path-like
        A file name or a path ending in one (only the last component is read).

    Returns
    -------
    BcdName

    Raises
    ------
    ValueError
        If the name is not ``SPITZER_S<c>_<aorkey>_<expid:04d>[_<dce:04d>]_<v>_<kind>.fits``
        with a known kind, or if a per-DCE kind lacks its DCE field (or a co-add has one).
    """
    base = PurePath(os.fspath(name)).name
    match = _NAME_RE.match(base)
    if match is None:
        raise ValueError(
            f"{base!r} is not an SSC IRS product name: expected "
            "'SPITZER_S<chnl>_<AORKEY>_<EXPID:04d>_<DCENUM:04d>_<version>_<kind>.fits' "
            "(or without the DCE field for co-adds)"
        )
    kind = match["kind"]
    dce = match["dce"]
    if kind not in DCE_KINDS + COADD_KINDS:
        raise ValueError(f"{base!r}: unknown product kind {kind!r}; expected one of "
                         f"{DCE_KINDS + COADD_KINDS}")
    if kind in DCE_KINDS and dce is None:
        raise ValueError(f"{base!r}: kind {kind!r} is per DCE but the name has no DCE field")
    if kind in COADD_KINDS and dce is not None:
        raise ValueError(f"{base!r}: kind {kind!r} is a co-add but the name has a DCE field")
    channel = int(match["chnl"])
    if channel not in _CHANNELS:
        raise ValueError(f"{base!r}: S{channel} is not an IRS channel")
    aorkey = int(match["aor"])
    if aorkey < 1:
        raise ValueError(f"{base!r}: AORKEY must be positive")
    return BcdName(
        chnlnum=channel,
        aorkey=aorkey,
        expid=int(match["expid"]),
        dcenum=None if dce is None else int(dce),
        version=int(match["version"]),
        kind=kind,
    )


def aor_directory(aorkey: int, chnlnum: int, product: str = "bcd") -> PurePosixPath:
    """Directory of an AOR's products in the archive tree, ``r<AORKEY>/ch<N>/<product>``.

    Parameters
    ----------
    aorkey : int
        AOR key.
    chnlnum : int
        Channel number.
    product : str, optional
        ``'bcd'`` (default), ``'pbcd'`` (post-BCD) or ``'cal'``.

    Returns
    -------
    PurePosixPath
        Relative path, e.g. ``PurePosixPath('r34270464/ch0/bcd')``.
    """
    if product not in _ARCHIVE_PRODUCTS:
        raise ValueError(f"product must be one of {_ARCHIVE_PRODUCTS}, got {product!r}")
    aor = _check_int("aorkey", aorkey, 1)
    channel = _check_channel(chnlnum)
    return PurePosixPath(f"r{aor}", f"ch{channel}", product)


def rawname(chnlnum: int, aorkey: int, expid: int, dcenum: int) -> str:
    """Raw DCE file name as the SSC headers record it in RAWNAME.

    Returns
    -------
    str
        E.g. ``'IRSX.0.0034270464.0003.0001.01.mipl.fits'``.
    """
    channel = _check_channel(chnlnum)
    aor = _check_int("aorkey", aorkey, 1, 9_999_999_999)
    exp = _check_int("expid", expid, 0, 9999)
    dce = _check_int("dcenum", dcenum, 0, 9999)
    return f"IRSX.{channel}.{aor:010d}.{exp:04d}.{dce:04d}.01.mipl.fits"
