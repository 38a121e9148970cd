"""Detector geometry of one IRS order from its WAVSAMP samples.

WAVSAMP describes each wavelength sample of an order by the centre of the slit image on the
detector and the four corners of a "pseudo-rectangle" (PR): the slit imaged at that
wavelength, about one pixel wide in the dispersion direction. Coordinates are detector
(x = column, y = row), 0-based, pixel *i* spanning [i, i+1] so that its centre is i + 0.5
(the CUBISM/SSC convention, irs.md 1.2).

From the samples this module derives, for every pixel of the order, its wavelength and its
coordinate along the slit, by finding where the pixel centre falls between two consecutive
PRs. The along-slit direction points from the PR edge (x1,y1)-(x2,y2) to the edge
(x3,y3)-(x0,y0); on the real HD 173511 SL2 image (nod 2, DFRAC 0.667) the star lies on that
side of the trace centre, which fixes the sign convention used by the whole model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["OrderGeometry", "PixelMap"]

DETECTOR_SHAPE = (128, 128)


@dataclass(frozen=True)
class PixelMap:
    """The pixels of one order: flat indices into the 128 x 128 array and their coordinates.

    Attributes
    ----------
    index : ndarray of int
        Flat (row-major, ``y * 128 + x``) indices of the pixels inside the order's PRs.
    wavelength_um : ndarray
        Wavelength at each pixel centre.
    slit_px : ndarray
        Along-slit coordinate of each pixel centre, in pixels from the slit centre line,
        positive towards the (x0, x3) edge of the PRs.
    cross_px : ndarray
        Offset of the pixel centre from the interpolated sample position in the dispersion
        direction, in pixels (|cross_px| <= about 0.5 by construction).
    """

    index: np.ndarray
    wavelength_um: np.ndarray
    slit_px: np.ndarray
    cross_px: np.ndarray

    @property
    def rows(self) -> np.ndarray:
        return self.index // DETECTOR_SHAPE[1]

    @property
    def cols(self) -> np.ndarray:
        return self.index % DETECTOR_SHAPE[1]


@dataclass(frozen=True)
class OrderGeometry:
    """WAVSAMP samples of one order, sorted by increasing wavelength.

    Attributes
    ----------
    wavelength_um : ndarray, shape (n,)
    centre : ndarray, shape (n, 2)
        (x, y) of each PR centre.
    corners : ndarray, shape (n, 4, 2)
        (x, y) of PR corners 0..3 as in the WAVSAMP columns x0,y0 .. x3,y3.
    """

    wavelength_um: np.ndarray
    centre: np.ndarray
    corners: np.ndarray

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray]) -> OrderGeometry:
        """Build from WAVSAMP columns (already restricted to one order)."""
        order = np.argsort(columns["wavelength"])
        centre = np.column_stack([columns["x_center"], columns["y_center"]])[order]
        corners = np.stack(
            [np.column_stack([columns[f"x{k}"], columns[f"y{k}"]]) for k in range(4)], axis=1
        )[order]
        return cls(np.asarray(columns["wavelength"], float)[order], centre, corners)

    def _slit_vectors(self) -> np.ndarray:
        """Vectors across each PR along the slit (edge 1-2 to edge 0-3), shape (n, 2)."""
        return 0.5 * (self.corners[:, 0] + self.corners[:, 3]) - 0.5 * (
            self.corners[:, 1] + self.corners[:, 2]
        )

    @property
    def slit_axis(self) -> np.ndarray:
        """Unit vectors along the slit (edge 1-2 towards edge 0-3), shape (n, 2)."""
        axis = self._slit_vectors()
        return axis / np.linalg.norm(axis, axis=1)[:, None]

    @property
    def pr_length_px(self) -> np.ndarray:
        """Length of each PR along the slit, in pixels."""
        return np.linalg.norm(self._slit_vectors(), axis=1)

    @property
    def dispersion_axis(self) -> np.ndarray:
        """Unit vectors perpendicular to the slit, oriented towards increasing wavelength."""
        u = self.slit_axis
        n = np.column_stack([-u[:, 1], u[:, 0]])
        step = np.gradient(self.centre, axis=0)
        sign = np.sign(np.sum(step * n, axis=1))
        sign[sign == 0] = 1.0
        return n * sign[:, None]

    def position(self, wavelength_um: np.ndarray, slit_px: np.ndarray) -> np.ndarray:
        """Detector (x, y) of a wavelength and along-slit offset (pixels), shape (..., 2)."""
        wavelength_um = np.asarray(wavelength_um, float)
        slit_px = np.asarray(slit_px, float)
        cx = np.interp(wavelength_um, self.wavelength_um, self.centre[:, 0])
        cy = np.interp(wavelength_um, self.wavelength_um, self.centre[:, 1])
        u = self.slit_axis
        ux = np.interp(wavelength_um, self.wavelength_um, u[:, 0])
        uy = np.interp(wavelength_um, self.wavelength_um, u[:, 1])
        return np.stack([cx + slit_px * ux, cy + slit_px * uy], axis=-1)

    def dispersion_um_per_px(self, wavelength_um: np.ndarray) -> np.ndarray:
        """Wavelength step per pixel along the trace at the given wavelengths."""
        return np.interp(wavelength_um, self.wavelength_um, self._dispersion_steps)

    @cached_property
    def _dispersion_steps(self) -> np.ndarray:
        # once per order: every product's wavelengths ask (7,400 calls for 40 positions,
        # 7 % of the reduction's time when the gradients were recomputed each call)
        return np.gradient(self.wavelength_um) / np.linalg.norm(
            np.gradient(self.centre, axis=0), axis=1)

    def pixel_map(self, half_length_px: float | None = None) -> PixelMap:
        """Assign a wavelength and slit coordinate to every pixel covered by the order.

        Parameters
        ----------
        half_length_px : float, optional
            Keep pixels with |slit_px| <= this; by default half of each PR's length.
        """
        lo = np.floor(self.corners.reshape(-1, 2).min(axis=0)).astype(int)
        hi = np.ceil(self.corners.reshape(-1, 2).max(axis=0)).astype(int)
        lo = np.clip(lo, 0, 127)
        hi = np.clip(hi, 0, 128)
        ys, xs = np.mgrid[lo[1] : hi[1], lo[0] : hi[0]]
        px = np.column_stack([xs.ravel() + 0.5, ys.ravel() + 0.5])

        n = self.dispersion_axis
        u = self.slit_axis
        # signed distance of every pixel centre from every sample's slit image, along the
        # dispersion: positive before the sample (shorter wavelength), negative after it
        dx = px[:, None, 0] - self.centre[None, :, 0]
        dy = px[:, None, 1] - self.centre[None, :, 1]
        dist = -(dx * n[None, :, 0] + dy * n[None, :, 1])
        # the pixel lies between the last sample still ahead of it and the next one
        below = dist <= 0.0
        i = below.sum(axis=1) - 1
        ok = (i >= 0) & (i < len(self.wavelength_um) - 1)
        rows = np.nonzero(ok)[0]
        i = i[ok]
        d0 = -dist[rows, i]
        d1 = dist[rows, i + 1]
        t = d0 / np.where(d0 + d1 > 0, d0 + d1, 1.0)
        ok2 = (d0 >= 0) & (d1 > 0) & (t >= 0) & (t <= 1)
        rows, i, t = rows[ok2], i[ok2], t[ok2]

        wave = self.wavelength_um[i] + t * (self.wavelength_um[i + 1] - self.wavelength_um[i])
        centre = self.centre[i] + t[:, None] * (self.centre[i + 1] - self.centre[i])
        axis = u[i] + t[:, None] * (u[i + 1] - u[i])
        axis /= np.linalg.norm(axis, axis=1)[:, None]
        rel = px[rows] - centre
        slit = np.sum(rel * axis, axis=1)
        cross = rel[:, 0] * (-axis[:, 1]) + rel[:, 1] * axis[:, 0]
        length = self.pr_length_px[i] + t * (self.pr_length_px[i + 1] - self.pr_length_px[i])
        limit = 0.5 * length if half_length_px is None else np.full_like(length, half_length_px)
        keep = np.abs(slit) <= limit
        cols = (px[rows, 0] - 0.5).astype(int)[keep]
        rws = (px[rows, 1] - 0.5).astype(int)[keep]
        index = rws * DETECTOR_SHAPE[1] + cols
        return PixelMap(index, wave[keep], slit[keep], cross[keep])
