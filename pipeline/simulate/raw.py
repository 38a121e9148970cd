"""Writing one simulated AOR as the SSC archive holds it, and its truth record.

Files: ``r<AORKEY>/ch<N>/bcd/SPITZER_S<N>_<AORKEY>_<EXPID>_<DCE>_7_{bcd,func,bmask}.fits``
per DCE, with headers that follow a real S18.18 BCD header (``bcd_header``); the truth
record (returned, written by the caller under ``truth/``) describes the sources, the
requested and true positions, and for every exposure its pointing error and where each
source fell in each sub-slit.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from pipeline.instrument import Module, default_model
from pipeline.instrument.astrometry import (
    focal_to_sky_offset,
    offset_position,
    position_angle_deg,
    sky_offset,
)

from . import true_instrument as true
from .bcd_header import ExposureInfo, bcd_header_string
from .detector import aim_point, exposure_signal, place_sources, render_exposure
from .feature_truth import feature_truth
from .naming import aor_directory, bcd_filename
from .observe import AORPlan, Exposure

__all__ = ["exposure_geometry", "write_aor"]

log = logging.getLogger(__name__)


def _sky_of(module: Module, exposure: Exposure, plan: AORPlan, focal: np.ndarray):
    """Sky position of a focal-plane point during an exposure."""
    pointing = plan.pointings[exposure.pointing]
    # the requested position lands on the aim point (nod position + pointing error)
    rel = focal - aim_point(module, exposure)
    xi, eta = focal_to_sky_offset(rel[0], rel[1], plan.roll_deg)
    ra, dec = offset_position(pointing.ra_rqst_deg, pointing.dec_rqst_deg, xi, eta)
    return float(ra), float(dec)


def exposure_geometry(module: Module, exposure: Exposure, plan: AORPlan) -> dict:
    """Header pointing keywords of an exposure: slit centres and position angles."""
    sub = module.subslits[exposure.subslit]
    ra_slt, dec_slt = _sky_of(module, exposure, plan, sub.centre_arcsec)
    pa_slt = position_angle_deg(sub.axis[0], sub.axis[1], plan.roll_deg)
    others = [s for s in module.subslits.values() if s.name != sub.name]
    geometry = {
        "ra_slt": ra_slt, "dec_slt": dec_slt, "pa_slt": pa_slt,
        "ra_xslt": None, "dec_xslt": None,
    }
    if others:
        geometry["ra_xslt"], geometry["dec_xslt"] = _sky_of(
            module, exposure, plan, others[0].centre_arcsec)
    fov = sub.centre_arcsec + (sub.nod_fraction[exposure.nod] - 0.5) * (
        module.slit_length_arcsec * sub.axis)
    geometry["ra_fov"], geometry["dec_fov"] = _sky_of(module, exposure, plan, fov)
    return geometry


def _write_image(path: Path, header: str, data: np.ndarray) -> None:
    """Write a primary-HDU FITS image from a complete header block (FITS 4.0 sec. 3.3).

    astropy's writer costs ~10 ms per 128 x 128 file; this costs ~0.1 ms. The header block
    comes from ``bcd_header_string`` (BITPIX/NAXIS matching the data, END, 2880-padded);
    the data are written big-endian and zero-padded to a 2880-byte boundary.
    """
    payload = data.astype(data.dtype.newbyteorder(">"), copy=False).tobytes()
    padding = b"\0" * (-len(payload) % 2880)
    path.write_bytes(header.encode("ascii") + payload + padding)


def _fluxcon(module: Module) -> dict[int, float]:
    return {o.number: o.fluxcon for o in module.orders}


def write_aor(plan: AORPlan, root: Path, seed: int) -> tuple[int, dict]:
    """Simulate and write every DCE of an AOR under ``root``; returns (files, truth)."""
    irs = default_model()
    root = Path(root)
    n_files = 0
    exposures_truth = []
    zodi_lat = {p.index: true.ecliptic_latitude_at(p.ra_rqst_deg, p.dec_rqst_deg)
                for p in plan.pointings}
    last: tuple = (None, None, None)  # (module, EXPID) -> placements and signal
    for exposure in plan.exposures:
        module = irs.module(exposure.module)
        pointing = plan.pointings[exposure.pointing]
        rng = np.random.default_rng([seed, plan.aorkey, exposure.expid, exposure.dcenum])
        if last[0] != (exposure.module, exposure.expid):
            # the DCEs of one EXPID share their pointing: one rendering serves them all
            placements = place_sources(module, exposure, plan)
            signal = exposure_signal(module, exposure, plan, placements,
                                     zodi_lat[pointing.index], seed)
            last = ((exposure.module, exposure.expid), placements, signal)
        _, placements, signal = last
        bcd, unc, mask = render_exposure(module, exposure, plan, placements,
                                         zodi_lat[pointing.index], seed, rng, signal)
        geometry = exposure_geometry(module, exposure, plan)
        sub = module.subslits[exposure.subslit]
        info = ExposureInfo(
            chnlnum=module.chnlnum,
            aorkey=plan.aorkey,
            expid=exposure.expid,
            dcenum=exposure.dcenum,
            fovid=sub.fov_ids[exposure.nod],
            fovname=sub.fov_names[exposure.nod],
            # each pointing of a cluster AOR its own target name (real cluster headers do:
            # cassis_yaaar_full_27551744_1.fits, pointing 1, OBJECT names its position)
            object_name=pointing.target.object_name,
            objtype=plan.objtype,
            exptype=plan.exptype,
            progid=plan.progid,
            aorlabel=plan.aorlabel,
            campaign=plan.campaign,
            cal_set=plan.cal_set,
            mjd_obs=exposure.mjd_obs,
            ramptime_s=exposure.ramptime_s,
            n_dce_commanded=exposure.n_dce,
            ra_rqst=pointing.ra_rqst_deg,
            dec_rqst=pointing.dec_rqst_deg,
            pa_rqst=(plan.roll_deg + 90.0) % 360.0,  # PA of axis 2 (irs.md 1.3)
            ra_slt=geometry["ra_slt"],
            dec_slt=geometry["dec_slt"],
            pa_slt=geometry["pa_slt"],
            ra_xslt=geometry["ra_xslt"],
            dec_xslt=geometry["dec_xslt"],
            ra_fov=geometry["ra_fov"],
            dec_fov=geometry["dec_fov"],
            fluxcon=_fluxcon(module),
            fluxcon_error=124.5,
            pointing=pointing.index,
            simulated=True,
            zody_est=true.zody_est_mjy_sr(module.name, module.chnlnum, plan.aorkey,
                                          zodi_lat[pointing.index], plan.zodi_scale),
        )
        directory = root / aor_directory(plan.aorkey, module.chnlnum)
        directory.mkdir(parents=True, exist_ok=True)
        names = {}
        for kind, data in (("bcd", bcd), ("func", unc), ("bmask", mask)):
            name = bcd_filename(module.chnlnum, plan.aorkey, exposure.expid,
                                exposure.dcenum, kind)
            _write_image(directory / name, bcd_header_string(info, kind), data)
            names[kind] = name
            n_files += 1
        exposures_truth.append({
            "files": names,
            "module": exposure.module,
            "subslit": exposure.subslit,
            "nod": exposure.nod,
            "expid": exposure.expid,
            "dcenum": exposure.dcenum,
            "pointing": exposure.pointing,
            "pointing_error_arcsec": list(exposure.pointing_error_arcsec),
            "sources_in_slits": {
                name: [{"role": p.source.role, "along_arcsec": round(p.along_arcsec, 3),
                        "cross_arcsec": round(p.cross_arcsec, 3),
                        "fraction": round(0.5 + p.along_arcsec / module.slit_length_arcsec, 4)}
                       for p in places]
                for name, places in placements.items() if places
            },
        })
    return n_files, aor_truth(plan, exposures_truth, seed)


def _zodi_truth(plan: AORPlan) -> dict:
    """The zodiacal light as rendered, and the ZODY_EST each module's headers carry."""
    temperature = true.zodi_temperature_k(plan.aorkey)
    irs = default_model()
    per_pointing = []
    for p in plan.pointings:
        beta = true.ecliptic_latitude_at(p.ra_rqst_deg, p.dec_rqst_deg)
        modules = {}
        for setup in plan.setups:
            module = irs.module(setup.module)
            lam = true.ZODY_REFERENCE_UM[module.name]
            modules[module.name] = {
                "reference_um": lam,
                "rendered_mjy_sr": true.zodi_at_mjy_sr(lam, beta, plan.zodi_scale,
                                                       temperature),
                "zody_est_mjy_sr": true.zody_est_mjy_sr(module.name, module.chnlnum,
                                                        plan.aorkey, beta, plan.zodi_scale)}
        per_pointing.append({"ecliptic_lat_deg": beta, "modules": modules})
    return {"temperature_k": temperature, "scale": plan.zodi_scale,
            "pointings": per_pointing}


