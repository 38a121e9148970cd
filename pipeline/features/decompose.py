"""Spectral decomposition of one IRS spectrum, after PAHFIT (Smith et al. 2007).

The model, in the observed frame at rest wavelengths r = lambda / (1 + z)::

    F_nu = A(r) [sum_j c_j K_j(r) + sum_k b_k D_k(r)] + sum_l f_l G_l(lambda)

* K_j: a 5000 K photosphere and modified blackbodies B_nu(T) lambda^-2 at PAHFIT's dust
  temperatures (35-300 K) plus 400-1500 K for hot dust (evolved stars, AGN tori); c >= 0;
* D_k: the PAHFIT classic Drude profiles (b >= 0);
* G_l: Gaussians of FWHM lambda / R (the instrument's resolution; lines are unresolved
  at R <= 600) with free-sign integrated fluxes f_l (so that an undetected line has an
  unbiased estimate and a noise-based uncertainty);
* A(r) = exp(-tau_9.7 S_9.7(r) - tau_18 S_18(r) - sum_i tau_i I_i(r)): a foreground screen
  of silicate (the S07 shape split into its 9.7 and 18 um bands, each with its own depth;
  negative depths are emission) and ice bands, applied to continuum and PAHs; lines are
  fitted as observed, so their fluxes are the observed ones.

For given depths the model is linear: a non-negative least-squares solve (lines as a pair
of non-negative columns of opposite sign), weighted by the uncertainties. The depths are
found by ``scipy.optimize.least_squares`` over that inner solve (variable projection).
Uncertainties: the linear parameters' covariance at the solution (the depths held fixed),
the depths' from the Jacobian of the outer problem.

Why not ``pahfit`` or ``specutils.fitting.fit_lines`` (astropy.modeling): PAHFIT is not
installable here (not in the environment's package lists), and astropy's fitters treat
every amplitude as a nonlinear parameter. Measured on one LR spectrum on the loaded 2-core
build machine, all three in the same minute: ``fit_lines`` with one Gaussian + linear
continuum on a 1 um window, 30 ms (x 20 lines, before any continuum or PAH); an astropy
compound model of a cubic + the 25 PAHFIT Drudes + 20 Gaussians (136 parameters, no
attenuation) with ``TRFLSQFitter``, 8.3 s; this decomposition (continuum, attenuation,
PAHs, 34 lines, every derived feature), 0.47 s (0.06-0.15 s on an idle machine,
``benchmarks/results/features/``). specutils is used by the tests as an independent
check of the line fluxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, nnls
from threadpoolctl import threadpool_limits

from .catalogue import (
    ICE_BANDS,
    continuum_temperatures,
    line_wavelengths,
    pah_components,
    resolving_power,
    silicate_bands,
)

__all__ = ["Decomposition", "decompose"]

_C_M_S = 2.99792458e8
_HC_K_UM = 14387.768775039337
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: F_lambda (W m^-2 um^-1) * lambda_um^2 * _FLAM_TO_JY = F_nu (Jy)
_FLAM_TO_JY = 1e-6 / _C_M_S / 1e-26
#: line columns are in units of this flux (W m^-2), for the conditioning of the solve
LINE_UNIT_W_M2 = 1e-17
_HOT_DUST_K = (1500.0, 1000.0, 800.0, 600.0, 450.0, 350.0, 250.0, 160.0, 110.0, 75.0)
_TAU_BOUNDS = {"tau_9p7": (-3.0, 20.0), "tau_18": (-3.0, 20.0)}
_ICE_BOUNDS = (-1.0, 8.0)


def _planck_shape(rest: np.ndarray, temperature: float, extra_power: float) -> np.ndarray:
    """B_nu(T) * lambda^-extra_power, scaled to a maximum of 1 over ``rest``."""
    with np.errstate(over="ignore"):
        x = (_HC_K_UM / temperature) / rest
        value = rest ** -(3.0 + extra_power) / np.expm1(np.minimum(x, 700.0))
    peak = float(value.max()) if value.size else 0.0
    return value / peak if peak > 0.0 else value


def drude(rest: np.ndarray, centre: float, fwhm: float) -> np.ndarray:
    """Drude profile, 1 at the centre (PAHFIT's dust features, F_nu)."""
    gamma = fwhm / centre
    return gamma**2 / ((rest / centre - centre / rest) ** 2 + gamma**2)


def _gauss(x: np.ndarray, centre: float, fwhm: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - centre) * (_FWHM_PER_SIGMA / fwhm)) ** 2)


def line_column(lam: np.ndarray, centre_obs: float, resolving: np.ndarray) -> np.ndarray:
    """F_nu (Jy) of a Gaussian line of flux LINE_UNIT_W_M2 at observed wavelengths."""
    r_centre = float(np.interp(centre_obs, lam, resolving))
    sigma = centre_obs / (r_centre * _FWHM_PER_SIGMA)
    g = np.exp(-0.5 * ((lam - centre_obs) / sigma) ** 2)
    return LINE_UNIT_W_M2 * _FLAM_TO_JY / np.sqrt(2.0 * np.pi) * lam * lam / sigma * g


