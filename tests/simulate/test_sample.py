"""The sky sample: real IRS targets, name classification, synthetic layout."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from pipeline.simulate.sample import (
    N_REAL_TARGETS,
    SYNTHETIC_AORKEY_START,
    Target,
    classify_name,
    real_targets,
    sky_sample,
)
from pipeline.simulate.sky import SPECTRAL_CLASSES

SIM_NAME = re.compile(r"^SIM J(\d\d)(\d\d)(\d\d\.\d\d)([+-])(\d\d)(\d\d)(\d\d\.\d)$")


@pytest.fixture(scope="module")
def big_sample() -> list[Target]:
    return sky_sample(20400, 7)


def test_real_target_list_ships_with_the_package():
    rows = real_targets()
    assert len(rows) == N_REAL_TARGETS == 11081
    keys = [row[0] for row in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert min(keys) == 3539200 and max(keys) == 35195648
    assert (10019584, "HD 173511", 280.41377, 61.546739) in rows


def test_subset_is_deterministic_sorted_and_real():
    a = sky_sample(300, 5)
    assert a == sky_sample(300, 5)
    assert a != sky_sample(300, 6)
    assert len(a) == 300
    keys = [t.aorkey for t in a]
    assert keys == sorted(keys) and len(set(keys)) == 300
    real = {row[0] for row in real_targets()}
    assert all(t.is_real_target and t.aorkey in real for t in a)
    assert all(t.spectral_class in SPECTRAL_CLASSES for t in a)


def test_all_real_targets_at_the_catalogue_size():
    sample = sky_sample(N_REAL_TARGETS, 1)
    assert len(sample) == N_REAL_TARGETS and all(t.is_real_target for t in sample)


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_count_is_rejected(bad):
    with pytest.raises(ValueError, match="positive integer"):
        sky_sample(bad, 1)


@pytest.mark.parametrize("name, expected", [
    ("HD 173511", "standard_star"),
    ("HR 7341", "standard_star"),
    ("ksi Dra_1", "standard_star"),
    ("eta1 Dor", "standard_star"),
    ("NGC 7027", "planetary_nebula"),
    ("PN_G334.8-07.4", "planetary_nebula"),
    ("PG 1011-040", "agn"),
    ("3C321", "agn"),
    ("Mrk231", "agn"),
    ("L1014 IRS", "embedded_yso"),
    ("HH 46 IRS", "embedded_yso"),
    ("ISOY J053524.30-050830.8", "embedded_yso"),
    ("CRBR 2422.8-3423", "embedded_yso"),
    ("DG Tau", "embedded_yso"),
    ("LkHa 270", "embedded_yso"),
    ("G79.29+0.46", "hii_region"),
    ("Sh2-106", "hii_region"),
    ("N160A2", "hii_region"),
    ("Pluto_1", "stellar_photosphere"),
])
def test_names_that_tell_their_class(name, expected):
    for seed in range(5):
        assert classify_name(name, np.random.default_rng(seed)) == expected


@pytest.mark.parametrize("name, allowed", [
    ("HD 99754", {"stellar_photosphere", "dusty_evolved_star"}),
    ("alp01 lib", {"stellar_photosphere", "dusty_evolved_star"}),
    ("NGC 1097", {"pah_galaxy", "agn"}),
    ("IRAS F01122-7306", {"pah_galaxy", "agn"}),
    ("MSX LMC 1795", {"hii_region", "dusty_evolved_star"}),
])
def test_names_with_a_class_family(name, allowed):
    seen = {classify_name(name, np.random.default_rng(seed)) for seed in range(40)}
    assert seen == allowed


def test_uninformative_names_draw_like_the_atlas():
    rng = np.random.default_rng(0)
    drawn = [classify_name("", rng) for _ in range(4000)]
    assert classify_name("Target 13", np.random.default_rng(1)) in SPECTRAL_CLASSES
    stars = np.mean([c in ("stellar_photosphere", "dusty_evolved_star") for c in drawn])
    galaxies = np.mean([c in ("pah_galaxy", "agn") for c in drawn])
    assert 0.3 < stars < 0.4 and 0.25 < galaxies < 0.35
    assert 0.12 < np.mean([c == "embedded_yso" for c in drawn]) < 0.18


def test_extent_rules(big_sample):
    """The class follows the intrinsic FWHM with the atlas's documented limits (select.py
    docstring: point below 2.5", extended above 40"); point-like classes stay points."""
    for t in big_sample:
        if t.fwhm_arcsec < 2.5:
            assert t.extent == "point"
        elif t.fwhm_arcsec > 40.0:
            assert t.extent == "extended"
        else:
            assert t.extent == "partial"
        if t.spectral_class in ("stellar_photosphere", "standard_star", "dusty_evolved_star",
                                "agn", "embedded_yso"):
            assert t.fwhm_arcsec == 0.0 and t.morphology.shape == "point"
        if t.spectral_class in ("hii_region", "planetary_nebula"):
            assert t.morphology.shape != "point" and t.fwhm_arcsec > 0.0
    extents = {t.extent for t in big_sample if t.spectral_class == "pah_galaxy"}
    assert extents == {"point", "partial", "extended"}


def test_sizes_cover_0_to_300_arcsec_continuously(big_sample):
    resolved = np.array([t.fwhm_arcsec for t in big_sample if t.morphology.shape != "point"])
    assert len(resolved) > 2000
    assert resolved.min() < 0.7 and 200.0 < resolved.max() < 310.0
    # log-uniform-ish: every decade between 1" and 100" is populated, many compact
    counts, _ = np.histogram(np.log10(resolved), bins=[0, 1, 2, 2.5])
    assert np.all(counts > 0.05 * len(resolved))
    assert np.mean(resolved < 2.5) > 0.1
    # no gap around the class limits (the old samples had none within 20-60")
    for limit in (2.5, 40.0):
        assert np.sum(np.abs(resolved / limit - 1.0) < 0.1) > 10


def test_resolved_shapes_are_drawn_with_their_documented_shares(big_sample):
    shapes = [t.morphology.shape for t in big_sample if t.morphology.shape != "point"]
    share = {s: shapes.count(s) / len(shapes) for s in set(shapes)}
    assert set(share) == {"gaussian", "exponential", "core_halo"}
    assert share["gaussian"] == pytest.approx(0.40, abs=0.04)
    assert share["exponential"] == pytest.approx(0.35, abs=0.04)
    assert share["core_halo"] == pytest.approx(0.25, abs=0.04)
    for t in big_sample:
        if t.morphology.shape == "core_halo":
            core, halo = t.morphology.components
            assert core.fwhm_arcsec < 0.31 * halo.fwhm_arcsec
            assert 0.2 <= core.fraction <= 0.7


def test_a_target_round_trips_through_its_dictionary(big_sample):
    target = next(t for t in big_sample if t.morphology.shape == "core_halo")
    assert Target.from_dict(json.loads(json.dumps(target.to_dict()))) == target


def test_big_sample_counts_and_keys(big_sample):
    assert len(big_sample) == 20400
    keys = [t.aorkey for t in big_sample]
    assert keys == sorted(keys) and len(set(keys)) == 20400
    real = [t for t in big_sample if t.is_real_target]
    synthetic = [t for t in big_sample if not t.is_real_target]
    assert len(real) == N_REAL_TARGETS
    assert all(t.aorkey >= SYNTHETIC_AORKEY_START for t in synthetic)
    assert all(t.program_id > 0 for t in big_sample)
    assert len({t.program_id for t in synthetic}) > 100
    classes = {t.spectral_class for t in big_sample}
    assert classes == set(SPECTRAL_CLASSES)


def test_synthetic_names_encode_the_position(big_sample):
    for t in big_sample[-300:]:
        match = SIM_NAME.match(t.object_name)
        assert match, t.object_name
        hh, mm, ss, sign, dd, am, asec = match.groups()
        ra = 15.0 * (int(hh) + int(mm) / 60 + float(ss) / 3600)
        dec = (int(dd) + int(am) / 60 + float(asec) / 3600) * (-1 if sign == "-" else 1)
        assert abs(ra - t.ra_deg) * np.cos(np.radians(t.dec_deg)) < 0.2 / 3600
        assert abs(dec - t.dec_deg) < 0.2 / 3600


def test_synthetic_layout_follows_the_irs_targets(big_sample):
    synthetic = [t for t in big_sample if not t.is_real_target]
    coords = SkyCoord([t.ra_deg for t in synthetic] * u.deg,
                      [t.dec_deg for t in synthetic] * u.deg)
    assert np.all((coords.dec.deg >= -90.0) & (coords.dec.deg <= 90.0))
    b = coords.galactic.b.deg
    plane = np.abs(b) < 5.0
    assert 0.2 < plane.mean() < 0.45
    inner = np.abs((coords.galactic.l.deg[plane] + 180.0) % 360.0 - 180.0) < 60.0
    assert inner.mean() > 0.5
    lmc = coords.separation(SkyCoord(80.9 * u.deg, -69.75 * u.deg)).deg < 5.0
    smc = coords.separation(SkyCoord(13.2 * u.deg, -72.8 * u.deg)).deg < 3.0
    assert lmc.mean() > 0.03 and smc.mean() > 0.01
    high = np.abs(b) > 30.0
    assert high.mean() > 0.25
    galaxies = [t for t in synthetic if t.spectral_class in ("pah_galaxy", "agn")]
    assert np.median([t.spectrum.redshift for t in galaxies]) < 0.1


def test_target_round_trip(big_sample):
    for t in big_sample[::997]:
        again = Target.from_dict(json.loads(json.dumps(t.to_dict())))
        assert again == t
