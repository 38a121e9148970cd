"""The simulator's "true instrument": what renders the sky and what the reduction never sees.

The reduction (``pipeline/lowres.py``, ``highres.py``, ``steps/``) works with the
instrument model of :mod:`pipeline.instrument` (Gaussian PSF, SLCF-based slit losses, the
nominal WAVSAMP, analytic standard-star templates, the zodiacal model of
``pipeline.instrument.zodi``) and must learn the rest from the data, as a pipeline of the
real archive does. This module, which no module outside ``pipeline/simulate`` imports (a
test checks it), holds how the simulated sky really reaches the detector:

* the PSFs (:mod:`pipeline.simulate.true_psf`): the SSC's measured super-sampled SL PSF,
  an obstructed Airy pattern with a detector blur for LL, SH and LH, and a blur across
  each slit that makes the slit losses agree on average with the SSC's SLCF
  (:func:`cross_slit_blur_arcsec`);
* the fraction of any source's light (:mod:`pipeline.simulate.morphology`) that enters the
  slit and each pixel, for any position in and around the slit (:func:`in_slit_fraction`,
  the truth of the benchmarks);
* per-campaign wavelength zero-point offsets (:func:`wavelength_offset_px`): the detector
  sees lambda_nominal + offset x dispersion;
* flat-field residuals, pixel to pixel and low-frequency (:func:`flat_residual`);
* standard-star spectra 1-3 % away from the templates of ``pipeline.instrument.standards``
  (:func:`true_standard_spectrum`);
* the zodiacal light (:func:`zodi_mjy_sr`): its own temperature per AOR and emissivity
  law, and the SSC-style estimate written as ``ZODY_EST`` (:func:`zody_est_mjy_sr`).

The flux conversion (FLUXCON x tuning) stays the SSC's: a point source centred in the slit
gives F_nu x conversion e-/s per wavelength sample, so the detector's response to light
inside the slit is conversion / (fraction of a centred point source inside the slit).
"""

from __future__ import annotations

import math
import zlib
from functools import cache

import numpy as np
from scipy.optimize import brentq

from pipeline.instrument import Module, default_model
from pipeline.instrument.standards import StandardStar

from ._draws import normal
from .morphology import Morphology
from .sky import SourceSpectrum, standard_star_spectrum
from .true_psf import light_in_box, psf_mixture

__all__ = [
    "FLAT_LOW_FREQUENCY_RMS",
    "FLAT_PIXEL_RMS",
    "STANDARD_DEVIATION_RANGE",
    "WAVELENGTH_OFFSET_RMS_PX",
    "ZODY_EST_ERROR_RMS",
    "ZODY_REFERENCE_UM",
    "by_order_fractions",
    "cross_slit_blur_arcsec",
    "ecliptic_latitude_at",
    "ecliptic_latitude_deg",
    "flat_residual",
    "in_slit_fraction",
    "nod_offset_arcsec",
    "point_reference_fraction",
    "standard_deviation",
    "true_standard_spectrum",
    "wavelength_offset_px",
    "zodi_at_mjy_sr",
    "zodi_jy_per_arcsec2",
    "zodi_mjy_sr",
    "zodi_temperature_k",
    "zody_error",
    "zody_est_mjy_sr",
]

#: rms of the per-module, per-campaign wavelength zero-point offsets (pixels), a value
#: adopted for the simulator (a fraction of a pixel, within the +-0.1-0.3 px the project
#: plans for)
WAVELENGTH_OFFSET_RMS_PX = 0.2
FLAT_PIXEL_RMS = 0.01
FLAT_LOW_FREQUENCY_RMS = 0.01
#: the smallest and largest peak deviation of a standard star from its template
STANDARD_DEVIATION_RANGE = (0.01, 0.03)
#: ZODY_EST reference wavelength per module (um), written in the keyword's comment
ZODY_REFERENCE_UM = {"SL": 10.0, "LL": 22.0, "SH": 15.0, "LH": 27.0}
#: rms of the relative error of ZODY_EST against the rendered zodiacal light
ZODY_EST_ERROR_RMS = 0.04

JY_PER_ARCSEC2_PER_MJY_SR = 1e6 / 206264.80624709636**2
_OBLIQUITY = np.radians(23.4392911)
_H_OVER_K = 6.62607015e-34 / 1.380649e-23
_C_UM_HZ = 2.99792458e14


# -- geometry and the light in the slit -----------------------------------------------------


