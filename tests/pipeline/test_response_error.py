"""The response's uncertainty against a Monte Carlo of calibration campaigns: stars whose
true spectra depart from their templates (the same departure in every observation of a
star) observed several times each with noise; the reported uncertainty of the response's
level (``systematic_error``) must match the scatter of the responses about the truth, and
the per-point one (``fractional_error``) stays the smaller, per-observation part."""

from dataclasses import dataclass

import numpy as np
import pytest

from pipeline.steps.calibrate import derive_response
from pipeline.steps.extract import Extraction

LAM = np.linspace(8.0, 12.0, 40)


@dataclass(frozen=True)
class _Template:
    name: str

    def flux_jy(self, wavelength_um):
        return np.ones_like(np.asarray(wavelength_um, float))


def _campaign(rng, stars: int, visits: int, departure: float, noise: float) -> tuple:
    observations = []
    for k in range(stars):
        true = 1.0 + rng.normal(0.0, departure)  # the star against its template
        for _ in range(visits):
            counts = true * (1.0 + rng.normal(0.0, noise, len(LAM)))
            observations.append((Extraction("SL1", "tapered", LAM, counts,
                                            np.full(len(LAM), noise), np.arange(len(LAM))),
                                 _Template(f"star {k}")))
    return observations


def test_reported_error_matches_the_campaigns_scatter():
    rng = np.random.default_rng(20261206)
    errors, level, point = [], [], []
    for _ in range(300):
        response = derive_response(_campaign(rng, stars=6, visits=4, departure=0.02,
                                             noise=0.002), smooth=1)
        errors.append(float(np.median(response.counts_per_jy)) - 1.0)
        level.append(float(np.median(response.systematic_error)))
        point.append(float(np.median(response.fractional_error)))
    actual = float(np.std(errors))
    # 24 observations of 6 stars: the departures average down by sqrt(6) only
    assert 0.7 < float(np.median(level)) / actual < 1.4
    assert float(np.median(point)) == pytest.approx(float(np.median(level)) * np.sqrt(6 / 24),
                                                    rel=0.05)
