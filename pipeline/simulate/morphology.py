"""Source shapes on the sky: points, Gaussians, exponential discs, core + halo sources.

Every shape is circularly symmetric and is handled as a mixture of concentric circular
Gaussians (a "multi-Gaussian expansion", the approach of Hogg & Lang 2013, PASP 125, 719,
for galaxy profiles): a Gaussian stays a Gaussian when convolved with a Gaussian point-spread
component and its integral over a rectangle (a slit times a pixel) is a product of error
functions, so the light of any shape through the slit is a short sum of erf products
(:mod:`pipeline.simulate.true_psf`). The 2-D mixture is fitted through its 1-D projection:
the line integral of a circular Gaussian of width s is the 1-D Gaussian of width s, so a
mixture that reproduces a profile's projection is that profile's 2-D mixture.

Sizes are intrinsic full widths at half maximum (FWHM, arcsec): a Gaussian's FWHM, an
exponential disc exp(-r/h) has FWHM 2 ln 2 h, and a compound source's FWHM is measured on
its summed radial profile (:attr:`Morphology.fwhm_arcsec`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
from scipy.optimize import nnls
from scipy.special import k1

__all__ = ["EXTENDED_MIN_ARCSEC", "POINT_MAX_ARCSEC", "SHAPES", "Component", "Morphology",
           "exponential_mixture", "extent_class", "resolved_morphology"]

FWHM_PER_SIGMA = 2.3548200450309493
#: the shapes a source can have
SHAPES = ("point", "gaussian", "exponential", "core_halo")
_PROFILES = ("point", "gaussian", "exponential")


@cache
def exponential_mixture() -> tuple[np.ndarray, np.ndarray]:
    """(weights, sigmas in units of the scale length h) of a Gaussian mixture of the 2-D
    exponential disc exp(-r/h), weights summing to 1.

    Fitted by non-negative least squares to the disc's projection, (|x|/h) K1(|x|/h)
    (the line integral of exp(-r/h), normalised), on 0-40 h, with relative weighting so the
    centre and the wings are both matched; 18 widths from 0.01 h to 15 h.
    """
    x = np.concatenate([np.linspace(0.0, 2.0, 201)[1:], np.geomspace(2.0, 40.0, 200)[1:]])
    target = x * k1(x)
    target /= 2.0 * np.pi / 2.0  # integral of (|x|) K1(|x|) over the real line is pi
    sigmas = np.geomspace(0.01, 15.0, 18)
    design = np.exp(-0.5 * (x[:, None] / sigmas) ** 2) / (np.sqrt(2 * np.pi) * sigmas)
    scale = 1.0 / (target + 1e-4 * target[0])
    weights, _ = nnls(design * scale[:, None], target * scale)
    keep = weights > 1e-6
    weights, sigmas = weights[keep], sigmas[keep]
    return weights / weights.sum(), sigmas


@dataclass(frozen=True)
class Component:
    """One part of a source: ``profile`` 'point', 'gaussian' or 'exponential', its FWHM
    (arcsec, 0 for a point) and its share of the source's flux."""

    profile: str
    fwhm_arcsec: float
    fraction: float

    def __post_init__(self) -> None:
        if self.profile not in _PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; allowed: {_PROFILES}")
        if not (self.fwhm_arcsec >= 0.0 and 0.0 < self.fraction <= 1.0):
            raise ValueError("fwhm_arcsec must be >= 0 and fraction in (0, 1]")

    def gaussians(self) -> tuple[np.ndarray, np.ndarray]:
        """(weights, sigmas arcsec) of this component's Gaussian mixture."""
        if self.profile == "point" or self.fwhm_arcsec == 0.0:
            return np.array([self.fraction]), np.array([0.0])
        if self.profile == "gaussian":
            return np.array([self.fraction]), np.array([self.fwhm_arcsec / FWHM_PER_SIGMA])
        weights, sigmas = exponential_mixture()
        h = self.fwhm_arcsec / (2.0 * np.log(2.0))
        return self.fraction * weights, h * sigmas