def nod_offset_arcsec(module_name: str, subslit: str, nod: int,
                      frame: str) -> tuple[float, float]:
    """(along, across) offset in arcsec, from the centre of sub-slit ``frame``, of a source
    placed at nod ``nod`` (0 the centre) of sub-slit ``subslit``, with the FRAMETABLE
    geometry the simulator places sources with (no pointing error)."""
    module = default_model().module(module_name)
    sub, ref = module.subslits[subslit], module.subslits[frame]
    focal = sub.centre_arcsec + (sub.nod_fraction[nod] - 0.5) * (
        module.slit_length_arcsec * sub.axis)
    rel = focal - ref.centre_arcsec
    return float(rel @ ref.axis), float(rel[0] * -ref.axis[1] + rel[1] * ref.axis[0])


def _module_of(order_name: str) -> Module:
    return default_model().module(order_name[:2])


@cache
def cross_slit_blur_arcsec(subslit: str) -> float:
    """Gaussian sigma (arcsec) of the blur the light meets across the slit of a sub-slit on
    top of the circular PSF (the spectrograph's pupil diffraction and aberrations), set so
    that a centred point source loses on average over the sub-slit's orders the light the
    SSC's slit-loss table (SLCF, the instrument's measured point-to-extended ratio) says;
    wavelength by wavelength the two differ by the PSF's own shape (a few per cent).
    Zero where the PSF alone already loses as much."""
    module = default_model().module(subslit[:2])
    orders = module.orders_in(subslit)
    lam = np.concatenate([np.linspace(*o.usable_range_um, 12) for o in orders])
    psf = [psf_mixture(o.name, np.linspace(*o.usable_range_um, 12)) for o in orders]
    psf_w, psf_s = (np.concatenate([p[i] for p in psf]) for i in (0, 1))
    target = float(np.mean(module.slcf(lam)))
    half = 0.5 * module.slit_width_arcsec
    point_w, point_s = np.array([1.0]), np.array([0.0])

    def excess(blur: float) -> float:
        inside = light_in_box(psf_w, psf_s, point_w, point_s, -half, half, -np.inf, np.inf,
                              x_blur_arcsec=blur)
        return float(np.mean(inside)) - target

    if excess(0.0) <= 0.0:
        return 0.0
    return float(brentq(excess, 0.0, 4.0 * module.slit_width_arcsec, xtol=1e-4))


def in_slit_fraction(order_name: str, wavelength_um, morphology: Morphology,
                     along_arcsec: float = 0.0, across_arcsec: float = 0.0) -> np.ndarray:
    """Fraction of a source's total flux that enters the slit of an order, through the true
    PSF, for a source centred at (along, across) arcsec from the slit centre.

    Parameters
    ----------
    order_name : str
        'SL1' .. 'LH20' (the PSF is the order's; the slit is the module's).
    wavelength_um : array_like
    morphology : Morphology
    along_arcsec, across_arcsec : float
    """
    module = _module_of(order_name)
    lam = np.atleast_1d(np.asarray(wavelength_um, float))
    psf_w, psf_s = psf_mixture(order_name, lam)
    src_w, src_s = morphology.gaussians()
    half_w, half_l = 0.5 * module.slit_width_arcsec, 0.5 * module.slit_length_arcsec
    blur = cross_slit_blur_arcsec(default_model().order(order_name).subslit)
    return light_in_box(psf_w, psf_s, src_w, src_s, -half_w - across_arcsec,
                        half_w - across_arcsec, -half_l - along_arcsec, half_l - along_arcsec,
                        x_blur_arcsec=blur)


def point_reference_fraction(order_name: str, wavelength_um) -> np.ndarray:
    """Fraction of a point source centred in the slit that enters it: the light FLUXCON
    refers to (the detector's response to in-slit light is conversion / this)."""
    return in_slit_fraction(order_name, wavelength_um, Morphology.point())


def by_order_fractions(order_name: str, wavelength_um,
                       morphology: Morphology) -> tuple[np.ndarray, np.ndarray]:
    """(inside, leaked), each the mean over the two nods: the fraction of the source's flux
    in the slit of an LR order when the source sits at that order's nod positions, and
    the fraction in the same slit when the source sits at the nods of the other sub-slit
    (what a by-order sky frame of that slit holds of it)."""
    module = _module_of(order_name)
    frame = default_model().order(order_name).subslit
    other = next(name for name in module.subslits if name != frame)
    inside, leaked = [], []
    for nod in (1, 2):
        inside.append(in_slit_fraction(order_name, wavelength_um, morphology,
                                       *nod_offset_arcsec(module.name, frame, nod, frame)))
        leaked.append(in_slit_fraction(order_name, wavelength_um, morphology,
                                       *nod_offset_arcsec(module.name, other, nod, frame)))
    return np.mean(inside, axis=0), np.mean(leaked, axis=0)


# -- wavelength zero points and flat field --------------------------------------------------


