"""Reading the DCEs of one nod from disk and combining them (the reduction's only reader of
raw exposures).

Both arms start the same way: the BCD, its uncertainty (``func``) and bit mask of every DCE
of one sub-slit and nod are read and combined (``steps.combine``). Low and high resolution
call :func:`load_nod` so that cleaning and combination are one code path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
from astropy.io import fits

from .fits_header import FitsHeaderError, header_value, read_cards
from .grouping import Dce
from .steps.clean import find_rogues, replace_pixels
from .steps.combine import combine_exposures

K = TypeVar("K")

__all__ = ["ExposureError", "NodImage", "clean_nods", "load_nod", "read_image"]

_IMAGE_KEYS = ("BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "BSCALE", "BZERO")
_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


class ExposureError(ValueError):
    """A raw exposure file cannot be read (corrupt, truncated, not a 2-D image)."""


def read_image(path) -> np.ndarray:
    """The primary image of a BCD-like FITS file as float64.

    Reads simple 2-D primary images directly (astropy's header parsing dominated the
    reduction's time); anything else (scaled integers, extensions, odd axes) goes through
    ``astropy.io.fits``. Raises ExposureError for unreadable files.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ExposureError(f"{path}: {exc.strerror or exc}") from exc
    if not raw.startswith(b"SIMPLE  ="):
        raise ExposureError(f"{path}: not a FITS file")
    try:
        cards, offset = read_cards(raw, keys=_IMAGE_KEYS)
    except FitsHeaderError as exc:
        raise ExposureError(f"{path}: {exc}") from None

    def value(key: str, default=None):
        return header_value(cards[key]) if key in cards else default

    try:
        bitpix, naxis = int(value("BITPIX")), int(value("NAXIS"))
        shape = (int(value("NAXIS2")), int(value("NAXIS1"))) if naxis == 2 else None
    except (ValueError, TypeError):
        shape, bitpix = None, 0
    scaled = value("BSCALE", 1) != 1 or value("BZERO", 0) != 0
    if shape is None or bitpix not in _DTYPES or scaled:
        try:
            data = fits.getdata(path)
        except (OSError, ValueError, TypeError) as exc:
            raise ExposureError(f"{path}: {exc}") from exc
        if data is None or np.ndim(data) != 2:
            raise ExposureError(f"{path}: the primary HDU holds no 2-D image")
        return np.asarray(data, float)
    size = shape[0] * shape[1] * abs(bitpix) // 8
    if len(raw) < offset + size:
        raise ExposureError(f"{path}: truncated ({len(raw)} bytes, the image needs "
                            f"{offset + size})")
    return np.frombuffer(raw, _DTYPES[bitpix], shape[0] * shape[1], offset).reshape(
        shape).astype(float)


@dataclass(frozen=True)
class NodImage:
    """The combined image of one nod (e-/s), its 1-sigma uncertainty, and per pixel how many
    DCEs were rejected."""

    image: np.ndarray
    uncertainty: np.ndarray
    rejected: np.ndarray
    n_dce: int
    cleaned: np.ndarray | None = None


def load_nod(dces: Sequence[Dce]) -> NodImage:
    """Read and combine the DCEs of one sub-slit and nod."""
    if not dces:
        raise ValueError("no DCE to combine")
    images, uncs, masks = [], [], []
    for dce in dces:
        image = read_image(dce.path)
        images.append(image)
        if dce.func_path is not None:
            uncs.append(read_image(dce.func_path))
        else:  # no uncertainty file: robust scatter of the image as a floor
            uncs.append(np.full_like(image, 1.4826 * np.nanmedian(np.abs(image))))
        masks.append(read_image(dce.bmask_path).astype(int) if dce.bmask_path is not None
                     else np.zeros(image.shape, int))
        if not images[-1].shape == uncs[-1].shape == masks[-1].shape:
            raise ExposureError(f"{dce.path}: image, uncertainty and mask shapes differ")
    image, unc, rejected = combine_exposures(images, uncs, masks)
    return NodImage(image, unc, rejected, len(dces))


def clean_nods(nods: Mapping[K, NodImage], pmask: np.ndarray | None) -> dict[K, NodImage]:
    """The nod images of one module with rogue and hot pixels replaced (``steps.clean``);
    ``cleaned`` marks the replaced pixels."""
    keys = list(nods)
    mask = find_rogues([nods[k].image for k in keys], [nods[k].uncertainty for k in keys],
                       pmask)
    out = {}
    for key in keys:
        image, unc = replace_pixels(nods[key].image, nods[key].uncertainty, mask)
        out[key] = replace(nods[key], image=image, uncertainty=unc, cleaned=mask)
    return out
