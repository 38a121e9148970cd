"""Tests of the pipeline product format (pipeline/products.py)."""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import pipeline.products.layout as products_layout
from pipeline.products import (
    BACKGROUNDS,
    CALIBRATIONS,
    EXTRACTIONS,
    NODS,
    Product,
    ProductError,
    Provenance,
    Selection,
    Spectrum,
    clean_temporaries,
    format_cj_id,
    is_complete,
    list_products,
    parse_cj_id,
    parse_variant_key,
    product_path,
    read_product,
    validate_product,
    variant_key,
    write_product,
)

LR_OPT = "LR/optimal/bynod/common/point"
LR_TAP = "LR/tapered/byorder/interleaved/partial"
HR_OPT = "HR/optimal/diff/diff/point"
HR_FULL = "HR/fullap/none/nodcomb/extended"


def lr_spectrum(key: str, rng: np.random.Generator, **kwargs) -> Spectrum:
    # SL1 then SL3 overlapping it (bonus order): wavelengths increase within each segment.
    wave = np.concatenate([np.linspace(7.6, 14.0, 40), np.linspace(7.4, 8.5, 10),
                           np.linspace(14.1, 20.5, 30)])
    segment = np.array(["SL1"] * 40 + ["SL3"] * 10 + ["LL2"] * 30)
    flux = rng.normal(1.0, 0.1, wave.size)
    flux[3] = np.nan
    flux[4] = -0.0
    return Spectrum.from_key(key, wave, flux, np.abs(flux) * 0.05, segment,
                             rng.integers(0, 2**31 - 1, wave.size), **kwargs)


def hr_spectrum(key: str, rng: np.random.Generator, **kwargs) -> Spectrum:
    wave = np.concatenate([np.linspace(10.0 + k, 10.9 + k, 25) for k in range(3)])
    segment = np.repeat(["SH20", "SH19", "LH11"], 25)
    return Spectrum.from_key(key, wave, rng.normal(size=wave.size),
                             rng.uniform(size=wave.size), segment, None, **kwargs)


def make_product(cj_id: str = "12345678_0", **changes) -> Product:
    rng = np.random.default_rng(7)
    spectra = (
        lr_spectrum(LR_OPT, rng, selected=True, snr=35.2, scale_factors={"SL3": 1.0312}),
        lr_spectrum(LR_TAP, rng, snr=float("nan")),
        hr_spectrum(HR_OPT, rng, selected=True, snr=12.0,
                    scale_factors={"SH20": 0.97, "LH11": 1.0 + 1e-15}),
        hr_spectrum(HR_FULL, rng),
    )
    aorkey, pointing = parse_cj_id(cj_id)
    fields = dict(
        cj_id=cj_id, aorkey=aorkey, pointing=pointing, object_name="ρ Oph 'A' \"core\"",
        ra_deg=246.7951234567891, dec_deg=-24.5710000000001, ra_rqst_deg=246.795,
        dec_rqst_deg=-24.571, simulated=True,
        provenance=Provenance("cassisjuice-vo", "0.1.0",
                              (("clean", "COMPLETE"), ("defringe", "SKIPPED")),
                              "S18.18-sim", "2024-05-01T12:00:00.123"),
        selection={"LR": Selection(LR_OPT, ("point-like (extent 0.4)", "best S/N")),
                   "HR": Selection(HR_OPT, "differential optimal is the default")},
        metadata={"extent": 0.412345678901234, "snr": {"LR": 35.2, "HR": 12.0},
                  "detected": True, "lines": ["[NeII]", "H2 S(1)"], "count": 3,
                  "note": None, "long_text": "x" * 300},
        spectra=spectra,
    )
    fields.update(changes)
    return Product(**fields)


