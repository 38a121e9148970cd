"""The instrument model with along-slit profiles learned, as the reduction does, from
point sources the simulator renders through its true PSF (``pipeline.steps.profile``):
what unit tests of extraction on rendered images need instead of the nominal Gaussian."""

from __future__ import annotations

from functools import cache

import numpy as np

from pipeline.instrument import IRSModel, default_model
from pipeline.simulate.detector import SlitPlacement, render_signal
from pipeline.simulate.observe import SkySource
from pipeline.steps.profile import ProfileSample, learn_profile
from tests.flat_spectrum import Flat


def render_point(module, subslit: str, level_jy: float = 1.0, nod: int = 1,
                 along_shift_arcsec: float = 0.0):
    """Noiseless image of a flat-spectrum point source at a nod position (shifted along
    the slit) and its along-slit position in pixels."""
    sub = module.subslits[subslit]
    along = (sub.nod_fraction[nod] - 0.5) * module.slit_length_arcsec + along_shift_arcsec
    source = SkySource(0.0, 0.0, Flat(level_jy), 0.0, "target")
    image = render_signal(module, {subslit: [SlitPlacement(source, along, 0.0)]}, 0.0, 0.0)
    centre = module.fraction_to_slit_px(sub.nod_fraction[nod]) + along_shift_arcsec / (
        module.plate_scale_arcsec)
    return image, float(centre)


@cache
def learned_instrument() -> IRSModel:
    """Every module with a profile learned from 8 rendered standards (both nods of each
    sub-slit, pointing offsets of up to 0.4 pixel along the slit), as a campaign gives."""
    irs = default_model()
    profiles = {}
    for module in irs.modules.values():
        rng = np.random.default_rng(11)
        samples = []
        per_subslit = 8 // (2 * len(module.subslits))
        for subslit in module.subslits:
            for nod in (1, 2):
                for shift_px in rng.uniform(-0.4, 0.4, per_subslit):
                    image, centre = render_point(module, subslit, 1.0, nod,
                                                 shift_px * module.plate_scale_arcsec)
                    unc = np.full_like(image, 1e-3 * np.nanmax(image))
                    samples += [ProfileSample(o, image, unc, centre, module.resolution == "HR")
                                for o in module.orders_in(subslit)]
        profiles[module.name] = learn_profile(module, samples)
    return irs.with_profiles(profiles)