@dataclass
class Decomposition:
    """The fitted model of one spectrum (arrays on the fitted samples).

    ``params``: linear parameters (continuum, PAH, lines in LINE_UNIT_W_M2) in ``names``
    order; ``cov``: their covariance; ``taus``/``tau_errors``: fitted depths by name.
    """

    wavelength: np.ndarray
    rest: np.ndarray
    redshift: float
    high_resolution: bool
    names: list[str]
    kinds: list[str]
    params: np.ndarray
    cov: np.ndarray
    taus: dict[str, float]
    tau_errors: dict[str, float]
    chi2_reduced: float

    def attenuation(self, rest: np.ndarray) -> np.ndarray:
        band97, band18 = silicate_bands(rest)
        tau = self.taus.get("tau_9p7", 0.0) * band97 + self.taus.get("tau_18", 0.0) * band18
        for name, (centre, fwhm) in ICE_BANDS.items():
            if name in self.taus:
                tau = tau + self.taus[name] * _gauss(rest, centre, fwhm)
        return np.exp(-tau)

    def continuum_basis(self, rest: np.ndarray) -> np.ndarray:
        """Unattenuated continuum columns at ``rest`` (samples x continuum parameters),
        scaled as in the fit."""
        return np.column_stack([_continuum_column(name, rest, self.rest)
                                for name, kind in zip(self.names, self.kinds, strict=True)
                                if kind == "continuum"])

    def index(self, kind: str) -> np.ndarray:
        return np.array([i for i, k in enumerate(self.kinds) if k == kind], dtype=int)


def _continuum_column(name: str, rest: np.ndarray, fit_rest: np.ndarray) -> np.ndarray:
    """A continuum column evaluated at ``rest`` with the scale it had on ``fit_rest``."""
    kind, temperature = name.split(":")
    extra = 0.0 if kind == "star" else 2.0
    t = float(temperature)
    with np.errstate(over="ignore"):
        def raw(r):
            return r ** -(3.0 + extra) / np.expm1(np.minimum((_HC_K_UM / t) / r, 700.0))
        peak = float(raw(fit_rest).max())
        return raw(rest) / peak if peak > 0.0 else raw(rest)


def _design(lam, rest, z, resolving):
    """Columns (unattenuated continuum + PAH, lines) and their names and kinds."""
    star_t, dust_t = continuum_temperatures()
    names, kinds, cols = [], [], []
    for kind, temps in (("star", (star_t,)), ("dust", _HOT_DUST_K + dust_t)):
        for t in temps:
            names.append(f"{kind}:{t:g}")
            kinds.append("continuum")
            cols.append(_planck_shape(rest, t, 0.0 if kind == "star" else 2.0))
    lo, hi = float(rest.min()), float(rest.max())
    for name, (centre, fwhm) in pah_components().items():
        if lo - fwhm < centre < hi + fwhm:
            names.append(name)
            kinds.append("pah")
            cols.append(drude(rest, centre, fwhm))
    line_cols, line_names = [], []
    for name, rest_um in line_wavelengths().items():
        centre = rest_um * (1.0 + z)
        fwhm = centre / float(np.interp(centre, lam, resolving))
        # a line needs samples on both sides of its centre (not in a gap between orders)
        near = lam[np.abs(lam - centre) < fwhm]
        if near.size >= 3 and near[0] < centre < near[-1]:
            line_names.append(name)
            line_cols.append(line_column(lam, centre, resolving))
    return names, kinds, np.column_stack(cols), line_names, line_cols


def _ice_ok(rest: np.ndarray, centre: float, fwhm: float) -> bool:
    inside = np.count_nonzero(np.abs(rest - centre) < fwhm)
    return rest.min() < centre - fwhm and rest.max() > centre + fwhm and inside >= 3


def decompose(wavelength_um, flux_jy, error_jy, redshift: float = 0.0,
              high_resolution: bool = False) -> Decomposition | None:
    """Fit the model of the module docstring; None when fewer than 20 usable samples
    (parameters: :func:`_decompose`).

    BLAS runs single-threaded here: the matrices are small (a few thousand x 40), and
    OpenBLAS's threads cost more than they give. Measured on the 2-core build machine
    under load from other processes: the projection step took 39 ms a call with the
    default threads against 0.1 ms with one (a 4 s LR+HR position against 0.1 s).
    """
    with threadpool_limits(1, user_api="blas"):
        return _decompose(wavelength_um, flux_jy, error_jy, redshift, high_resolution)


