"""Rendering one IRS exposure: sky through the slits onto the detector, then its defects.

The sky reaches the detector through the simulator's true instrument
(:mod:`pipeline.simulate.true_instrument`), not through the reduction's model: for every
order, every pixel gets

    F_nu(lambda'; R) * conversion(lambda') / f_ref(lambda') * light(pixel, source)

summed over the sources, where lambda' is the pixel's wavelength shifted by the module's
wavelength zero-point offset of the campaign, ``light`` is the fraction of the source's flux
that the true PSF (convolved with the source's shape) puts through the slit and onto the
pixel's extent along the slit, and f_ref the fraction of a centred point source inside the
slit (so that a centred point source gives F_nu x conversion per wavelength sample, the
SSC's FLUXCON definition); plus the true zodiacal light as a uniform extended source.
Then the detector: residual flat field, fringes (SH, LH, LL1), dark current, rogue and hot
pixels (permanent ones from PMASK, campaign rogues that persist through a campaign), cosmic
rays (most of them flagged by the BCD pipeline, some not), saturation, photon and read
noise (one Gaussian of their summed variance).
The outputs are what an SSC BCD holds: slope image (e-/s), its uncertainty, and the bit
mask (bits of irs.md 2.2: 3 radhit, 10 saturated, 14 fatal in pmask).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from scipy.special import erf

from pipeline.instrument import Module, Order, default_model
from pipeline.instrument.astrometry import sky_offset, sky_to_focal_offset

from . import true_instrument as true
from .observe import AORPlan, Exposure, SkySource
from .true_psf import FWHM_PER_SIGMA, psf_mixture, sl_psf_rows

__all__ = [
    "BMASK_FATAL_PMASK",
    "BMASK_RADHIT",
    "BMASK_SATURATED",
    "SlitPlacement",
    "aim_point",
    "exposure_signal",
    "place_sources",
    "render_exposure",
    ]

READ_NOISE_E = 30.0
GAIN_E_PER_DN = 4.6
SATURATION_E = 298_000.0
DARK_E_PER_S = {"SL": 5.0, "SH": 5.0, "LL": 20.0, "LH": 20.0}
#: rogue-pixel fraction before / after the January 2005 solar proton event (irs.md 1.9)
ROGUE_FRACTION = {"SL": (0.003, 0.01), "SH": (0.003, 0.01), "LL": (0.01, 0.025),
                  "LH": (0.015, 0.05)}
PROTON_EVENT_IRS_CAMPAIGN = 12
#: fringe amplitude and period in wavenumber (cm^-1) per module / order
FRINGES = {"SH": (0.04, 7.5), "LH": (0.05, 5.0), "LL1": (0.01, 18.0)}
COSMIC_RATE_PER_S = 3.0
#: wavelength nodes per LL/SH/LH order where the across-slit light is computed
_WAVELENGTH_NODES = 48
#: light per pixel below which a PSF or source component is not rendered (of the source's)
_FAINTEST = 1e-4
_SQRT2 = np.sqrt(2.0)
RADHIT_DETECTED = 0.75

BMASK_RADHIT = 1 << 3
BMASK_SATURATED = 1 << 10
BMASK_FATAL_PMASK = 1 << 14
_PMASK_FATAL_BITS = (1 << 14) | (1 << 10)


@dataclass(frozen=True)
class SlitPlacement:
    """A source in the frame of one sub-slit during one exposure."""

    source: SkySource
    along_arcsec: float
    cross_arcsec: float


def aim_point(module: Module, exposure: Exposure) -> np.ndarray:
    """Focal-plane position (arcsec) where the requested position lands in an exposure:
    the targeted sub-slit at the nod's fractional position, moved by the pointing error."""
    sub = module.subslits[exposure.subslit]
    aim = sub.centre_arcsec + (sub.nod_fraction[exposure.nod] - 0.5) * (
        module.slit_length_arcsec * sub.axis
    )
    return aim + np.asarray(exposure.pointing_error_arcsec)