@cache
def wavelength_offset_px(chnlnum: int, campaign: str, instrument: int) -> float:
    """Wavelength zero-point offset (pixels along the dispersion) of a module during one
    campaign (the CAMPAIGN keyword of the exposures, ``IRSX003900``: the instrument is
    switched on for each campaign and its zero point may move between them): the detector
    pixel nominally at lambda sees lambda + offset x dispersion. ``instrument`` keys the
    simulated instrument, so that a calibration campaign observes the same instrument as
    the science run it calibrates. Gaussian of rms :data:`WAVELENGTH_OFFSET_RMS_PX`,
    clipped at 2.5 rms."""
    rng = np.random.default_rng([int(instrument), int(chnlnum),
                                 zlib.crc32(str(campaign).encode()), 5503])
    limit = 2.5 * WAVELENGTH_OFFSET_RMS_PX
    return float(np.clip(rng.normal(0.0, WAVELENGTH_OFFSET_RMS_PX), -limit, limit))


@cache
def flat_residual(chnlnum: int) -> np.ndarray:
    """Residual flat-field error left in BCDs, fixed per module: 1 % rms pixel to pixel
    times a smooth 1 % rms pattern (a few cosines of 20-60 pixel period across the array,
    the scale of the SSC flats' illumination errors)."""
    rng = np.random.default_rng([7919, chnlnum])
    pixel = FLAT_PIXEL_RMS * rng.standard_normal((128, 128))
    y, x = np.mgrid[0:128, 0:128] / 128.0
    smooth = np.zeros((128, 128))
    for _ in range(4):
        kx, ky = rng.uniform(2.0, 6.5, 2)
        phase = rng.uniform(0.0, 2 * np.pi)
        smooth += np.cos(2 * np.pi * (kx * x * rng.choice([-1, 1]) + ky * y) + phase)
    smooth *= FLAT_LOW_FREQUENCY_RMS / smooth.std()
    return (1.0 + pixel) * (1.0 + smooth)


# -- standard stars -------------------------------------------------------------------------


def _chebyshev_x(wavelength_um) -> np.ndarray:
    """log(lambda) over 5-40 um mapped to [-1, 1]."""
    lam = np.asarray(wavelength_um, float)
    return 2.0 * (np.log(lam) - np.log(5.0)) / (np.log(40.0) - np.log(5.0)) - 1.0


@cache
def standard_deviation(name: str) -> tuple[float, ...]:
    """Chebyshev coefficients (in log lambda over 5-40 um, degree 3) of the smooth relative
    deviation of a standard star's true spectrum from its template: a fixed random shape per
    star, scaled so that its largest excursion over 5-40 um is 1-3 % (the level of error
    adopted as realistic for the calibrators' model photospheres, whose real versions,
    Decin et al., are not available to the project, irs.md 1.8)."""
    rng = np.random.default_rng([zlib.crc32(name.encode()), 1771])
    coefficients = rng.normal(0.0, 1.0, 4) * np.array([0.6, 1.0, 0.6, 0.4])
    x = np.linspace(-1.0, 1.0, 400)
    peak = np.abs(np.polynomial.chebyshev.chebval(x, coefficients)).max()
    amplitude = rng.uniform(*STANDARD_DEVIATION_RANGE)
    return tuple(float(c) for c in coefficients * amplitude / peak)


def true_standard_spectrum(star: StandardStar) -> SourceSpectrum:
    """The spectrum a standard star really has: its template times 1 + the deviation of
    :func:`standard_deviation`."""
    template = standard_star_spectrum(star.flux_10um_jy, star.sio_depth)
    return SourceSpectrum(template.spectral_class, template.redshift,
                          template.continuum_15um_jy, stellar_weight=template.stellar_weight,
                          sio_depth=template.sio_depth,
                          distortion=standard_deviation(star.name))


# -- zodiacal light -------------------------------------------------------------------------


def ecliptic_latitude_deg(ra_deg, dec_deg) -> np.ndarray:
    """Ecliptic latitude of ICRS positions: sin(beta) = sin(dec) cos(eps) - cos(dec) sin(eps)
    sin(ra), J2000 mean obliquity (Meeus, Astronomical Algorithms, eq. 13.4)."""
    ra = np.radians(np.atleast_1d(ra_deg))
    dec = np.radians(np.atleast_1d(dec_deg))
    sin_beta = np.sin(dec) * np.cos(_OBLIQUITY) - np.cos(dec) * np.sin(_OBLIQUITY) * np.sin(ra)
    return np.degrees(np.arcsin(np.clip(sin_beta, -1.0, 1.0)))