def _decompose(wavelength_um, flux_jy, error_jy, redshift: float,
               high_resolution: bool) -> Decomposition | None:
    """The fit itself.

    Parameters
    ----------
    wavelength_um, flux_jy, error_jy : array_like
        The spectrum (observed frame, any order; non-finite or non-positive errors dropped).
    redshift : float
        z >= 0 (0 when unknown: the rest frame is then the observed one).
    high_resolution : bool
        SH/LH (R = 600) rather than SL/LL.
    """
    lam = np.asarray(wavelength_um, float)
    flux = np.asarray(flux_jy, float)
    err = np.asarray(error_jy, float)
    good = np.isfinite(lam) & np.isfinite(flux) & np.isfinite(err) & (err > 0) & (lam > 0)
    order = np.argsort(lam[good], kind="stable")
    lam, flux, err = lam[good][order], flux[good][order], err[good][order]
    if lam.size < 20:
        return None
    # an error floor of 1 % of the flux: the model is not perfect at very high SNR
    err = np.hypot(err, 0.01 * np.abs(flux))
    rest = lam / (1.0 + redshift)
    resolving = resolving_power(lam, high_resolution)
    names, kinds, base, line_names, line_cols = _design(lam, rest, redshift, resolving)
    lines = np.column_stack(line_cols) if line_cols else np.zeros((lam.size, 0))
    w = 1.0 / err
    yw = flux * w
    linew = lines * w[:, None]
    basew = base * w[:, None]

    tau_names: list[str] = []
    # each silicate band is fitted when the spectrum reaches into it (its red wing is enough
    # to shape the continuum under other bands); its strength is reported only when its
    # peak is covered (measure.py)
    if rest.min() < 11.0 and rest.max() > 12.5:
        tau_names.append("tau_9p7")
    if rest.min() < 15.0 and rest.max() > 21.0:
        tau_names.append("tau_18")
    for name, (centre, fwhm) in ICE_BANDS.items():
        if _ice_ok(rest, centre, fwhm):
            tau_names.append(name)
    band97, band18 = silicate_bands(rest)
    profiles = {"tau_9p7": band97, "tau_18": band18}
    profiles.update({name: _gauss(rest, *ICE_BANDS[name]) for name in ICE_BANDS})
    tau_profiles = (np.array([profiles[n] for n in tau_names]) if tau_names
                    else np.zeros((0, lam.size)))

    # the lines are not attenuated and their fluxes are unbounded: they are projected out
    # once (variable projection), so each inner solve is a small NNLS on the continuum and
    # PAH columns orthogonal to the lines
    q = np.linalg.qr(linew)[0] if linew.shape[1] else np.zeros((lam.size, 0))

    def perp(m: np.ndarray) -> np.ndarray:
        return m - q @ (q.T @ m)

    yperp = perp(yw)

    def solve(taus: np.ndarray):
        a = basew * np.exp(-(taus @ tau_profiles))[:, None] if len(tau_names) else basew
        x, _ = nnls(perp(a), yperp, maxiter=20 * a.shape[1])
        return a, x

    def residuals(taus: np.ndarray) -> np.ndarray:
        a, x = solve(taus)
        return perp(a) @ x - yperp

    taus = np.zeros(len(tau_names))
    tau_err = np.zeros(len(tau_names))
    if tau_names:
        lo = [(_TAU_BOUNDS.get(n, _ICE_BOUNDS))[0] for n in tau_names]
        hi = [(_TAU_BOUNDS.get(n, _ICE_BOUNDS))[1] for n in tau_names]
        fit = least_squares(residuals, taus, bounds=(lo, hi), diff_step=1e-3, x_scale=0.3,
                            xtol=1e-4, ftol=1e-6, max_nfev=80)
        taus = fit.x
        jac = fit.jac
        dof = max(lam.size - len(tau_names), 1)
        scale = max(2.0 * fit.cost / dof, 1.0)
        try:
            tau_err = np.sqrt(np.diag(np.linalg.pinv(jac.T @ jac)) * scale)
        except np.linalg.LinAlgError:
            tau_err = np.full(len(tau_names), np.nan)
    a, x = solve(taus)
    n_line = lines.shape[1]
    # the line fluxes given the continuum and PAHs: least squares on what these leave
    line_x = np.linalg.lstsq(linew, yw - a @ x, rcond=None)[0] if n_line else np.zeros(0)
    params = np.concatenate([x, line_x])
    design = np.hstack([a, linew])
    resid = design @ params - yw
    dof = max(lam.size - np.count_nonzero(params) - len(tau_names), 1)
    chi2 = float(resid @ resid) / dof
    # covariance of the linear parameters: continuum columns that are zero stay out (they
    # sit on their bound), PAH and line columns are all kept, so an undetected band or line
    # still has its noise-based uncertainty; scaled by the reduced chi^2 when above 1
    keep = np.array([k != "continuum" or p > 0 for k, p in
                     zip(kinds + ["line"] * n_line, params, strict=True)])
    cov = np.zeros((params.size, params.size))
    sub = design[:, keep]
    cov_sub = np.linalg.pinv(sub.T @ sub, hermitian=True) * max(chi2, 1.0)
    cov[np.ix_(keep, keep)] = cov_sub
    return Decomposition(lam, rest, float(redshift), high_resolution,
                         names + line_names, kinds + ["line"] * n_line, params, cov,
                         dict(zip(tau_names, taus.tolist(), strict=True)),
                         dict(zip(tau_names, tau_err.tolist(), strict=True)), chi2)