def place_sources(module: Module, exposure: Exposure, plan: AORPlan) -> dict[str, list]:
    """Where each source of the AOR falls in each sub-slit of the module (arcsec)."""
    pointing = plan.pointings[exposure.pointing]
    aim = aim_point(module, exposure)
    out: dict[str, list[SlitPlacement]] = {name: [] for name in module.subslits}
    for source in plan.sources:
        widest = FWHM_PER_SIGMA * float(source.shape.gaussians()[1].max())
        xi, eta = sky_offset(pointing.ra_rqst_deg, pointing.dec_rqst_deg,
                             source.ra_deg, source.dec_deg)
        y, z = sky_to_focal_offset(xi, eta, plan.roll_deg)
        focal = aim + np.array([y, z])
        for name, sub in module.subslits.items():
            rel = focal - sub.centre_arcsec
            along = float(rel @ sub.axis)
            cross = float(rel[0] * -sub.axis[1] + rel[1] * sub.axis[0])
            reach = 5.0 * (widest + 10.0 * module.plate_scale_arcsec)
            if abs(along) < 0.5 * module.slit_length_arcsec + reach and (
                abs(cross) < 0.5 * module.slit_width_arcsec + reach
            ):
                out[name].append(SlitPlacement(source, along, cross))
    return out


def _pixel_extent(module: Module, slit_px: np.ndarray):
    """Along-slit extent (arcsec) of each pixel, clipped to the slit's ends."""
    half = 0.5 * module.slit_length_arcsec
    centre = slit_px * module.plate_scale_arcsec
    lo = np.clip(centre - 0.5 * module.plate_scale_arcsec, -half, half)
    hi = np.clip(centre + 0.5 * module.plate_scale_arcsec, -half, half)
    return lo, hi


@dataclass(frozen=True)
class _OrderArrays:
    """What the renderer needs of an order's pixels that no exposure changes."""

    lam: np.ndarray  # true wavelength seen by each pixel
    response: np.ndarray  # e-/s per Jy of light inside the slit
    lo: np.ndarray
    hi: np.ndarray
    zodi_per_brightness: np.ndarray  # e-/s per pixel for 1 Jy/arcsec^2 of uniform sky
    psf_s: np.ndarray
    node_w: np.ndarray  # PSF weights and widths at wavelength nodes (the across-slit
    node_s: np.ndarray  # light is computed there and interpolated to the pixels)
    node_i: np.ndarray
    node_t: np.ndarray
    reach_arcsec: float  # beyond this from the source no PSF component reaches
    cross_blur: float
    resolving: np.ndarray
    fringe: np.ndarray | None


@cache
def _reference_table(order: Order) -> tuple[np.ndarray, np.ndarray]:
    """The fraction of a centred point source inside the slit on a fine wavelength grid
    (the order's pixels and a pixel beyond), interpolated for every campaign's offset."""
    lam = order.pixels.wavelength_um
    margin = float(order.geometry.dispersion_um_per_px(np.array([lam.min()]))[0]) + float(
        order.geometry.dispersion_um_per_px(np.array([lam.max()]))[0])
    grid = np.linspace(lam.min() - margin, lam.max() + margin, 1024)
    return grid, true.point_reference_fraction(order.name, grid)


