"""The one FITS header reader (pipeline/fits_header.py) shared by the products, the raw
exposures and their header scan: FITS 4.0 sec. 4 rules, checked against astropy."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from pipeline.exposures import read_image
from pipeline.fits_header import (
    FitsHeaderError,
    header_value,
    read_cards,
    read_header,
    read_header_bytes,
)
from pipeline.grouping import scan_raw

QUOTED_SLASH = {"OBJECT": "NGC 1068 / M77", "BUNIT": "e-/s", "FILENAME": "r1/ch0/bcd/x"}


def _image_file(path, extra: dict) -> np.ndarray:
    data = np.arange(128 * 128, dtype=">f4").reshape(128, 128)
    hdu = fits.PrimaryHDU(data)
    for key, value in extra.items():
        hdu.header[key] = (value, "a comment / with a slash")
    hdu.writeto(path)
    return data


def test_quoted_slash_is_part_of_the_value(tmp_path) -> None:
    """FITS 4.0 sec. 4.2.1: a '/' inside a quoted string is not a comment separator."""
    path = tmp_path / "x.fits"
    _image_file(path, QUOTED_SLASH)
    expected = fits.getheader(path)  # astropy as the reference reader
    values, offset = read_header(path)
    for key, value in QUOTED_SLASH.items():
        assert expected[key] == value
        assert values[key] == value
    assert offset == len(fits.getheader(path).tostring())
    assert read_header_bytes(path.read_bytes())[0]["OBJECT"] == "NGC 1068 / M77"


def test_raw_exposure_header_and_image_through_the_shared_reader(tmp_path) -> None:
    """The exposure reader reads the image whose header has quoted '/' values, and the
    header scan reports the full object name."""
    raw = tmp_path / "raw"
    raw.mkdir()
    path = raw / "SPITZER_S0_1234_0001_1_bcd.fits"
    data = _image_file(path, {**QUOTED_SLASH, "AORKEY": 1234, "CHNLNUM": 0, "FOVID": 26,
                              "RA_RQST": 10.0, "DEC_RQST": 20.0, "EXPID": 1})
    assert np.array_equal(read_image(path), data.astype(float))
    dces, problems = scan_raw(raw)
    assert not problems
    assert dces[0].object_name == "NGC 1068 / M77"


@pytest.mark.parametrize(("text", "value"), [
    ("'O''Brien / x' / comment", "O'Brien / x"), ("T / yes", True), ("-3 / n", -3),
    ("1.5D2", 150.0), ("'  lead'", "  lead"), ("''", "")])
def test_header_values(text, value) -> None:
    """Strings (doubled quotes, leading blanks kept), logicals, integers, D exponents."""
    assert header_value(text) == value
    assert type(header_value(text)) is type(value)


def test_strict_values_and_truncation() -> None:
    with pytest.raises(FitsHeaderError):
        header_value("'unterminated", strict=True)
    with pytest.raises(FitsHeaderError):
        header_value("not-a-value", strict=True)
    assert header_value("not-a-value") == "not-a-value"
    head = ("SIMPLE  =                    T" .ljust(80) * 36).encode()
    with pytest.raises(FitsHeaderError, match="END"):
        read_cards(head)


def test_looking_up_some_keys_gives_what_reading_all_cards_gives(tmp_path) -> None:
    path = tmp_path / "x.fits"
    _image_file(path, {**QUOTED_SLASH, "XEND": "END  in a value", "BZERO": 0})
    raw = path.read_bytes()
    every, offset = read_cards(raw)
    some, same_offset = read_cards(raw, keys=("OBJECT", "BZERO", "NAXIS2", "ABSENT"))
    assert offset == same_offset == len(fits.getheader(path).tostring())
    assert some == {k: every[k] for k in ("OBJECT", "BZERO", "NAXIS2")}
    with pytest.raises(FitsHeaderError):
        read_cards(raw[:offset - 2880])
