"""The along-slit spatial profile of a point source, learned from standard stars.

The reduction does not know the instrument's point-spread function: it measures it, as
CASSIS builds its super-sampled PSF from the calibration stars (Lebouteiller et al. 2015,
sect. 3.2). What an extraction needs is the *effective* profile (the PSF already integrated
over one pixel, Anderson & King 2000's ePSF): ``q(lambda, d)``, the fraction of a point
source's counts that falls on a pixel whose centre lies ``d`` pixels from the source along
the slit. The slit image is tilted and curved on the detector, so the pixels of successive
rows sample the profile at different sub-pixel phases, and the standards' pointing errors
add more: binned at 0.1 pixel, the samples of a calibration campaign fill the profile.

Learning (``learn_profile``), per module, from background-subtracted standard-star images
with the star's slit position:

1. every detector row is fitted with the current profile (a Gaussian of the nominal PSF
   width to start with) and, where the image keeps a sky (HR nod images), a uniform sky
   following the slit's illumination;
2. rows with a well-measured amplitude (SNR >= ``MIN_ROW_SNR``) give samples
   ``(pixel - sky) / amplitude`` at offset ``d`` from the star;
3. the samples are binned per wavelength node (geometric grid over the module) and per
   0.1 pixel of offset; the median of each bin (robust to cosmic rays and rogue pixels),
   smoothed, normalised to a unit integral, and re-centred on its first moment; where a
   sky was fitted, the constant the fit cannot tell from the sky is fixed by the wings
   (``_pedestal``);
4. the star's position is re-fitted with the new profile, and steps 1-3 repeat.

Each LR order also gets a profile of its own, refined from the module's on that order's
samples alone (the SSC's SL PSF has a plane per order, and at 7.5-8.7 um SL1 and SL3 see
different ones): on seed 5 (300 positions) the optimal extraction's median error of SL3
point sources fell from 2.2 to 2.0 % and its 90th percentile from 5.5 to 4.4 %.

A node without enough samples near its core takes the profiles of its measured
neighbours, widened or narrowed to the width the measured nodes predict there (a
diffraction core growing with the wavelength in quadrature with a constant blur) and
interpolated in wavelength, or the nominal Gaussian when no node is measured
(``fallback`` records which). ``SpatialProfile.fraction`` is what ``steps.extract.profile_fraction``
evaluates when the instrument model carries a learned profile; a source of intrinsic
width is the profile convolved with a Gaussian of that width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import erf

from pipeline.instrument import Module, Order

from .extract import fit_rows, profile_fraction, refine_centre, slit_coverage
from .grouped import grouped_median

__all__ = ["MIN_ROW_SNR", "ProfileSample", "SpatialProfile", "learn_profile"]

_FWHM_PER_SIGMA = 2.3548200450309493
#: offset grid step (pixels) of the super-sampled profile
STEP_PX = 0.1
#: rows of a standard enter the profile only above this amplitude SNR
MIN_ROW_SNR = 20.0
#: wavelength nodes per module (geometric), enough to follow the diffraction core's
#: growth with wavelength (a factor 2.7 over SL, 2.0 over LL) in steps of <= 10 %
NODES = {"SL": 16, "LL": 12, "SH": 6, "LH": 6}
#: samples a wavelength node needs for its 0.1-pixel bins to fill
SAMPLES_PER_NODE = 300
#: half-width (pixels) of the measured profile. LR: the bynod difference image holds the
#: other nod's negative image 10.5 (SL) or 11 (LL) pixels away, so 4 pixels stay clear of
#: its core; HR: the whole slit (about 5 pixels long)
HALF_WIDTH_PX = {"SL": 4.0, "LL": 4.0, "SH": 5.5, "LH": 5.5}
#: a node's profile is measured when this fraction of its core bins (within 1.5 nominal
#: FWHM) hold at least ``MIN_BIN_SAMPLES`` samples
MIN_CORE_COVERAGE = 0.6
MIN_BIN_SAMPLES = 3
#: a pixel-integrated box of 1 pixel adds this FWHM-equivalent in quadrature (sqrt(1/12)
#: pixel rms)
_BOX_FWHM_PX = _FWHM_PER_SIGMA * np.sqrt(1.0 / 12.0)


@dataclass(frozen=True)
class ProfileSample:
    """One background-subtracted standard-star image of an order and where the star is."""

    order: Order
    image: np.ndarray
    uncertainty: np.ndarray
    centre_px: float
    with_sky: bool


@dataclass(frozen=True, eq=False)
class SpatialProfile:
    """The effective along-slit profile of one module: ``table[node, j]`` is the fraction
    of a point source's counts on a pixel whose centre lies ``offset_px[j]`` pixels from the
    source, at wavelength ``wavelength_um[node]`` (linear in between)."""

    module: str
    plate_scale_arcsec: float
    wavelength_um: np.ndarray
    offset_px: np.ndarray
    table: np.ndarray
    #: nodes not measured themselves (too few samples): interpolated between measured ones
    fallback: tuple[int, ...] = ()
    n_samples: int = 0
    #: per order, a profile of its own (LR: the SSC's SL PSF differs between orders at
    #: one wavelength, e.g. SL3 against SL1 at 8 um), used for that order's pixels
    orders: dict[str, SpatialProfile] = field(default_factory=dict)
    _widened: dict = field(default_factory=dict, repr=False, compare=False)

    def _table_for(self, width_px: float) -> tuple[np.ndarray, np.ndarray]:
        """The profile convolved with a Gaussian source of FWHM ``width_px`` (cached)."""
        key = round(float(width_px), 2)
        if key <= 0.0:
            return self.offset_px, self.table
        if key not in self._widened:
            sigma = key / _FWHM_PER_SIGMA / STEP_PX
            pad = int(np.ceil(5.0 * sigma))
            offsets = self.offset_px[0] + STEP_PX * np.arange(-pad, len(self.offset_px) + pad)
            padded = np.pad(self.table, ((0, 0), (pad, pad)))
            # the Gaussian's own transfer function: O(n log n) where a direct convolution
            # of a 400" source's kernel cost 7 ms a width
            n = 2 * padded.shape[1]
            freq = np.fft.rfftfreq(n)
            wide = np.fft.irfft(np.fft.rfft(padded, n, axis=1)
                                * np.exp(-2.0 * (np.pi * sigma * freq) ** 2), n,
                                axis=1)[:, :padded.shape[1]]
            if len(self._widened) > 64:
                self._widened.clear()
            self._widened[key] = (offsets, wide)
        return self._widened[key]

    def fraction(self, wavelength_um, offset_px, width_arcsec: float = 0.0,
                 order: str | None = None) -> np.ndarray:
        """Fraction of a source's counts on pixels at ``offset_px`` from it (bilinear in
        wavelength and offset; 0 beyond the measured range), with ``order``'s own profile
        when one was learned."""
        if order in self.orders:
            return self.orders[order].fraction(wavelength_um, offset_px, width_arcsec)
        offsets, table = self._table_for(width_arcsec / self.plate_scale_arcsec)
        m, k = table.shape
        # the wavelength weights on the wavelengths' own shape (a refine_centre call
        # broadcasts one order's pixels against its trial centres), then flat indices
        t = np.interp(np.asarray(wavelength_um, float), self.wavelength_um,
                      np.arange(m, dtype=float))
        i0 = np.minimum(t.astype(np.intp), max(m - 2, 0))
        f = t - i0
        row0, row1 = i0 * k, np.minimum(i0 + 1, m - 1) * k
        u = (np.asarray(offset_px, float) - offsets[0]) / STEP_PX
        inside = (u >= 0) & (u <= k - 1)
        j0 = np.clip(np.floor(u), 0, k - 2).astype(np.intp)
        g = np.clip(u - j0, 0.0, 1.0)
        flat = table.ravel()
        a, b = row0 + j0, row1 + j0
        lo = flat[a] + g * (flat[a + 1] - flat[a])
        hi = flat[b] + g * (flat[b + 1] - flat[b])
        return np.where(inside, lo + f * (hi - lo), 0.0)

    def fwhm_arcsec(self, wavelength_um) -> np.ndarray:
        """FWHM of the PSF itself (the pixel's width removed in quadrature)."""
        return np.interp(np.asarray(wavelength_um, float), self.wavelength_um,
                         self._fwhm_px) * self.plate_scale_arcsec

    @cached_property
    def _fwhm_px(self) -> np.ndarray:
        return np.array([np.sqrt(max(_row_fwhm(self.offset_px, row) ** 2 - _BOX_FWHM_PX**2,
                                     0.01)) for row in self.table])

    def to_dict(self) -> dict:
        return {"module": self.module, "plate_scale_arcsec": self.plate_scale_arcsec,
                "wavelength_um": self.wavelength_um.round(5).tolist(),
                "offset_px": [float(self.offset_px[0]), STEP_PX, len(self.offset_px)],
                "table": self.table.round(7).tolist(), "fallback": list(self.fallback),
                "n_samples": self.n_samples,
                "orders": {name: p.to_dict() for name, p in sorted(self.orders.items())}}

    @classmethod
    def from_dict(cls, data: dict) -> SpatialProfile:
        start, step, n = data["offset_px"]
        if abs(float(step) - STEP_PX) > 1e-9:
            raise ValueError(f"profile step {step} px, expected {STEP_PX}")
        table = np.asarray(data["table"], float)
        lam = np.asarray(data["wavelength_um"], float)
        if table.shape != (len(lam), int(n)) or not np.all(np.isfinite(table)):
            raise ValueError("profile table does not match its wavelength and offset grids")
        return cls(str(data["module"]), float(data["plate_scale_arcsec"]), lam,
                   float(start) + STEP_PX * np.arange(int(n)), table,
                   tuple(int(i) for i in data.get("fallback", ())),
                   int(data.get("n_samples", 0)),
                   {str(k): cls.from_dict(v) for k, v in data.get("orders", {}).items()})


def _row_fwhm(offsets: np.ndarray, row: np.ndarray) -> float:
    """FWHM (pixels) of a tabulated profile, from the linearly interpolated half-maximum
    crossings."""
    peak = row.max()
    above = np.nonzero(row >= 0.5 * peak)[0]
    a, b = above[0], above[-1]
    left = offsets[a] - STEP_PX * (row[a] - 0.5 * peak) / max(
        row[a] - (row[a - 1] if a > 0 else 0.0), 1e-12)
    right = offsets[b] + STEP_PX * (row[b] - 0.5 * peak) / max(
        row[b] - (row[b + 1] if b + 1 < len(row) else 0.0), 1e-12)
    return float(right - left)


def _nominal(module: Module, lam: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The model's Gaussian PSF integrated over one pixel: the starting profile."""
    sigma = module.psf_fwhm_arcsec(lam)[:, None] / _FWHM_PER_SIGMA / module.plate_scale_arcsec
    root2 = np.sqrt(2.0)
    return 0.5 * (erf((offsets[None, :] + 0.5) / (root2 * sigma))
                  - erf((offsets[None, :] - 0.5) / (root2 * sigma)))


def _nodes(module: Module, lam: np.ndarray) -> np.ndarray:
    """Wavelength nodes over the range the samples cover (beyond it the nearest node
    holds), as many as ``NODES`` allows with ``SAMPLES_PER_NODE`` samples each (a single
    standard, as the real HD 173511 image, gives two or three)."""
    n = int(np.clip(len(lam) // SAMPLES_PER_NODE, 2, NODES[module.name]))
    return np.geomspace(float(lam.min()), float(lam.max()), n)


def _samples(module: Module, sample: ProfileSample, profile: SpatialProfile | None):
    """(wavelength, offset, normalised value) of the well-measured rows of one image."""
    probe = module if profile is None else _with_profile(module, profile)
    centre = sample.centre_px
    if profile is not None:
        centre = refine_centre(sample.image, sample.uncertainty, probe, [sample.order],
                               centre)
    pix = sample.order.pixels
    half = HALF_WIDTH_PX[module.name]
    near = np.abs(pix.slit_px - centre) <= half
    values = sample.image.ravel()[pix.index[near]]
    sigma = sample.uncertainty.ravel()[pix.index[near]]
    usable = np.isfinite(values) & np.isfinite(sigma) & (sigma > 0)
    if usable.sum() < 10:
        return None
    lam, slit_px = pix.wavelength_um[near], pix.slit_px[near]
    rows, k = np.unique(pix.rows[near], return_inverse=True)
    n = len(rows)
    w = np.where(usable, 1.0 / np.where(usable, sigma, 1.0) ** 2, 0.0)
    y = np.where(usable, values, 0.0)
    cover = slit_coverage(module, slit_px)
    model = profile_fraction(probe, lam, slit_px, centre, order=sample.order.name)
    fit = fit_rows(k, n, w, y, model, cover if sample.with_sky else None)
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = fit.amplitude / fit.error
        good_row = np.isfinite(snr) & (snr >= MIN_ROW_SNR)
        keep = usable & good_row[k] & (cover >= 0.999)
        value = (y - fit.sky[k] * cover) / fit.amplitude[k]
    keep &= np.isfinite(value)
    return lam[keep], (slit_px - centre)[keep], value[keep]


def _with_profile(module: Module, profile: SpatialProfile) -> Module:
    return replace(module, spatial_profile=profile)


def learn_profile(module: Module, samples: Iterable[ProfileSample],
                  iterations: int = 3) -> SpatialProfile | None:
    """The effective profile of ``module`` from standard-star images (module docstring);
    None when no image gives a usable row."""
    samples = list(samples)
    profile = _learn(module, samples, None, iterations)
    if profile is None or module.resolution != "LR":
        return profile
    for order in module.orders:
        mine = [s for s in samples if s.order.name == order.name]
        own = _learn(module, mine, profile, iterations - 1) if mine else None
        if own is not None and not own.fallback:
            profile.orders[order.name] = own
    return profile


def _learn(module: Module, samples: list[ProfileSample], start: SpatialProfile | None,
           iterations: int) -> SpatialProfile | None:
    half = HALF_WIDTH_PX[module.name]
    offsets = np.round(np.arange(-half, half + 0.5 * STEP_PX, STEP_PX), 6)
    nodes = nominal = None
    profile = start
    for _ in range(iterations):
        parts = [s for s in (_samples(module, x, profile) for x in samples) if s is not None]
        if not parts:
            return None
        lam = np.concatenate([p[0] for p in parts])
        d = np.concatenate([p[1] for p in parts])
        v = np.concatenate([p[2] for p in parts])
        if nodes is None:
            nodes = _nodes(module, lam)
            nominal = _nominal(module, nodes, offsets)
        profile = _binned(module, nodes, offsets, nominal, lam, d, v,
                          with_sky=any(x.with_sky for x in samples))
    return profile


def _pedestal(offsets: np.ndarray, measured: np.ndarray, row: np.ndarray,
              nominal: np.ndarray) -> float:
    """The constant a profile fitted together with a sky cannot tell from that sky (HR: the
    slit, about 5 pixels long, holds no pixel beyond the PSF's reach): fixed so that the
    profile's outermost measured bins (the outer 30 % of the measured range, 2.5-3.5
    pixels from the star) meet the nominal model's wings there, which hold a few tenths
    of a per cent of the light per pixel. Without it the standards' fits settle on a
    pedestal of 2-3 % of the peak that the targets' fits then take from their sky."""
    reach = np.abs(offsets[measured]).max()
    outer = measured & (np.abs(offsets) >= 0.7 * reach)
    if not outer.any():
        return 0.0
    return float(np.median(row[outer] - nominal[outer]))


def _binned(module: Module, nodes: np.ndarray, offsets: np.ndarray, nominal: np.ndarray,
            lam: np.ndarray, d: np.ndarray, v: np.ndarray,
            with_sky: bool = False) -> SpatialProfile:
    """Median per (wavelength node, offset bin), smoothed, normalised and re-centred; with
    a sky fitted alongside, the pedestal fixed by the wings (``_pedestal``)."""
    node = np.abs(np.log(lam)[:, None] - np.log(nodes)[None, :]).argmin(axis=1)
    j = np.round((d - offsets[0]) / STEP_PX).astype(int)
    inside = (j >= 0) & (j < len(offsets))
    groups = node[inside] * len(offsets) + j[inside]
    n_cells = len(nodes) * len(offsets)
    median = grouped_median(groups, v[inside], n_cells).reshape(len(nodes), len(offsets))
    count = np.bincount(groups, minlength=n_cells).reshape(len(nodes), len(offsets))
    table = np.empty_like(nominal)
    fallback = []
    fwhm_px = module.psf_fwhm_arcsec(nodes) / module.plate_scale_arcsec
    for i in range(len(nodes)):
        measured = count[i] >= MIN_BIN_SAMPLES
        core = np.abs(offsets) <= 1.5 * max(fwhm_px[i], 1.0)
        if measured[core].mean() < MIN_CORE_COVERAGE:
            table[i] = nominal[i]
            fallback.append(i)
            continue
        row = np.interp(offsets, offsets[measured], median[i][measured])
        if with_sky:
            row = row - _pedestal(offsets, measured, row, nominal[i])
        # beyond the outermost measured bins the profile is unknown: the nominal shape,
        # scaled to meet the measurement
        lo, hi = offsets[measured][[0, -1]]
        row = np.where(offsets < lo, nominal[i] * row[measured.argmax()] /
                       max(nominal[i][measured.argmax()], 1e-12), row)
        last = len(offsets) - 1 - measured[::-1].argmax()
        row = np.where(offsets > hi, nominal[i] * row[last] / max(nominal[i][last], 1e-12),
                       row)
        row = np.clip(gaussian_filter1d(row, 0.5, mode="nearest"), 0.0, None)
        table[i] = _recentred(offsets, row)
    measured = [i for i in range(len(nodes)) if i not in fallback]
    if measured:
        # a node with too few samples takes its measured neighbours' profiles, each
        # stretched to the width the measured nodes predict at its wavelength
        # (``_width_law``), and interpolated in log wavelength between two (the nominal
        # Gaussian is further from any real PSF)
        x = np.log(nodes)
        width = _width_law(nodes[measured], [_row_fwhm(offsets, table[j]) for j in measured])

        def carried(j: int, i: int) -> np.ndarray:
            return _stretched(offsets, table[j], width(nodes[i]) / width(nodes[j]))

        for i in fallback:
            lo = max((j for j in measured if j < i), default=None)
            hi = min((j for j in measured if j > i), default=None)
            if lo is None or hi is None:
                table[i] = carried(lo if hi is None else hi, i)
            else:
                f = (x[i] - x[lo]) / (x[hi] - x[lo])
                table[i] = (1 - f) * carried(lo, i) + f * carried(hi, i)
    table /= table.sum(axis=1, keepdims=True) * STEP_PX
    return SpatialProfile(module.name, module.plate_scale_arcsec, nodes, offsets, table,
                          tuple(fallback), len(v))


def _width_law(wavelength_um: np.ndarray, fwhm_px) -> Callable[[float], float]:
    """The measured nodes' FWHM against wavelength as FWHM^2 = a lambda^2 + b: a
    diffraction core growing with the wavelength, in quadrature with what does not (the
    pixel, the detector's blur), fitted by least squares (b >= 0; a single node or a fit
    without a positive a keeps the widths as measured). Against the simulator's true PSFs
    this law carries a measured profile to an unmeasured node with 1-16 % of the squared
    error of a copy (LH 32 -> 37 um, LL 34 -> 38 um and 19 -> 14.5 um), where stretching
    in proportion to the wavelength alone made LL's short end 7 times worse than a copy."""
    lam2 = np.asarray(wavelength_um, float) ** 2
    w2 = np.asarray(fwhm_px, float) ** 2
    a = b = 0.0
    if len(lam2) >= 2 and np.ptp(lam2) > 0:
        a, b = np.linalg.lstsq(np.vstack([lam2, np.ones_like(lam2)]).T, w2, rcond=None)[0]
        if b < 0:
            a, b = float(np.sum(lam2 * w2) / np.sum(lam2 * lam2)), 0.0
    if not a > 0:
        return lambda lam: 1.0
    return lambda lam: float(np.sqrt(a * lam * lam + b))


def _stretched(offsets: np.ndarray, row: np.ndarray, factor: float) -> np.ndarray:
    """A profile widened (``factor`` > 1) or narrowed about its centre, area kept. Copying
    the nearest measured node's profile unchanged, as this module did, left LH's
    unmeasured 37 um node with the 32 um core, 10 % narrower than the true one."""
    return np.interp(offsets / factor, offsets, row, left=0.0, right=0.0) / factor


def _recentred(offsets: np.ndarray, row: np.ndarray) -> np.ndarray:
    """The profile shifted so that its core's first moment lies at offset 0 (the star's
    fitted position carries the noise of one image; the campaign's profile should not)."""
    core = row >= 0.2 * row.max()
    shift = float(np.sum(row[core] * offsets[core]) / np.sum(row[core]))
    return np.clip(np.interp(offsets + shift, offsets, row, left=0.0, right=0.0), 0.0, None)


def profiles_from(modules: Sequence[Module], samples: Iterable[ProfileSample]
                  ) -> dict[str, SpatialProfile]:
    """A learned profile per module that has standard-star images among ``samples``."""
    by_module: dict[str, list[ProfileSample]] = {}
    for s in samples:
        by_module.setdefault(s.order.module, []).append(s)
    out = {}
    for module in modules:
        if module.name in by_module:
            learned = learn_profile(module, by_module[module.name])
            if learned is not None:
                out[module.name] = learned
    return out