@lru_cache(maxsize=256)
def _order_arrays(module: Module, order: Order, offset_px: float = 0.0) -> _OrderArrays:
    pix = order.pixels
    lam = pix.wavelength_um
    if offset_px:
        lam = lam + offset_px * order.geometry.dispersion_um_per_px(lam)
    response = order.conversion(lam) / np.interp(lam, *_reference_table(order))
    lo, hi = _pixel_extent(module, pix.slit_px)
    zodi = module.slit_width_arcsec * (hi - lo) * response
    fringe = FRINGES.get(order.name) or FRINGES.get(module.name)
    factor = None
    if fringe is not None:
        amplitude, period = fringe
        factor = 1.0 + amplitude * np.sin(2 * np.pi * (1e4 / lam) / period + 0.7)
    psf_w, psf_s = psf_mixture(order.name, lam)
    # the SL PSF is tabulated per detector row (its rows are the nodes, so interpolating
    # between them is what psf_mixture does); the diffraction PSFs change smoothly
    nodes = (sl_psf_rows(order.number)[0] if module.name == "SL"
             else np.linspace(lam.min(), lam.max(), _WAVELENGTH_NODES))
    node_w, node_s = psf_mixture(order.name, nodes)
    node_i = np.clip(np.searchsorted(nodes, lam) - 1, 0, len(nodes) - 2)
    node_t = np.clip((lam - nodes[node_i]) / (nodes[node_i + 1] - nodes[node_i]), 0.0, 1.0)
    return _OrderArrays(lam, response, lo, hi, zodi, np.ascontiguousarray(psf_s),
                        np.ascontiguousarray(node_w), np.ascontiguousarray(node_s),
                        node_i, node_t[:, None], _reach(psf_w, psf_s),
                        true.cross_slit_blur_arcsec(order.subslit),
                        order.resolving_power(lam), factor)


_RECALLED: dict[tuple, tuple] = {}


def _recall(key: tuple, owners, compute):
    """A per-order array an AOR's exposures share (the sources' spectra on the order's
    pixels, the zodiacal light), kept for the last few hundred keys; ``owners`` are held
    with the value so the ids in the key stay theirs."""
    hit = _RECALLED.get(key)
    if hit is not None:
        return hit[1]
    value = compute()
    if len(_RECALLED) >= 256:
        del _RECALLED[next(iter(_RECALLED))]
    _RECALLED[key] = (owners, value)
    return value