@dataclass(frozen=True)
class Morphology:
    """The shape of a source: ``shape`` (one of :data:`SHAPES`) and its components."""

    shape: str
    components: tuple[Component, ...]

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; allowed: {SHAPES}")
        if abs(sum(c.fraction for c in self.components) - 1.0) > 1e-6:
            raise ValueError("component fractions must sum to 1")

    @classmethod
    def point(cls) -> Morphology:
        return cls("point", (Component("point", 0.0, 1.0),))

    @classmethod
    def gaussian(cls, fwhm_arcsec: float) -> Morphology:
        """A Gaussian of that FWHM (a point if 0)."""
        if fwhm_arcsec <= 0.0:
            return cls.point()
        return cls("gaussian", (Component("gaussian", float(fwhm_arcsec), 1.0),))

    @classmethod
    def exponential(cls, fwhm_arcsec: float) -> Morphology:
        return cls("exponential", (Component("exponential", float(fwhm_arcsec), 1.0),))

    @classmethod
    def core_halo(cls, core_fwhm_arcsec: float, halo_fwhm_arcsec: float,
                  core_fraction: float) -> Morphology:
        """A compact Gaussian core inside an exponential halo."""
        return cls("core_halo", (
            Component("gaussian", float(core_fwhm_arcsec), float(core_fraction)),
            Component("exponential", float(halo_fwhm_arcsec), 1.0 - float(core_fraction))))

    def gaussians(self) -> tuple[np.ndarray, np.ndarray]:
        """(weights, sigmas arcsec) of the whole source's Gaussian mixture (sum 1)."""
        parts = [c.gaussians() for c in self.components]
        return (np.concatenate([w for w, _ in parts]), np.concatenate([s for _, s in parts]))

    def _radial(self, r: np.ndarray) -> np.ndarray:
        weights, sigmas = self.gaussians()
        s = np.maximum(sigmas, 1e-6)
        return (weights / (2 * np.pi * s**2) * np.exp(-0.5 * (r[:, None] / s) ** 2)).sum(1)

    @cached_property
    def fwhm_arcsec(self) -> float:
        """FWHM of the summed radial profile (0 for a point or a point-dominated peak)."""
        weights, sigmas = self.gaussians()
        if np.any(sigmas[weights > 0] == 0.0):
            return 0.0
        r = np.geomspace(1e-3 * sigmas.min(), 10.0 * sigmas.max(), 2000)
        profile = self._radial(np.concatenate([[0.0], r]))
        below = np.nonzero(profile[1:] < 0.5 * profile[0])[0]
        if not len(below):
            return float(2.0 * r[-1])
        k = max(int(below[0]), 1)  # the half maximum lies between r[k - 1] and r[k]
        y0, y1 = profile[k], profile[k + 1]
        t = (y0 - 0.5 * profile[0]) / (y0 - y1)
        return float(2.0 * (r[k - 1] + t * (r[k] - r[k - 1])))

    @cached_property
    def half_light_radius_arcsec(self) -> float:
        """Radius enclosing half the flux."""
        weights, sigmas = self.gaussians()
        if sigmas.max() == 0.0:
            return 0.0
        r = np.geomspace(1e-3 * max(sigmas[sigmas > 0].min(), 1e-3), 10 * sigmas.max(), 3000)
        s = np.maximum(sigmas, 1e-9)
        enclosed = (weights * -np.expm1(-0.5 * (r[:, None] / s) ** 2)).sum(1)
        return float(np.interp(0.5, enclosed, r))

    def to_dict(self) -> dict[str, Any]:
        return {"shape": self.shape,
                "components": [{"profile": c.profile, "fwhm_arcsec": c.fwhm_arcsec,
                                "fraction": c.fraction} for c in self.components]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Morphology:
        return cls(str(data["shape"]), tuple(
            Component(str(c["profile"]), float(c["fwhm_arcsec"]), float(c["fraction"]))
            for c in data["components"]))


#: the atlas's extent classes: intrinsic FWHM below this is a point source ...
POINT_MAX_ARCSEC = 2.5
#: ... above this an extended one (wider than the LR nod throw), in between partial
EXTENDED_MIN_ARCSEC = 40.0
#: cumulative probabilities of a resolved source's shapes
_SHAPE_CDF = np.cumsum([0.40, 0.35, 0.25])


def extent_class(fwhm_arcsec: float) -> str:
    """'point', 'partial' or 'extended' for an intrinsic FWHM (the atlas's limits)."""
    if fwhm_arcsec < POINT_MAX_ARCSEC:
        return "point"
    return "extended" if fwhm_arcsec > EXTENDED_MIN_ARCSEC else "partial"


def resolved_morphology(size_arcsec: float, u: tuple[float, float, float]) -> Morphology:
    """A resolved source's shape for a drawn size and three uniforms in [0, 1): a Gaussian
    (40 %), an exponential disc (35 %) or a compact Gaussian core (FWHM 5-30 % of the
    halo's, 20-70 % of the flux) in an exponential halo of that size (25 %)."""
    kind = int(np.searchsorted(_SHAPE_CDF, u[0], side="right"))
    if kind == 0:
        return Morphology.gaussian(size_arcsec)
    if kind == 1:
        return Morphology.exponential(size_arcsec)
    core = size_arcsec * (0.05 + 0.25 * u[1])
    return Morphology.core_halo(core, size_arcsec, 0.2 + 0.5 * u[2])
