"""What the arm reductions (``lowres``, ``highres``) hand to calibration and selection.

An arm's result is a set of method variants, each a background / extraction / nod-handling
combination named in the product vocabulary (``pipeline.products.BACKGROUNDS`` etc.) and
holding one uncalibrated :class:`~pipeline.steps.extract.Extraction` (e-/s) per order. A
method that could not be applied (contaminated background, missing nod) is not a variant
but a line in ``refused`` that says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .steps.extract import Extraction

__all__ = ["ArmResult", "MethodSpectra"]


@dataclass(frozen=True)
class MethodSpectra:
    """One background / extraction / nods combination of one arm, per order in e-/s."""

    background: str
    extraction: str
    nods: str
    orders: tuple[Extraction, ...]


@dataclass(frozen=True)
class ArmResult:
    """Every variant of one arm (``'LR'`` or ``'HR'``) of one position.

    ``extent_arcsec`` is the estimated intrinsic along-slit FWHM of the source (0 for a
    point source, None when it could not be measured); ``diagnostics`` holds JSON-able
    numbers the selection and the product's provenance use (SNRs, contamination levels...).
    """

    arm: str
    variants: tuple[MethodSpectra, ...]
    refused: tuple[str, ...] = ()
    extent_arcsec: float | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    #: the source's fitted along-slit centre (pixels from the slit centre) by targeted
    #: (sub-slit, nod), as the extractions used it; where an arm does not report it,
    #: ``pipeline.source_position`` fits it on the nod images itself
    source_centres_px: Mapping[tuple[str, int], float] = field(default_factory=dict)