def _reaches(weights: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Distance beyond which each Gaussian of a mixture adds less than :data:`_FAINTEST` of
    the total light to a pixel: s sqrt(2 ln(|w| / faintest)) for weight w and width s."""
    w = np.abs(np.asarray(weights, float))
    return np.asarray(sigmas, float) * np.sqrt(
        2.0 * np.log(np.maximum(w, _FAINTEST) / _FAINTEST))


def _reach(weights: np.ndarray, sigmas: np.ndarray) -> float:
    return float(_reaches(weights, sigmas).max())


def _source_light(module: Module, a: _OrderArrays, place: SlitPlacement):
    """(pixel selection, fraction of the source's flux on each selected pixel)."""
    src_w, src_s = place.source.shape.gaussians()
    reach = a.reach_arcsec + _reach(src_w, src_s)
    half_w = 0.5 * module.slit_width_arcsec
    if abs(place.cross_arcsec) > half_w + reach:
        return None, None
    sel = np.nonzero((a.hi > place.along_arcsec - reach) & (a.lo < place.along_arcsec + reach)
                     & (a.hi > a.lo))[0]
    if not len(sel):
        return None, None
    keep = np.abs(src_w) > 1e-5
    src_w, src_s = src_w[keep], src_s[keep]
    # across the slit: the weighted in-slit fraction of every PSF x source component at the
    # wavelength nodes, interpolated to the pixels (smooth in wavelength)
    var = a.node_s[:, :, None] ** 2 + src_s**2 + a.cross_blur**2
    inv = 1.0 / np.sqrt(2.0 * var)
    n_nodes = len(a.node_s)
    across = ((a.node_w[:, :, None] * src_w) * 0.5 * (
        erf((half_w - place.cross_arcsec) * inv) + erf((half_w + place.cross_arcsec) * inv))
        ).reshape(n_nodes, -1)
    # along the slit, each pixel's extent with its own PSF widths; the narrow components
    # (reaching less than a third of the widest) only on the pixels they reach
    widths = np.sqrt(a.psf_s[sel, :, None] ** 2 + src_s**2).reshape(len(sel), -1)
    reach = _reaches(np.abs(a.node_w[:, :, None] * src_w).reshape(n_nodes, -1).max(0),
                     widths.max(0))
    wide = reach > reach.max() / 3.0
    centre = 0.5 * (a.lo[sel] + a.hi[sel]) - place.along_arcsec
    near = np.abs(centre) <= (reach[~wide].max() if (~wide).any() else 0.0) + \
        module.plate_scale_arcsec
    light = np.zeros(len(sel))
    for rows, comps in ((near, slice(None)), (~near, wide)):
        if not rows.any():
            continue
        i, t = a.node_i[sel][rows], a.node_t[sel][rows]
        part = across[:, comps]
        inv = 1.0 / (_SQRT2 * widths[rows][:, comps])
        piece = erf((a.hi[sel][rows] - place.along_arcsec)[:, None] * inv)
        piece -= erf((a.lo[sel][rows] - place.along_arcsec)[:, None] * inv)
        piece *= part[i] * (1.0 - t) + part[i + 1] * t
        light[rows] = 0.5 * piece.sum(1)
    return sel, light


def render_signal(module: Module, placements: dict[str, list[SlitPlacement]],
                  zodi_lat_deg: float, zodi_scale: float, *,
                  zodi_temperature_k: float = 265.0,
                  wavelength_offset_px: float = 0.0) -> np.ndarray:
    """Noiseless slope image (e-/s) of the sky seen through the module's slits.

    Parameters
    ----------
    module : Module
    placements : dict
        Sub-slit -> the sources in its frame (:func:`place_sources`).
    zodi_lat_deg, zodi_scale, zodi_temperature_k : float
        The true zodiacal light (:func:`pipeline.simulate.true_instrument.zodi_mjy_sr`).
    wavelength_offset_px : float
        The module's wavelength zero-point offset (pixels) during the exposure.
    """
    image = np.zeros(128 * 128)
    for order in module.orders:
        a = _order_arrays(module, order, round(float(wavelength_offset_px), 6))
        signal = _recall(("zodi", id(a), zodi_lat_deg, zodi_scale, zodi_temperature_k), a,
                         lambda a=a: true.zodi_jy_per_arcsec2(
                             a.lam, zodi_lat_deg, zodi_scale, zodi_temperature_k)
                         * a.zodi_per_brightness).copy()
        for place in placements.get(order.subslit, ()):
            sel, light = _source_light(module, a, place)
            if sel is None or not np.any(np.abs(light) > 1e-7):
                continue
            spectrum = place.source.spectrum
            flux = _recall(("flux", id(a), id(spectrum)), (a, spectrum),
                           lambda a=a, spectrum=spectrum: spectrum.flux_jy(a.lam, a.resolving)
                           * a.response)
            signal[sel] += flux[sel] * light
        if a.fringe is not None:
            signal = signal * a.fringe
        image[order.pixels.index] += signal
    return image.reshape(128, 128)


def flat_residual(chnlnum: int) -> np.ndarray:
    """Residual flat-field error of a module (:func:`true_instrument.flat_residual`)."""
    return true.flat_residual(chnlnum)


@dataclass(frozen=True)
class CampaignDefects:
    """Rogue pixels of one module during one IRS campaign, and the permanent hot pixels."""

    rogue_index: np.ndarray
    rogue_e_per_s: np.ndarray
    hot_index: np.ndarray
    hot_e_per_s: np.ndarray
    fatal: np.ndarray  # bool 128 x 128, pmask-fatal pixels


@cache
def campaign_defects(chnlnum: int, irs_campaign: int, seed: int) -> CampaignDefects:
    """Deterministic rogue pixels: each pixel has an onset campaign and a strength; the set
    of a campaign is fixed (rogues persist through it) and grows after the proton event."""
    module = default_model().by_channel(chnlnum)
    base = np.random.default_rng([seed, chnlnum, 101])
    before, after = ROGUE_FRACTION[module.name]
    score = base.random(128 * 128)
    fraction = before if irs_campaign < PROTON_EVENT_IRS_CAMPAIGN else after
    rogue = np.nonzero(score < fraction)[0]
    strength = np.exp(base.normal(np.log(30.0), 1.0, 128 * 128))[rogue]
    this = np.random.default_rng([seed, chnlnum, irs_campaign])
    strength = strength * np.exp(this.normal(0.0, 0.3, len(rogue)))
    pmask = module.pmask.ravel()
    hot = np.nonzero((pmask & (1 << 6 | 1 << 7)) != 0)[0]
    hot_level = np.exp(np.random.default_rng([seed, chnlnum, 7]).normal(np.log(80.0), 0.7,
                                                                         len(hot)))
    fatal = ((pmask & _PMASK_FATAL_BITS) != 0).reshape(128, 128)
    return CampaignDefects(rogue, strength, hot, hot_level, fatal)


def exposure_signal(module: Module, exposure: Exposure, plan: AORPlan,
                    placements: dict[str, list[SlitPlacement]], zodi_lat_deg: float,
                    seed: int) -> np.ndarray:
    """The noiseless flat-fielded slope image of an exposure (the same for every DCE of
    one EXPID, which share their placements)."""
    signal = render_signal(
        module, placements, zodi_lat_deg, plan.zodi_scale,
        zodi_temperature_k=true.zodi_temperature_k(plan.aorkey),
        wavelength_offset_px=true.wavelength_offset_px(module.chnlnum, plan.campaign,
                                                       plan.instrument))
    return signal * flat_residual(module.chnlnum)


def render_exposure(module: Module, exposure: Exposure, plan: AORPlan,
                    placements: dict[str, list[SlitPlacement]], zodi_lat_deg: float,
                    seed: int, rng: np.random.Generator, signal: np.ndarray | None = None):
    """Simulate one DCE from the sources' placements (``place_sources``): returns
    (bcd e-/s float32, uncertainty float32, bmask int32). ``signal``: the exposure's
    :func:`exposure_signal` when the caller already has it."""
    if signal is None:
        signal = exposure_signal(module, exposure, plan, placements, zodi_lat_deg, seed)
    t = exposure.ramptime_s
    dark = DARK_E_PER_S[module.name]
    defects = campaign_defects(module.chnlnum, plan.irs_campaign, seed)
    excess = np.zeros(128 * 128)
    # rogues are unstable: their level changes from ramp to ramp around the campaign value
    excess[defects.rogue_index] += defects.rogue_e_per_s * np.exp(
        rng.normal(0.0, 0.25, len(defects.rogue_index)))
    excess[defects.hot_index] += defects.hot_e_per_s
    excess = excess.reshape(128, 128)

    charge = np.maximum(signal + dark + excess, 0.0) * t
    # photon and read noise in one Gaussian draw of variance charge + read noise^2: every
    # pixel collects at least the dark current's 30 e- (5 e-/s x 6.3 s) against a read
    # noise of 30 e-, where a Poisson law is as good as Gaussian (and costs 3x the time)
    counts = charge + np.sqrt(charge + READ_NOISE_E**2) * rng.standard_normal(charge.shape)
    bmask = np.zeros((128, 128), dtype=np.int32)
    bmask[charge > SATURATION_E] |= BMASK_SATURATED

    n_hits = rng.poisson(COSMIC_RATE_PER_S * t)
    if n_hits:
        where = rng.integers(0, 128, size=(n_hits, 2))
        energy = np.exp(rng.normal(np.log(8000.0), 1.0, n_hits))
        detected = rng.random(n_hits) < RADHIT_DETECTED
        for (row, col), e, flagged in zip(where, energy, detected, strict=True):
            if flagged:  # the BCD pipeline fitted around the jump: flag it, little residue
                bmask[row, col] |= BMASK_RADHIT
                counts[row, col] += 0.02 * e
            else:
                counts[row, col] += e

    slope = counts / t - dark
    variance_e = np.maximum(counts, 0.0) + READ_NOISE_E**2
    uncertainty = np.sqrt(variance_e) / t
    bmask[defects.fatal] |= BMASK_FATAL_PMASK
    slope[defects.fatal] = rng.normal(0.0, 500.0, int(defects.fatal.sum()))
    return slope.astype(np.float32), uncertainty.astype(np.float32), bmask