def ecliptic_latitude_at(ra_deg: float, dec_deg: float) -> float:
    """:func:`ecliptic_latitude_deg` of one position, as a float."""
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    sin_beta = (math.sin(dec) * math.cos(_OBLIQUITY)
                - math.cos(dec) * math.sin(_OBLIQUITY) * math.sin(ra))
    return math.degrees(math.asin(min(max(sin_beta, -1.0), 1.0)))


@cache
def zodi_temperature_k(aorkey: int) -> float:
    """Effective colour temperature of the zodiacal emission seen by one AOR: 265 K +- 6 K
    rms (solar elongation and season change the line of sight through a cloud whose dust
    is 286 K at 1 AU, falling as r^-0.467: Kelsall et al. 1998, ApJ 508, 44)."""
    return float(np.clip(265.0 + 6.0 * normal(aorkey, 6067), 245.0, 285.0))


#: emissivity relative to 25 um, interpolated in log lambda: values adopted for the
#: simulator, of the form the DIRBE zodiacal model fits band by band (Kelsall et al. 1998,
#: ApJ 508, 44), slightly below 1 at 12 um and falling beyond 25 um
_EMISSIVITY = (np.log([12.0, 25.0, 60.0]), np.array([0.955, 1.0, 0.733]))


def _shape(wavelength_um: np.ndarray, temperature_k: float) -> np.ndarray:
    nu = _C_UM_HZ / wavelength_um
    emissivity = np.interp(np.log(wavelength_um), *_EMISSIVITY)
    return emissivity * nu**3 / np.expm1(_H_OVER_K * nu / temperature_k)


def zodi_mjy_sr(wavelength_um, ecliptic_lat_deg: float, scale: float = 1.0,
                temperature_k: float = 265.0) -> np.ndarray:
    """Zodiacal surface brightness (MJy/sr): 6 + 36 exp(-(beta / 24 deg)^2) MJy/sr at 12 um
    (about 42 in the ecliptic, 6 at the poles, the range the Spitzer background estimator
    gives near 90 deg elongation) times the emissivity-weighted Planck shape."""
    lam = np.asarray(wavelength_um, float)
    level = 6.0 + 36.0 * np.exp(-((ecliptic_lat_deg / 24.0) ** 2))
    return scale * level * _shape(lam, temperature_k) / _shape(np.array(12.0), temperature_k)


def zodi_at_mjy_sr(wavelength_um: float, ecliptic_lat_deg: float, scale: float,
                   temperature_k: float) -> float:
    """:func:`zodi_mjy_sr` at one wavelength, as a float (without array overhead)."""
    return scale * (6.0 + 36.0 * math.exp(-((ecliptic_lat_deg / 24.0) ** 2))) * (
        _shape_at(wavelength_um, temperature_k) / _shape_at(12.0, temperature_k))


def _shape_at(wavelength_um: float, temperature_k: float) -> float:
    nu = _C_UM_HZ / wavelength_um
    x, (xs, ys) = math.log(wavelength_um), _EMISSIVITY
    k = 0 if x < xs[1] else 1
    t = min(max((x - xs[k]) / (xs[k + 1] - xs[k]), 0.0), 1.0)
    emissivity = float(ys[k] + t * (ys[k + 1] - ys[k]))
    return emissivity * nu**3 / math.expm1(_H_OVER_K * nu / temperature_k)


def zodi_jy_per_arcsec2(wavelength_um, ecliptic_lat_deg: float, scale: float = 1.0,
                        temperature_k: float = 265.0) -> np.ndarray:
    """:func:`zodi_mjy_sr` in Jy per square arcsec."""
    return zodi_mjy_sr(wavelength_um, ecliptic_lat_deg, scale,
                       temperature_k) * JY_PER_ARCSEC2_PER_MJY_SR


@cache
def zody_error(aorkey: int, chnlnum: int) -> float:
    """Relative error of the ZODY_EST of one AOR and module: Gaussian, rms
    :data:`ZODY_EST_ERROR_RMS`, clipped at 2.5 rms."""
    limit = 2.5 * ZODY_EST_ERROR_RMS
    return float(np.clip(ZODY_EST_ERROR_RMS * normal(aorkey, chnlnum, 7211), -limit, limit))


def zody_est_mjy_sr(module_name: str, chnlnum: int, aorkey: int, ecliptic_lat_deg: float,
                    scale: float) -> float:
    """The ``ZODY_EST`` keyword: the zodiacal light rendered at the module's reference
    wavelength (:data:`ZODY_REFERENCE_UM`), times 1 + the estimate's error."""
    true = zodi_at_mjy_sr(ZODY_REFERENCE_UM[module_name], ecliptic_lat_deg, scale,
                          zodi_temperature_k(aorkey))
    return true * (1.0 + zody_error(aorkey, chnlnum))
