"""The Spitzer/IRS instrument model: modules, orders, slits, nods, PSF and flux conversion.

Everything is derived from a :class:`~pipeline.instrument.calibration.CalibrationSet` (the
SSC tables), except three facts the SSC tables do not carry, each with its source:

* resolving power: R = k * lambda for the low-resolution orders and R = 600 for SH/LH
  (IRS Instrument Handbook 4.1.3, as tabulated by PAHFIT's Spitzer instrument pack);
* telescope aperture 0.85 m, so the diffraction FWHM is 1.03 lambda / D;
* an optical/detector blur of 0.9 pixel FWHM added in quadrature, derived from the
  along-slit profile of the real HD 173511 SL2 image (FWHM about 1.45 pixel at 6.4 um).

Flux model (shared by the simulator and the reduction, so that calibrations can be checked):

* a point source centred in the slit gives ``F_nu * conversion(lambda)`` e-/s summed over
  one wavelength sample (one PR) of the whole slit, where ``conversion`` is FLUXCON times
  the order's tuning polynomial;
* across the slit the light of a source is transmitted with an efficiency that, for a point
  source, equals the SLCF table (the slit-loss factor of a point source relative to a
  uniform extended one); a Gaussian source of intrinsic FWHM theta is transmitted relative
  to a point source by the ratio of in-slit fractions computed with an effective core width
  sigma_c chosen so that erf(W / (2 sqrt(2) sigma_c)) = SLCF (``Module.slit_transmission``);
* along the slit the source is spread as a Gaussian of width sqrt(sigma_psf^2 +
  sigma_source^2) (``Module.psf_fwhm_arcsec``).

In the extended limit this gives ``I * W * p * conversion / SLCF`` e-/s per pixel for a
surface brightness I, the SSC relation between point-source and extended calibrations.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from functools import cache, cached_property

import numpy as np
from scipy.special import erf, erfinv

from .calibration import CHANNELS, CalibrationError, CalibrationSet, default_calibration
from .geometry import OrderGeometry, PixelMap

__all__ = [
    "IRSModel",
    "Module",
    "Order",
    "SubSlit",
    "default_model",
]

log = logging.getLogger(__name__)

TELESCOPE_DIAMETER_M = 0.85
ARCSEC_PER_RAD = 206264.80624709636
BLUR_FWHM_PX = 0.9
#: R / lambda[um] for the low-resolution orders (IRS Handbook 4.1.3 via PAHFIT).
LR_R_PER_UM = {"SL1": 8.2667, "SL2": 16.5333, "SL3": 8.2667,
               "LL1": 2.9524, "LL2": 5.9048, "LL3": 2.9524}
HR_RESOLVING_POWER = 600.0
#: slit length x width (arcsec) if the SLCF table's comment does not state them (irs.md 1.1)
_SLIT_SIZE_FALLBACK = {"SL": (57.0, 3.6), "SH": (11.3, 4.7), "LL": (168.0, 10.5),
                       "LH": (22.3, 11.1)}
_FOV_WORD = {"SL": "Short-Lo", "LL": "Long-Lo", "SH": "Short-Hi", "LH": "Long-Hi"}
_ORDINAL = {1: "1st", 2: "2nd"}


@dataclass(frozen=True)
class SubSlit:
    """One slit aperture in the focal plane (SL and LL have two in line, SH and LH one).

    Attributes
    ----------
    name : str
        'SL1', 'SL2', 'LL1', 'LL2' (the order targeted through it) or 'SH', 'LH'.
    centre_arcsec : ndarray (2,)
        Focal-plane position (theta_Y, theta_Z) of the slit centre, arcsec (FRAMETABLE).
    axis : ndarray (2,)
        Unit vector of increasing slit fraction in the focal plane.
    nod_fraction : dict of int to float
        Fractional position along the slit of nod 1, nod 2 and the centre (0).
    fov_ids : dict of int to int
        FOVID of each nod position (0 = centre).
    fov_names : dict of int to str
    """

    name: str
    centre_arcsec: np.ndarray
    axis: np.ndarray
    nod_fraction: dict[int, float]
    fov_ids: dict[int, int]
    fov_names: dict[int, str]


@dataclass(frozen=True, eq=False)
class Order:
    """One spectral order of a module.

    Attributes
    ----------
    name : str
        'SL1', 'SL2', 'SL3', 'LL1', 'LL2', 'LL3', 'SH11' .. 'SH20', 'LH11' .. 'LH20'.
    module : str
    number : int
    subslit : str
        The aperture this order sees the sky through (SL3 shares SL2's sub-slit).
    geometry : OrderGeometry
    usable_range_um : tuple of float
        Trimmed range (WAVECUT) where the order is calibrated.
    fluxcon : float
        e-/s per Jy at the key wavelength.
    fluxcon_sigma : float
    key_wavelength_um : float
    tuning : tuple of float
        Polynomial a0..a5 in (lambda - key_wavelength).
    aperture_ref : tuple of float or None
        (lambda_ref um, width px) of the SSC tapered extraction aperture (LR only).
    """

    name: str
    module: str
    number: int
    subslit: str
    geometry: OrderGeometry
    usable_range_um: tuple[float, float]
    fluxcon: float
    fluxcon_sigma: float
    key_wavelength_um: float
    tuning: tuple[float, ...]
    aperture_ref: tuple[float, float] | None

    @property
    def wavelength_range_um(self) -> tuple[float, float]:
        """Full WAVSAMP range."""
        return float(self.geometry.wavelength_um[0]), float(self.geometry.wavelength_um[-1])

    def resolving_power(self, wavelength_um: np.ndarray | float) -> np.ndarray:
        """lambda / delta-lambda (FWHM of the line-spread function)."""
        wavelength_um = np.asarray(wavelength_um, float)
        if self.name in LR_R_PER_UM:
            return LR_R_PER_UM[self.name] * wavelength_um
        return np.full_like(wavelength_um, HR_RESOLVING_POWER)

    def conversion(self, wavelength_um: np.ndarray | float) -> np.ndarray:
        """Point-source flux conversion, e-/s per Jy per wavelength sample (FLUXCON x tune)."""
        dl = np.asarray(wavelength_um, float) - self.key_wavelength_um
        return self.fluxcon * np.polynomial.polynomial.polyval(dl, self.tuning)

    def aperture_width_px(self, wavelength_um: np.ndarray | float) -> np.ndarray:
        """Full width of the SSC tapered aperture (proportional to wavelength)."""
        wavelength_um = np.asarray(wavelength_um, float)
        if self.aperture_ref is None:
            return np.full_like(wavelength_um, np.inf)
        lam_ref, width = self.aperture_ref
        return width * wavelength_um / lam_ref

    @cached_property
    def pixels(self) -> PixelMap:
        """Detector pixels of this order with their wavelength and slit coordinate."""
        return self.geometry.pixel_map()


@dataclass(frozen=True, eq=False)
class Module:
    """One IRS module (one 128 x 128 detector).

    Attributes
    ----------
    name : str
        'SL', 'SH', 'LL' or 'LH'.
    chnlnum : int
        Header CHNLNUM and file prefix S<n>: 0 SL, 1 SH, 2 LL, 3 LH.
    resolution : str
        'LR' or 'HR'.
    plate_scale_arcsec : float
        Along the slit, arcsec per pixel (PLATESCALE).
    pixel_omega_sr : float
        Effective solid angle of one extraction pixel (PIXEL_OMEGA).
    slit_length_arcsec, slit_width_arcsec : float
    orders : tuple of Order
    subslits : dict of str to SubSlit
    slcf_table : tuple of ndarray
        (wavelength um, slit-loss correction factor).
    spatial_profile : object or None
        The along-slit profile the reduction measured on standard stars
        (``pipeline.steps.profile.SpatialProfile``: ``fraction(lambda, offset_px, width)``
        and ``fwhm_arcsec(lambda)``); None for the nominal Gaussian PSF below.
    """

    name: str
    chnlnum: int
    resolution: str
    plate_scale_arcsec: float
    pixel_omega_sr: float
    slit_length_arcsec: float
    slit_width_arcsec: float
    orders: tuple[Order, ...]
    subslits: dict[str, SubSlit]
    slcf_table: tuple[np.ndarray, np.ndarray]
    pmask: np.ndarray = field(repr=False)
    spatial_profile: object | None = field(default=None, repr=False)

    def order(self, name: str) -> Order:
        for order in self.orders:
            if order.name == name:
                return order
        raise KeyError(f"module {self.name} has no order {name!r}")

    @property
    def targetable(self) -> tuple[str, ...]:
        """Sub-slits a target can be placed in (the FOVs of staring mode)."""
        return tuple(self.subslits)

    def orders_in(self, subslit: str) -> tuple[Order, ...]:
        return tuple(o for o in self.orders if o.subslit == subslit)

    def slcf(self, wavelength_um: np.ndarray | float) -> np.ndarray:
        """Slit-loss correction factor (point to extended), linear in between table values."""
        lam, value = self.slcf_table
        wavelength_um = np.asarray(wavelength_um, float)
        slope_lo = (value[1] - value[0]) / (lam[1] - lam[0])
        slope_hi = (value[-1] - value[-2]) / (lam[-1] - lam[-2])
        out = np.interp(wavelength_um, lam, value)
        out = np.where(wavelength_um < lam[0], value[0] + slope_lo * (wavelength_um - lam[0]), out)
        out = np.where(
            wavelength_um > lam[-1], value[-1] + slope_hi * (wavelength_um - lam[-1]), out
        )
        return np.clip(out, 0.05, 0.99)

    def psf_fwhm_arcsec(self, wavelength_um: np.ndarray | float) -> np.ndarray:
        """FWHM of the point-spread function along the slit: the measured profile's when
        the module carries one, else diffraction and blur in quadrature (nominal)."""
        wavelength_um = np.asarray(wavelength_um, float)
        if self.spatial_profile is not None:
            return self.spatial_profile.fwhm_arcsec(wavelength_um)
        diffraction = 1.03 * wavelength_um * 1e-6 / TELESCOPE_DIAMETER_M * ARCSEC_PER_RAD
        blur = BLUR_FWHM_PX * self.plate_scale_arcsec
        return np.hypot(diffraction, blur)

    def _core_sigma_arcsec(self, wavelength_um: np.ndarray) -> np.ndarray:
        return self.slit_width_arcsec / (2.0 * np.sqrt(2.0) * erfinv(self.slcf(wavelength_um)))

    def slit_transmission(
        self,
        wavelength_um: np.ndarray | float,
        source_fwhm_arcsec: float = 0.0,
        cross_offset_arcsec: float = 0.0,
    ) -> np.ndarray:
        """Cross-slit transmission of a Gaussian source relative to a centred point source.

        Parameters
        ----------
        wavelength_um : array
        source_fwhm_arcsec : float
            Intrinsic FWHM of the source (0 for a point source).
        cross_offset_arcsec : float
            Offset of the source centre perpendicular to the slit.
        """
        wavelength_um = np.asarray(wavelength_um, float)
        core = self._core_sigma_arcsec(wavelength_um)
        sigma = np.hypot(core, source_fwhm_arcsec / 2.3548200450309493)
        half = 0.5 * self.slit_width_arcsec
        root2 = np.sqrt(2.0)
        inside = 0.5 * (
            erf((half - cross_offset_arcsec) / (root2 * sigma))
            + erf((half + cross_offset_arcsec) / (root2 * sigma))
        )
        return inside / self.slcf(wavelength_um)

    def nod_offset_arcsec(self, subslit: str, nod: int, frame: str) -> tuple[float, float]:
        """(along, across) offset in arcsec, from the centre of sub-slit ``frame``, of a
        source placed at nod ``nod`` of sub-slit ``subslit``: e.g. where the target of an
        SL2 exposure lies for the SL1 slit, whose pixels are then its by-order sky."""
        sub, ref = self.subslits[subslit], self.subslits[frame]
        focal = sub.centre_arcsec + (sub.nod_fraction[nod] - 0.5) * (
            self.slit_length_arcsec * sub.axis)
        rel = focal - ref.centre_arcsec
        return float(rel @ ref.axis), float(rel[0] * -ref.axis[1] + rel[1] * ref.axis[0])

    def in_slit_fraction(self, wavelength_um: np.ndarray | float, source_fwhm_arcsec: float,
                         along_arcsec: float = 0.0, across_arcsec: float = 0.0) -> np.ndarray:
        """Fraction of a Gaussian source's flux (intrinsic FWHM, centred at the given
        offsets from the slit centre) that enters the slit: across it the source convolved
        with the PSF core the slit losses are built on (``slit_transmission`` x SLCF), along
        it with the along-slit PSF, cut at the slit ends."""
        lam = np.asarray(wavelength_um, float)
        cross = self.slit_transmission(lam, source_fwhm_arcsec, across_arcsec) * self.slcf(lam)
        sigma = np.hypot(self.psf_fwhm_arcsec(lam), source_fwhm_arcsec) / 2.3548200450309493
        half, root2 = 0.5 * self.slit_length_arcsec, np.sqrt(2.0)
        return cross * 0.5 * (erf((half - along_arcsec) / (root2 * sigma))
                              + erf((half + along_arcsec) / (root2 * sigma)))

    def fraction_to_slit_px(self, fraction: np.ndarray | float) -> np.ndarray:
        """Slit fraction (0..1, DFRAC) to along-slit pixel offset from the slit centre."""
        scale = self.slit_length_arcsec / self.plate_scale_arcsec
        return (np.asarray(fraction, float) - 0.5) * scale

    def slit_px_to_fraction(self, slit_px: np.ndarray | float) -> np.ndarray:
        return 0.5 + np.asarray(slit_px, float) * self.plate_scale_arcsec / self.slit_length_arcsec

    @cached_property
    def order_map(self) -> np.ndarray:
        """128 x 128 array of order index into ``orders`` (-1 off-order)."""
        out = np.full(128 * 128, -1, dtype=np.int16)
        for k, order in enumerate(self.orders):
            out[order.pixels.index] = k
        return out.reshape(128, 128)

    @cached_property
    def wavelength_map(self) -> np.ndarray:
        """128 x 128 wavelength of every pixel (NaN off-order)."""
        out = np.full(128 * 128, np.nan)
        for order in self.orders:
            out[order.pixels.index] = order.pixels.wavelength_um
        return out.reshape(128, 128)


@dataclass(frozen=True, eq=False)
class IRSModel:
    """The four IRS modules built from one calibration set."""

    calibration: CalibrationSet
    modules: dict[str, Module]

    def module(self, name: str) -> Module:
        try:
            return self.modules[name.upper()]
        except KeyError:
            raise KeyError(f"unknown IRS module {name!r} (known: SL, SH, LL, LH)") from None

    def order(self, name: str) -> Order:
        """An order by name, e.g. 'SL2' or 'LH13'."""
        match = re.fullmatch(r"(SL|LL|SH|LH)(\d+)", name.upper())
        if not match:
            raise KeyError(f"not an IRS order name: {name!r}")
        return self.module(match[1]).order(name.upper())

    def by_channel(self, chnlnum: int) -> Module:
        return self.module(CHANNELS[chnlnum])

    @property
    def orders(self) -> list[Order]:
        return [o for m in self.modules.values() for o in m.orders]

    @cached_property
    def fovs(self) -> dict[int, tuple[str, str, int, str]]:
        """FOVID -> (module, sub-slit, nod (0 = centre), FOVNAME) of every staring FOV."""
        return {
            fovid: (module.name, sub.name, nod, sub.fov_names[nod])
            for module in self.modules.values()
            for sub in module.subslits.values()
            for nod, fovid in sub.fov_ids.items()
        }

    def with_profiles(self, profiles: dict[str, object]) -> IRSModel:
        """This model with measured along-slit profiles on the named modules."""
        if not profiles:
            return self
        modules = {name: replace(m, spatial_profile=profiles[name]) if name in profiles else m
                   for name, m in self.modules.items()}
        return IRSModel(self.calibration, modules)

    @classmethod
    def from_calibration(cls, calibration: CalibrationSet) -> IRSModel:
        """Build the model; raises CalibrationError if a table is inconsistent."""
        modules = {}
        for channel in calibration.channels:
            module = _build_module(calibration, channel)
            modules[module.name] = module
        return cls(calibration, modules)


@cache
def default_model() -> IRSModel:
    """The model built from the tables shipped with the package."""
    return IRSModel.from_calibration(default_calibration())


# -- building -------------------------------------------------------------------------------


def _global_value(cal: CalibrationSet, kind: str, column: str, channel: int, default: float):
    if not cal.has(kind):
        return default
    table = cal.table(kind)
    rows = np.nonzero(table["mod_num"] == channel)[0]
    return float(table[column][rows[0]]) if len(rows) else default


def _slit_size(cal: CalibrationSet, channel: int, name: str) -> tuple[float, float]:
    if cal.has("SLCF", channel):
        for comment in cal.table("SLCF", channel).comments:
            match = re.search(r"([0-9.]+)\s*x\s*([0-9.]+)\s*arcsec", comment)
            if match:
                return float(match[1]), float(match[2])
    return _SLIT_SIZE_FALLBACK[name]


def _frame_positions(cal: CalibrationSet) -> dict[str, np.ndarray]:
    if not cal.has("FRAMETABLE"):
        raise CalibrationError(f"{cal.directory}: FRAMETABLE is required for the nod geometry")
    table = cal.table("FRAMETABLE")
    return {
        str(name): 60.0 * np.array([y, z])
        for name, y, z in zip(
            table["fov_name"], table["brown_theta_Y"], table["brown_theta_Z"], strict=True
        )
    }


def _fov_prefix(module: str, subslit: str) -> str:
    if module in ("SH", "LH"):
        return f"IRS_{_FOV_WORD[module]}_"
    number = int(subslit[2:])
    return f"IRS_{_FOV_WORD[module]}_{_ORDINAL[number]}_Order_"


# FOVIDs of staring-mode positions (FRAMETABLE / PSF_FOV; irs.md 1.3)
_FOV_IDS = {
    "SL1": (28, 26, 27), "SL2": (34, 32, 33), "LL1": (40, 38, 39), "LL2": (46, 44, 45),
    "SH": (52, 50, 51), "LH": (58, 56, 57),
}


def _build_subslits(cal, channel, name, slit_length) -> dict[str, SubSlit]:
    frames = _frame_positions(cal)
    dfrac: dict[int, float] = {}
    if cal.has("PSF_FOV", channel):
        psf = cal.table("PSF_FOV", channel)
        dfrac = {int(f): float(d) for f, d in zip(psf["FOV"], psf["DFRAC"], strict=True)}
    names = [f"{name}1", f"{name}2"] if name in ("SL", "LL") else [name]
    out = {}
    for sub in names:
        prefix = _fov_prefix(name, sub)
        try:
            p1, p2 = frames[prefix + "1st_Position"], frames[prefix + "2nd_Position"]
            centre = frames[prefix + "Center_Position"]
        except KeyError as exc:
            raise CalibrationError(f"FRAMETABLE lacks {exc.args[0]}") from None
        ids = _FOV_IDS[sub]
        f1, f2 = dfrac.get(ids[1]), dfrac.get(ids[2])
        separation = np.linalg.norm(p2 - p1)
        if f1 is None or f2 is None:  # SH/LH: nods symmetric about the centre (FRAMETABLE)
            f1 = 0.5 - 0.5 * separation / slit_length
            f2 = 0.5 + 0.5 * separation / slit_length
        axis = (p2 - p1) / separation * np.sign(f2 - f1)
        out[sub] = SubSlit(
            sub, centre, axis, {0: 0.5, 1: f1, 2: f2},
            {0: ids[0], 1: ids[1], 2: ids[2]},
            {
                0: prefix + "Center_Position",
                1: prefix + "1st_Position",
                2: prefix + "2nd_Position",
            },
        )
    return out


def _build_module(cal: CalibrationSet, channel: int) -> Module:
    name = CHANNELS[channel]
    resolution = "LR" if name in ("SL", "LL") else "HR"
    wavsamp = cal.table("WAVSAMP", channel)
    fluxcon = cal.table("FLUXCON", channel)
    wavecut = cal.table("WAVECUT", channel) if cal.has("WAVECUT", channel) else None
    psf = cal.table("PSF_FOV", channel) if cal.has("PSF_FOV", channel) else None
    length, width = _slit_size(cal, channel, name)
    subslits = _build_subslits(cal, channel, name, length)

    orders = []
    for number in sorted(set(int(n) for n in wavsamp["order"])):
        rows = wavsamp["order"] == number
        geometry = OrderGeometry.from_columns({k: v[rows] for k, v in wavsamp.columns.items()})
        frow = np.nonzero(fluxcon["order"] == number)[0]
        if not len(frow):
            raise CalibrationError(f"{cal.path('FLUXCON', channel)}: no row for order {number}")
        f = frow[0]
        tuning = tuple(float(fluxcon[f"a{k}"][f]) for k in range(6) if f"a{k}" in fluxcon.columns)
        usable = (float(geometry.wavelength_um[0]), float(geometry.wavelength_um[-1]))
        if wavecut is not None:
            wrow = np.nonzero(wavecut["order"] == number)[0]
            if len(wrow):
                usable = (float(wavecut["wavecut_low"][wrow[0]]),
                          float(wavecut["wavecut_high"][wrow[0]]))
        aperture = None
        if psf is not None:
            prow = np.nonzero(psf["order"] == number)[0]
            if len(prow):
                aperture = (float(psf["lambda_ref"][prow[0]]), float(psf["W_ref"][prow[0]]))
        order_name = f"{name}{number}"
        subslit = name if resolution == "HR" else f"{name}{min(number, 2)}"
        orders.append(Order(
            order_name, name, number, subslit, geometry, usable,
            float(fluxcon["fluxcon"][f]), float(fluxcon["fluxcon_sigma"][f]),
            float(fluxcon["key_wavelength"][f]), tuning, aperture,
        ))
    slcf = cal.table("SLCF", channel)
    slcf_column = "slcf" if "slcf" in slcf.columns else "correction"
    return Module(
        name=name,
        chnlnum=channel,
        resolution=resolution,
        plate_scale_arcsec=_global_value(cal, "PLATESCALE", "plate_scale", channel, 1.0),
        pixel_omega_sr=_global_value(cal, "PIXEL_OMEGA", "pix_solid_angle", channel, np.nan),
        slit_length_arcsec=length,
        slit_width_arcsec=width,
        orders=tuple(orders),
        subslits=subslits,
        slcf_table=(np.asarray(slcf["wavelength"], float), np.asarray(slcf[slcf_column], float)),
        pmask=cal.pmask(channel),
    )