def assert_bit_identical(a: Spectrum, b: Spectrum) -> None:
    for name in ("wavelength_um", "flux_jy", "flux_error_jy", "flag"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.dtype.isnative
        assert x.tobytes() == y.tobytes(), name
    assert a.segment.tolist() == b.segment.tolist()


# ----------------------------------------------------------------------------- round trip

def test_round_trip_is_exact(tmp_path: Path) -> None:
    product = make_product()
    path = write_product(product, tmp_path)
    assert path == tmp_path / "12345678_0.fits" == product_path(tmp_path, "12345678_0")
    back = read_product(path)
    assert back == product
    for a, b in zip(product.spectra, back.spectra, strict=True):
        assert_bit_identical(a, b)
        assert a.scale_factors == b.scale_factors
    assert back.metadata == product.metadata
    assert back.provenance == product.provenance
    assert back.selection == product.selection
    assert back.object_name == product.object_name
    assert np.isnan(back.variant(LR_TAP).snr)
    assert not back.spectra[0].flux_jy.flags.writeable


def test_staged_writes_are_the_same_file_without_a_temporary(tmp_path: Path) -> None:
    """``atomic=False`` (a staging directory renamed as a whole) writes the same bytes."""
    product = make_product()
    staged = write_product(product, tmp_path / "staged", atomic=False)
    final = write_product(product, tmp_path / "final", fsync=False)
    assert staged.read_bytes() == final.read_bytes()
    assert [p.name for p in (tmp_path / "staged").iterdir()] == [staged.name]


def test_round_trip_accepts_big_endian_and_nan_measured_position(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = lr_spectrum(LR_OPT, rng, selected=True)
    spectrum = replace(base, wavelength_um=base.wavelength_um.astype(">f8"))
    product = make_product(ra_deg=float("nan"), dec_deg=float("nan"), spectra=(spectrum,),
                           selection={"LR": Selection(LR_OPT)}, metadata={})
    back = read_product(write_product(product, tmp_path))
    assert np.isnan(back.ra_deg) and np.isnan(back.dec_deg)
    assert_bit_identical(back.spectra[0], base)


def test_product_without_spectra_round_trips(tmp_path: Path) -> None:
    product = make_product(spectra=(), selection={"LR": Selection(None, ("no LR data",))})
    back = read_product(write_product(product, tmp_path))
    assert back == product and back.arms == ()


def test_files_are_standard_fits(tmp_path: Path) -> None:
    product = make_product()
    path = write_product(product, tmp_path)
    with fits.open(path) as hdul:
        hdul.verify("exception")
        assert [h.name for h in hdul] == ["PRIMARY", "SPECTRA", "VARIANTS", "SCALES", "META"]
        head = hdul[0].header
        assert head["CJPRODV"] == 1 and head["CJ_ID"] == "12345678_0"
        assert head["AORKEY"] == 12345678 and head["POINTING"] == 0
        assert head["SIMULATE"] is True and head["RADESYS"] == "ICRS"
        assert head["RA"] == pytest.approx(product.ra_deg)
        assert head["SEL_LR"] == LR_OPT and head["STAT002"] == "SKIPPED"
        assert head["CJ META EXTENT"] == pytest.approx(0.412345678901234)
        spectra = hdul["SPECTRA"]
        assert spectra.columns["wavelength"].unit == "um"
        assert spectra.columns["flux"].unit == "Jy"
        assert spectra.columns["flux_error"].unit == "Jy"
        rows = spectra.data
        first = rows[rows["variant"] == 0]
        np.testing.assert_array_equal(first["wavelength"], product.spectra[0].wavelength_um)
        assert list(first["segment"][:1]) == ["SL1"]
        variants = hdul["VARIANTS"].data
        assert list(variants["key"]) == [s.key for s in product.spectra]
        assert list(variants["selected"]) == [True, False, True, False]
        assert list(variants["n_points"]) == [80, 80, 75, 75]
        scales = hdul["SCALES"].data
        assert list(scales["segment"]) == ["SL3", "SH20", "LH11"]


def test_concentrate_keeps_only_selected(tmp_path: Path) -> None:
    product = make_product()
    conc = product.concentrate()
    assert [s.key for s in conc.spectra] == [LR_OPT, HR_OPT]
    assert all(s.selected for s in conc.spectra)
    assert read_product(write_product(conc, tmp_path)) == conc


def test_product_helpers() -> None:
    product = make_product()
    assert product.arms == ("LR", "HR")
    assert product.best("LR").key == LR_OPT and product.best("HR").key == HR_OPT
    assert product.variant(HR_FULL).extraction == "fullap"
    with pytest.raises(KeyError, match="12345678_0"):
        product.variant("LR/extended/none/common/extended")
    no_hr = make_product(spectra=product.spectra[:2], selection={"LR": product.selection["LR"]})
    assert no_hr.best("HR") is None and no_hr.arms == ("LR",)


def test_spectrum_coercions() -> None:
    spectrum = Spectrum.from_key(LR_OPT, [5.3, 5.4], [1, 2], [0.1, 0.1], "SL2")
    assert spectrum.segment.tolist() == ["SL2", "SL2"]
    assert spectrum.flag.dtype == np.int32 and spectrum.flag.tolist() == [0, 0]
    assert spectrum.flux_jy.dtype == np.float64 and spectrum.n_points == 2
    as_bytes = Spectrum.from_key(LR_OPT, [5.3, 5.4], [1, 2], [0.1, 0.1],
                                 np.array([b"SL2", b"SL2"]), np.array([1, 2], np.int64))
    assert as_bytes == replace(spectrum, flag=[1, 2])
    with pytest.raises(ProductError, match="int32"):
        Spectrum.from_key(LR_OPT, [5.3], [1], [0.1], "SL2", [2**40])
    with pytest.raises(ProductError, match="bool"):
        Spectrum.from_key(LR_OPT, [5.3], [1], [0.1], "SL2", selected="yes")
    with pytest.raises(ProductError, match="1-D"):
        Spectrum.from_key(LR_OPT, [[5.3]], [1], [0.1], "SL2")
    with pytest.raises(ValueError, match="read-only"):
        spectrum.flux_jy[0] = 3.0


# ----------------------------------------------------------------------------- atomicity

def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path, monkeypatch) -> None:
    path = write_product(make_product(), tmp_path)
    before = path.read_bytes()

    def broken(fh, chunks):
        fh.write(chunks[0])
        fh.write(bytes(chunks[2])[:1000])
        raise OSError("disk full")

    monkeypatch.setattr(products_layout, "_write_chunks", broken)
    changed = make_product(object_name="changed")
    with pytest.raises(OSError, match="disk full"):
        write_product(changed, tmp_path)
    with pytest.raises(OSError, match="disk full"):
        write_product(make_product("87654321_3"), tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["12345678_0.fits"]
    monkeypatch.undo()
    assert read_product(write_product(changed, tmp_path)).object_name == "changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["12345678_0.fits"]


def test_interrupt_during_write_cleans_up(tmp_path, monkeypatch) -> None:
    def interrupted(fh, chunks):
        fh.write(chunks[0])
        raise KeyboardInterrupt

    monkeypatch.setattr(products_layout, "_write_chunks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_product(make_product(), tmp_path, fsync=False)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- validation

def _bad_products():
    good = make_product()
    lr, tap, hr, hr_full = good.spectra
    decreasing = replace(tap, wavelength_um=tap.wavelength_um[::-1].copy())
    nonfinite = replace(tap, wavelength_um=np.where(np.arange(80) == 5, np.inf,
                                                    tap.wavelength_um))
    split = replace(tap, segment=np.array(["SL1"] * 20 + ["LL2"] * 20 + ["SL1"] * 40))
    return {
        "bad ID": (replace(good, cj_id="123_0"), "CASSISjuice ID"),
        "aorkey mismatch": (replace(good, aorkey=1), "do not match the ID"),
        "unequal lengths": (replace(good, spectra=(lr, replace(tap, flux_jy=tap.flux_jy[:-1]),
                                                   hr, hr_full)), "unequal length"),
        "empty variant": (replace(good, spectra=(lr, replace(
            tap, wavelength_um=[], flux_jy=[], flux_error_jy=[], segment=[], flag=[]),
            hr, hr_full)), "empty"),
        "non-finite wavelength": (replace(good, spectra=(lr, nonfinite, hr, hr_full)),
                                  "non-finite wavelength"),
        "decreasing wavelength": (replace(good, spectra=(lr, decreasing, hr, hr_full)),
                                  "not strictly increasing"),
        "split segment": (replace(good, spectra=(lr, split, hr, hr_full)),
                          "not one contiguous block"),
        "unknown segment": (replace(good, spectra=(lr, replace(tap, segment=np.array(
            ["SL1"] * 40 + ["SH11"] * 10 + ["LL2"] * 30)), hr, hr_full)),
            "unknown LR segment 'SH11'"),
        "two selected": (replace(good, spectra=(lr, replace(tap, selected=True), hr,
                                                hr_full)), "two selected"),
        "selection without flag": (replace(good, spectra=(lr, tap, replace(hr, selected=False),
                                                          hr_full)), "selection says HR"),
        "flag without selection": (replace(good, selection={"LR": good.selection["LR"]}),
                                   "selected flags say"),
        "selection names another": (replace(good, selection={
            "LR": Selection(LR_TAP), "HR": good.selection["HR"]}), "selection says LR"),
        "duplicate variant": (replace(good, spectra=(lr, tap, hr, hr_full, tap)), "twice"),
        "key vs parts": (replace(good, spectra=(lr, replace(tap, nods="common"), hr, hr_full)),
                         "does not match its parts"),
        "unknown key part": (replace(good, spectra=(lr, replace(tap, key="LR/magic/bynod/"
                                                                "common/point"), hr, hr_full)),
                             "unknown LR extraction"),
        "bad scale segment": (replace(good, spectra=(lr, replace(
            tap, scale_factors={"LH11": 1.0}), hr, hr_full)), "bad scale factor"),
        "tuple metadata": (replace(good, metadata={"a": (1, 2)}), r"metadata\['a'\]"),
        "numpy metadata": (replace(good, metadata={"n": np.int64(3)}), "int64"),
        "int metadata key": (replace(good, metadata={1: 2}), "non-string key"),
        "bad step status": (replace(good, provenance=replace(
            good.provenance, steps=(("clean", "DONE"),))), "status of step 'clean'"),
        "bad date": (replace(good, provenance=replace(good.provenance, date="yesterday")),
                     "not ISO 8601"),
        "bad position": (replace(good, dec_rqst_deg=95.0), "not valid ICRS"),
        "bad selection arm": (replace(good, selection={**good.selection,
                                                       "MR": Selection(None)}),
                              "selection arm"),
    }


@pytest.mark.parametrize("case", sorted(_bad_products()))
def test_invalid_products_are_refused_and_nothing_written(tmp_path: Path, case: str) -> None:
    product, message = _bad_products()[case]
    with pytest.raises(ProductError, match=message) as info:
        write_product(product, tmp_path)
    if case != "bad ID":
        assert "12345678_0" in str(info.value)
    with pytest.raises(ProductError):
        validate_product(product)
    assert list(tmp_path.iterdir()) == []


def test_valid_product_passes_validation() -> None:
    validate_product(make_product())


# ----------------------------------------------------------------------------- corrupt files

def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="no such product file"):
        read_product(tmp_path / "12345678_0.fits")
    with pytest.raises(ProductError, match="cannot read"):
        read_product(tmp_path)


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.3, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path: Path, fraction: float) -> None:
    path = write_product(make_product(), tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(ProductError, match=str(path)):
        read_product(path)
    assert not is_complete(tmp_path, "12345678_0")


def test_random_bytes_and_garbled_content(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    path = tmp_path / "12345678_0.fits"
    path.write_bytes(rng.bytes(3 * 2880))
    with pytest.raises(ProductError, match="not a FITS file"):
        read_product(path)
    good = write_product(make_product(), tmp_path / "good").read_bytes()
    for _ in range(30):  # random damage anywhere must give ProductError or a valid product
        damaged = bytearray(good)
        for pos in rng.integers(0, len(good), 20):
            damaged[pos] = int(rng.integers(0, 256))
        path.write_bytes(bytes(damaged))
        with contextlib.suppress(ProductError):
            read_product(path)


def test_fits_that_is_not_a_product(tmp_path: Path) -> None:
    path = tmp_path / "12345678_0.fits"
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(path)
    with pytest.raises(ProductError, match="no CJPRODV"):
        read_product(path)
    header = fits.Header([("CJPRODV", 1)])
    table = fits.BinTableHDU.from_columns([fits.Column("x", "D", array=[1.0])], name="SPECTRA")
    fits.HDUList([fits.PrimaryHDU(header=header), table]).writeto(path, overwrite=True)
    with pytest.raises(ProductError, match=r"missing extension.*VARIANTS, SCALES, META"):
        read_product(path)


def test_unknown_format_version(tmp_path: Path) -> None:
    path = write_product(make_product(), tmp_path)
    data = path.read_bytes()
    old = b"CJPRODV =                    1"
    assert old in data
    path.write_bytes(data.replace(old, b"CJPRODV =                    2", 1))
    with pytest.raises(ProductError, match="unknown product format version 2"):
        read_product(path)


def test_astropy_rewrite_is_still_readable(tmp_path: Path) -> None:
    product = make_product()
    path = write_product(product, tmp_path)
    with fits.open(path) as hdul:
        hdul.writeto(tmp_path / "copy.fits", checksum=True)
    assert read_product(tmp_path / "copy.fits") == product


# ----------------------------------------------------------------------------- keys and IDs

def test_variant_key_round_trip_for_every_combination() -> None:
    for arm in ("LR", "HR"):
        for parts in itertools.product(BACKGROUNDS[arm], EXTRACTIONS[arm], NODS[arm],
                                       CALIBRATIONS[arm]):
            key = variant_key(arm, *parts)
            assert key.startswith(f"{arm}/") and key.count("/") == 4
            assert parse_variant_key(key) == (arm, *parts)
            assert variant_key(*parse_variant_key(key)) == key
    assert variant_key("LR", "bynod", "optimal", "common", "point") == LR_OPT
    assert parse_variant_key(HR_FULL).extraction == "fullap"


@pytest.mark.parametrize("parts, message", [
    (("MR", "none", "optimal", "nods", "point"), "unknown arm"),
    (("HR", "bynod", "optimal", "nods", "point"), "HR background 'bynod'"),
    (("LR", "bynod", "fullap", "common", "point"), "LR extraction 'fullap'"),
    (("LR", "bynod", "optimal", "nodcomb", "point"), "LR nod handling"),
    (("HR", "none", "optimal", "nods", "pointlike"), "HR calibration"),
])
def test_variant_key_rejects_unknown_parts(parts, message) -> None:
    with pytest.raises(ProductError, match=message):
        variant_key(*parts)


@pytest.mark.parametrize("key", ["LR/optimal/bynod/common", "LR/optimal/bynod/common/point/x",
                                 "lr/optimal/bynod/common/point", "", 42])
def test_parse_variant_key_rejects_malformed(key) -> None:
    with pytest.raises(ProductError):
        parse_variant_key(key)


def test_cj_ids() -> None:
    assert parse_cj_id("27551744_1") == (27551744, 1)
    assert format_cj_id(27551744, 12) == "27551744_12"
    for bad in ("123_0", "12345678", "12345678_1000", "12345678_-1", "x2345678_0", None):
        with pytest.raises(ProductError):
            parse_cj_id(bad)
    with pytest.raises(ProductError):
        product_path(".", "../etc/passwd")


# ----------------------------------------------------------------------------- directories

def test_list_products_ignores_temporary_and_foreign_files(tmp_path: Path) -> None:
    for cj_id in ("20000000_0", "9999_0", "20000000_10", "20000000_2"):
        write_product(make_product(cj_id), tmp_path, fsync=False)
    for name in (".20000000_3.123.abcdef01.fits.tmp", "README.fits", "123_0.fits",
                 "20000000_4.fits.tmp", "20000000_5.fit", "notes.txt"):
        (tmp_path / name).write_bytes(b"junk")
    (tmp_path / "20000000_7.fits").mkdir()
    assert list_products(tmp_path) == ["9999_0", "20000000_0", "20000000_2", "20000000_10"]
    assert is_complete(tmp_path, "20000000_2")
    assert not is_complete(tmp_path, "20000000_3")
    assert not is_complete(tmp_path, "20000000_7")
    with pytest.raises(ProductError, match="cannot list"):
        list_products(tmp_path / "missing")


def test_clean_temporaries(tmp_path: Path) -> None:
    old = tmp_path / ".20000000_3.123.abcdef01.fits.tmp"
    new = tmp_path / ".20000000_4.123.abcdef02.fits.tmp"
    other = tmp_path / "keep.tmp"
    for path in (old, new, other):
        path.write_bytes(b"partial")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert clean_temporaries(tmp_path) == 1
    assert not old.exists() and new.exists() and other.exists()
    assert clean_temporaries(tmp_path, min_age_s=0) == 1
    assert other.exists()