def _neighbour_truth(p, neighbour) -> dict:
    xi, eta = sky_offset(p.source.ra_deg, p.source.dec_deg, neighbour.ra_deg,
                                    neighbour.dec_deg)
    return {**neighbour.to_dict(), "separation_arcsec": float(np.hypot(xi, eta)),
            "flux_ratio_15um": neighbour.spectrum.flux_15um_jy / p.source.spectrum.flux_15um_jy}


def aor_truth(plan: AORPlan, exposures: list[dict], seed: int | None = None) -> dict:
    """The JSON-serialisable truth record of an AOR (``seed``: the run's; None leaves the
    wavelength zero-point offsets of the plan's instrument out)."""
    irs = default_model()
    offsets = {} if seed is None else {
        s.module: true.wavelength_offset_px(irs.module(s.module).chnlnum, plan.campaign,
                                            plan.instrument) for s in plan.setups}
    return {
        "aorkey": plan.aorkey,
        "object_name": plan.object_name,
        "objtype": plan.objtype,
        "standard": plan.standard,
        "roll_deg": plan.roll_deg,
        "zodi_scale": plan.zodi_scale,
        "campaign": plan.campaign,
        "irs_campaign": plan.irs_campaign,
        "cal_set": plan.cal_set,
        "instrument": plan.instrument,
        "wavelength_offset_px": offsets,
        "zodi": _zodi_truth(plan),
        "setups": [{"module": s.module, "ramptime_s": s.ramptime_s, "cycles": s.cycles}
                   for s in plan.setups],
        "pointings": [
            {
                "cj_id": p.cj_id,
                "ra_rqst_deg": p.ra_rqst_deg,
                "dec_rqst_deg": p.dec_rqst_deg,
                # the target's spectrum is the source's (written once, under "source")
                "target": {k: v for k, v in p.target.to_dict().items() if k != "spectrum"},
                "source": p.source.to_dict(),
                "flux_15um_jy": p.source.spectrum.flux_15um_jy,
                # what a feature measurer should find on the source's spectrum
                "features": feature_truth(p.source.spectrum),
                "contaminants": [c.to_dict() for c in p.contaminants],
                "contaminated": list(p.contaminated),
                "neighbours": [_neighbour_truth(p, n) for n in p.neighbours],
            }
            for p in plan.pointings
        ],
        "exposures": exposures,
    }
