"""Spectrum serialisations read back by the clients' own libraries (clients.md sec. 6, 8)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from vo_service.spectra import (
    ServedSpectrum,
    SpectrumError,
    band_cutout,
    to_csv,
    to_fits,
    to_png,
    to_votable,
)

LAM = np.linspace(5.2, 14.5, 60)
SPEC = ServedSpectrum(
    "ivo://cassisjuice.invalid/cassisjuice?12345_0/LR", "CASSISjuice 12345_0 LR", "NGC 7000",
    10.0, 20.0, 54000.5, 3.6, 100.0, "cassisjuice-vo", True, LAM, 0.1 * LAM, 0.01 * LAM,
    np.array(["SL2"] * 20 + ["SL1"] * 40), np.zeros(60, int))


def test_fits_reads_in_specutils_with_units_and_uncertainty(tmp_path):
    specutils = pytest.importorskip("specutils")
    reader = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
    path = tmp_path / "s.fits"
    path.write_bytes(to_fits(SPEC))
    spectrum = reader.read(path)
    assert spectrum.spectral_axis.unit == u.um and spectrum.flux.unit == u.Jy
    assert np.allclose(spectrum.uncertainty.array, 0.01 * LAM)
    header = fits.getheader(path, 1)
    assert header["TUTYP1"] == "Spectrum.Data.SpectralAxis.Value"
    assert fits.getheader(path)["VOCLASS"] == "SPECTRUM 1.0"


def test_votable_reads_in_astropy_with_sdm_utypes():
    table = Table.read(io.BytesIO(to_votable(SPEC)), format="votable")
    assert table.colnames[:3] == ["wavelength", "flux", "error"]
    assert table["wavelength"].unit == u.um and table["flux"].unit == u.Jy
    assert b'utype="spec:Spectrum.Data.FluxAxis.Value"' in to_votable(SPEC)


def test_units_cutout_csv_and_preview():
    flam = SPEC.in_unit("W.m-2.um-1")
    expected = 0.1 * LAM * 1e-26 * 2.99792458e14 / LAM**2
    assert np.allclose(flam.flux, expected) and flam.flux_unit == "W.m-2.um-1"
    assert np.allclose(flam.in_unit("mJy").flux, 100 * LAM)
    with pytest.raises(SpectrumError, match="unknown flux unit"):
        SPEC.in_unit("furlong")
    cut = band_cutout(SPEC, 6e-6, 8e-6)
    assert cut.wavelength_um.min() >= 6 and cut.wavelength_um.max() <= 8
    with pytest.raises(SpectrumError, match="does not overlap"):
        band_cutout(SPEC, 20e-6, 30e-6)
    with pytest.raises(SpectrumError, match="exceeds"):
        band_cutout(SPEC, 8e-6, 6e-6)
    lines = to_csv(SPEC).decode().splitlines()
    assert lines[0] == "wavelength_um,flux_Jy,error_Jy,segment,flag" and len(lines) == 61
    assert to_png(SPEC).startswith(b"\x89PNG")


@pytest.mark.skipif(shutil.which("stilts") is None and not os.environ.get("CI"),
                    reason="stilts not installed (deploy/install-system-packages.sh)")
def test_votlint_accepts_the_spectrum(tmp_path):
    path = tmp_path / "s.vot"
    path.write_bytes(to_votable(SPEC.in_unit("mJy")))
    out = subprocess.run(["stilts", "votlint", f"votable={path}"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_segment_names_become_fits_bytes():
    from vo_service.spectra import _ascii_bytes

    names, width = _ascii_bytes(np.array(["SL1", "LH14", "SL1"]))
    assert width == 4 and names.tolist() == [b"SL1", b"LH14", b"SL1"]
    empty, width = _ascii_bytes(np.array([], str))
    assert len(empty) == 0 and width == 1
    with pytest.raises(ValueError, match="ASCII"):
        _ascii_bytes(np.array(["SL\u00e91"]))
