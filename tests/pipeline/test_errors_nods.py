"""Errors that match the scatter, and spikes of one nod, on spectra whose noise is known."""

import numpy as np
import pytest

from pipeline.steps.errors import scatter_floor
from pipeline.steps.extract import Extraction
from pipeline.steps.nods import common_grid, interleave


def _smooth(n=300):
    lam = np.linspace(5.0, 14.0, n)
    return lam, 2.0 + 0.5 * np.sin(lam / 2.0)


@pytest.mark.parametrize("epsilon", [0.005, 0.01, 0.03])
def test_scatter_floor_recovers_a_fractional_noise(epsilon):
    rng = np.random.default_rng(5)
    lam, flux = _smooth()
    stat = np.full(len(lam), 0.002)  # SNR ~ 1000: the floor dominates
    noisy = flux * (1 + epsilon * rng.standard_normal(len(lam))) + stat * rng.standard_normal(
        len(lam))
    errors, found = scatter_floor(noisy, stat)
    assert found == pytest.approx(epsilon, rel=0.25)
    assert np.all(errors >= stat)
    # the corrected errors describe the scatter about the truth
    z = (noisy - flux) / errors
    assert 0.8 < 1.4826 * np.median(np.abs(z)) < 1.25


def test_scatter_floor_leaves_right_errors_alone():
    rng = np.random.default_rng(6)
    lam, flux = _smooth()
    stat = 0.05 * flux
    noisy = flux + stat * rng.standard_normal(len(lam))
    errors, found = scatter_floor(noisy, stat)
    assert found == 0.0 and np.array_equal(errors, stat)
    few, none = scatter_floor(noisy[:5], stat[:5])
    assert none == 0.0 and np.array_equal(few, stat[:5])


def _nod(lam, counts, error=0.01):
    n = len(lam)
    return Extraction("SL1", "optimal", lam, counts, np.full(n, error), np.arange(n))


def test_a_spike_in_one_nod_is_replaced_and_flagged():
    lam, flux = _smooth(100)
    rng = np.random.default_rng(7)
    a = flux + 0.01 * rng.standard_normal(100)
    b = flux + 0.01 * rng.standard_normal(100)
    a[40] += 3.0  # a cosmic ray in nod 1 only
    for combine in (common_grid, interleave):
        out = combine([_nod(lam, a), _nod(lam + 1e-4, b)])
        near = np.argmin(np.abs(out.wavelength_um - lam[40]))
        assert abs(out.counts[near] - flux[40]) < 0.1
        assert out.replaced is not None and out.replaced[near]
        assert out.replaced.sum() <= 2
    # a feature both nods see is kept
    a2, b2 = a.copy(), b.copy()
    a2[40] = b2[40] = flux[40] + 3.0
    out = common_grid([_nod(lam, a2), _nod(lam, b2)])
    assert out.counts[40] == pytest.approx(flux[40] + 3.0, abs=0.05)
    assert out.replaced is None or not out.replaced[40]
