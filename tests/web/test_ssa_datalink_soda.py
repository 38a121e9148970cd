"""SSAP, spectrum files, Datalink and SODA on a live server (issue 6, items 1-4), checked
with pyvo, astropy, specutils, STILTS votlint and datalinklint."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from urllib.parse import quote

import numpy as np
import pytest
from astropy import units as u
from astropy.io.votable import parse
from astropy.table import Table

from tests.http_get import http_get

STILTS = pytest.mark.skipif(shutil.which("stilts") is None and not os.environ.get("CI"),
                            reason="stilts not installed (deploy/install-system-packages.sh)")


def _stilts(tool: str, path, *args) -> str:
    out = subprocess.run(["stilts", tool, f"votable={path}", *args], capture_output=True,
                         text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def rows(server):
    pyvo = pytest.importorskip("pyvo")
    base, _ = server
    result = pyvo.dal.SSAService(f"{base}/ssa").search(pos=(0.0, 0.0), diameter=360.0,
                                                        band=(5e-6, 4e-5))
    assert len(result) > 0
    return result


def test_pyvo_ssa_search_and_the_datasets(rows):
    # record.getdataset() would first ask pyvo's Datalink code, which downloads the IVOA
    # datalink vocabulary from www.ivoa.net: not reachable here, so the URL is fetched
    for record in list(rows)[:4]:
        assert record.format == "application/x-votable+xml"
        assert record.getdataurl().startswith("http://127.0.0.1")
        status, _, body = http_get(record.getdataurl())
        assert status == 200
        table = Table.read(io.BytesIO(body), format="votable")
        assert table["wavelength"].unit == u.um and table["flux"].unit == u.Jy
        assert len(table) > 10 and record.title.startswith("CASSISjuice")


def test_ssa_rows_describe_the_instrument_model_and_units(server):
    base, _ = server
    status, _, body = http_get(f"{base}/ssa?POS=0,0&SIZE=360")
    assert status == 200
    table = parse(io.BytesIO(body)).get_first_table().to_table()
    assert len(table) > 0
    for name, value in (("ssa_instrument", "Spitzer IRS"), ("ssa_model", "Spectrum-1.0"),
                        ("ssa_dstype", "Spectrum"), ("ssa_spectralunit", "um"),
                        ("ssa_fluxunit", "Jy")):
        assert {str(v) for v in table[name]} == {value}, name
    by_utype = {f.utype: f.name for f in parse(io.BytesIO(body)).get_first_table().fields}
    assert by_utype["ssa:Access.Reference"] == "accref"
    assert by_utype["ssa:Curation.PublisherDID"] == "ssa_pubDID"


def test_fits_spectra_open_in_specutils(rows, tmp_path):
    specutils = pytest.importorskip("specutils")
    reader = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
    url = rows[0].getdataurl().replace("format=votable", "format=fits")
    status, _, body = http_get(url)
    assert status == 200
    path = tmp_path / "s.fits"
    path.write_bytes(body)
    spectrum = reader.read(path)
    assert spectrum.spectral_axis.unit == u.um and spectrum.flux.unit == u.Jy


def test_band_and_target_restrict_the_rows(server, rows):
    pyvo = pytest.importorskip("pyvo")
    base, _ = server
    service = pyvo.dal.SSAService(f"{base}/ssa")
    hr_only = service.search(pos=(0.0, 0.0), diameter=360.0, band=(3.8e-5, 4e-5))
    assert len(hr_only) < len(rows) or all("HR" in r.title for r in hr_only)
    name = rows[0]["ssa_targname"]
    named = service.search(pos=(0.0, 0.0), diameter=360.0, targetname=str(name).upper())
    assert {r["ssa_targname"] for r in named} == {name}


def test_metadata_query_lists_the_inputs(server):
    base, _ = server
    status, _, body = http_get(f"{base}/ssa?REQUEST=queryData&FORMAT=METADATA")
    resource = parse(io.BytesIO(body)).resources[0]
    names = {p.name for p in resource.params}
    assert status == 200 and {"INPUT:POS", "INPUT:SIZE", "INPUT:BAND"} <= names
    assert any(i.name == "SERVICE_PROTOCOL" for i in resource.infos)


def test_datalink_from_ssa_rows(server, rows):
    pyvo = pytest.importorskip("pyvo")
    links = pyvo.dal.adhoc.DatalinkResults.from_result_url(rows[0]["datalink_url"])
    semantics = [r.semantics for r in links]
    assert "#this" in semantics and "#preview" in semantics and "#cutout" in semantics
    preview = next(r for r in links if r.semantics == "#preview")
    status, _, body = http_get(preview.access_url)
    assert status == 200 and body.startswith(b"\x89PNG")


def test_links_for_several_ids_in_order_with_error_rows(server, rows):
    base, _ = server
    good = rows[0]["ssa_pubDID"]
    ids = [good, "ivo://cassisjuice.invalid/cassisjuice?1234_0/LR", "../../etc/passwd"]
    status, headers, body = http_get(f"{base}/datalink/links?"
                                     + "&".join(f"ID={quote(i, safe='')}" for i in ids))
    assert status == 200
    assert headers["Content-Type"].startswith("application/x-votable+xml;content=datalink")
    table = parse(io.BytesIO(body)).get_first_table().to_table(use_names_over_ids=True)
    order = list(dict.fromkeys(table["ID"]))
    assert order == ids
    errors = {r["ID"]: r["error_message"] for r in table if r["error_message"]}
    # DataLink 1.1 sec. 3.2.4: an ID the service cannot resolve is NotFoundFault
    assert errors[ids[1]].startswith("NotFoundFault: ") and errors[ids[2]].startswith(
        "NotFoundFault: ")


def test_soda_cutout_in_band_and_unit(server, rows):
    base, _ = server
    did = quote(rows[0]["ssa_pubDID"], safe="")
    status, _, body = http_get(f"{base}/soda?ID={did}&BAND=1.0e-05%201.2e-05&FLUXUNIT=mJy")
    assert status == 200
    table = Table.read(io.BytesIO(body), format="votable")
    assert table["flux"].unit == u.mJy
    assert np.all((table["wavelength"] >= 10) & (table["wavelength"] <= 12))
    for query, code in ((f"ID={did}&BAND=3e-4%204e-4", 400), (f"ID={did}&BAND=x", 400),
                        ("ID=ivo%3A%2F%2Fcassisjuice.invalid%2Fcassisjuice%3F1234_0%2FLR",
                         404), (f"ID={did}&FLUXUNIT=furlong", 400)):
        status, headers, body = http_get(f"{base}/soda?{query}")
        assert status == code and b'value="ERROR"' in body, query
        assert headers["Access-Control-Allow-Origin"] == "*"


@STILTS
def test_soda_descriptor_declares_user_parameters(any_server, tmp_path):
    """BAND, FLUXUNIT and RESPONSEFORMAT are the user's (empty value, with their range or
    options); ID is fixed. datalinklint classes them so, and the descriptor's own values,
    sent back as a generic client does, are accepted by the SODA service."""
    base, _ = any_server
    ssa = http_get(f"{base}/ssa?POS=0,0&SIZE=360")[2].decode()
    did = re.search(r"ivo://[^<\"]+\?[0-9]+_[0-9]+/LR", ssa).group()
    status, _, body = http_get(f"{base}/datalink/links?ID={quote(did, safe='')}")
    assert status == 200
    (tmp_path / "links.vot").write_bytes(body)
    report = subprocess.run(["stilts", "datalinklint", f"votable={tmp_path / 'links.vot'}"],
                            capture_output=True, text=True, timeout=180, check=False)
    assert "FIXED parameter count 1 [ID]" in report.stdout, report.stdout
    assert "USER parameter count 3 [BAND, FLUXUNIT, RESPONSEFORMAT]" in report.stdout
    document = parse(io.BytesIO(body))
    descriptor = next(r for r in document.resources if r.type == "meta")
    inputs = {p.name: p for p in descriptor.groups[0].entries}
    assert inputs["BAND"].values.min == 5e-6 and inputs["BAND"].values.max == 3.9e-5
    assert "mJy" in [o[1] for o in inputs["FLUXUNIT"].values.options]
    for name in ("BAND", "FLUXUNIT", "RESPONSEFORMAT"):  # DataLink 1.1 sec. 4.1
        assert re.search(rf'<PARAM [^>]*name="{name}" [^>]*value=""', body.decode()), name
    defaults = {"ID": did, "BAND": "", "FLUXUNIT": "", "RESPONSEFORMAT": ""}
    for band in ("", "NaN NaN", "-Inf +Inf", "NaN 1.2e-05"):
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in {**defaults,
                                                                  "BAND": band}.items())
        status, headers, body = http_get(f"{base}/soda?{query}")
        assert status == 200, (band, body[-300:])
        assert headers["Content-Type"].startswith("application/x-votable+xml")
    table = Table.read(io.BytesIO(body), format="votable")
    assert table["wavelength"].max() <= 12.0


@pytest.mark.parametrize("did", ["ivo://cassisjuice.invalid/cassisjuice?1234_0/LR",
                                 "nothing-like-an-id", "ivo://elsewhere/x?1_0/LR"])
def test_soda_unknown_ids_are_not_found_faults(any_server, did):
    base, _ = any_server
    status, _, body = http_get(f"{base}/soda?ID={quote(did, safe='')}")
    assert status == 404
    table = parse(io.BytesIO(body))
    status_info = next(i for i in table.resources[0].infos if i.name == "QUERY_STATUS")
    assert status_info.value == "ERROR" and status_info.content.startswith("NotFoundFault: ")


def test_path_like_spectrum_ids_are_refused(server):
    base, _ = server
    for path in ("..%2F..%2Fetc%2Fpasswd", "1234_0/LR/../../x", "1234_0/XR/best"):
        status, _, body = http_get(f"{base}/spectra/{path}")
        assert status in (400, 404) and b'value="ERROR"' in body


@STILTS
def test_validators_accept_ssa_links_and_spectra(server, rows, tmp_path):
    base, _ = server
    documents = {
        "ssa": f"{base}/ssa?POS=0,0&SIZE=360",
        "meta": f"{base}/ssa?FORMAT=METADATA",
        "spectrum": rows[0].getdataurl(),
        "links": rows[0]["datalink_url"],
    }
    for name, url in documents.items():
        path = tmp_path / f"{name}.vot"
        path.write_bytes(http_get(url)[2])
        out = _stilts("votlint", path)
        assert "ERROR" not in out, (name, out)
    report = subprocess.run(["stilts", "datalinklint", f"votable={tmp_path / 'links.vot'}"],
                            capture_output=True, text=True, timeout=180, check=False)
    errors = [line for line in report.stdout.splitlines() if line.startswith("E-")]
    assert report.returncode == 0 and not errors, report.stdout + report.stderr


def _links(base, did):
    status, _, body = http_get(f"{base}/datalink/links?ID={quote(did, safe='')}")
    assert status == 200
    return parse(io.BytesIO(body)).get_first_table().to_table(use_names_over_ids=True)


def test_progenitor_link_lists_the_raw_exposures(server, rows):
    """#progenitor is a TAP query on cassisjuice.exposures: the BCDs of the position,
    named by their path in the Spitzer archive layout."""
    base, _ = server
    reduced = [r for r in rows if "CASSISjuice-simulated" in str(r["ssa_collection"])]
    assert reduced, "the demo has reduced positions"
    links = _links(base, reduced[0]["ssa_pubDID"])
    progenitor = [r["access_url"] for r in links if r["semantics"] == "#progenitor"]
    assert len(progenitor) == 1
    status, _, body = http_get(progenitor[0])
    exposures = parse(io.BytesIO(body)).get_first_table().to_table()
    assert status == 200 and len(exposures) > 0
    cj_id = reduced[0]["ssa_pubDID"].split("?", 1)[1].split("/")[0]
    assert set(exposures["cj_id"]) == {cj_id}
    assert all(f.startswith(f"r{cj_id.split('_')[0]}/ch") and f.endswith("_bcd.fits")
               for f in exposures["file"])
    assert set(exposures["irs_module"]) <= {"SL", "LL", "SH", "LH"}


def test_package_link_holds_every_spectrum_of_the_position(server, rows):
    from astropy.io import fits

    base, store = server
    links = _links(base, rows[0]["ssa_pubDID"])
    package = [r["access_url"] for r in links if "/datasets/" in str(r["access_url"])]
    status, headers, body = http_get(package[0])
    assert status == 200 and headers["Content-Type"] == "application/fits"
    cj_id = package[0].rsplit("/", 1)[1]
    with fits.open(io.BytesIO(body)) as hdus:
        names = [h.name for h in hdus[1:]]
        assert hdus[0].header["NSPEC"] == len(names) == len(store.spectra_of(cj_id))
        assert all(n.split("/")[0] in ("LR", "HR") for n in names)
        assert hdus[1].header["TUCD1"].startswith("em.wl")
    assert http_get(f"{base}/datasets/99999999_0")[0] == 404
    assert http_get(f"{base}/datasets/..%2Fetc")[0] in (400, 404)


def test_spectra_and_exposure_count_read_in_one_query(any_server):
    """The Datalink document's one look-up gives what spectra_of and exposure_count give
    apart, for every position and for an unknown one."""
    _, store = any_server
    ids = [row[0] for row in store.select(
        f"SELECT cj_id FROM {store.physical('positions')}", [])[1]]
    for cj_id in [*ids, "99999999_0"]:
        spectra, count = store.spectra_and_exposure_count(cj_id)
        assert spectra == store.spectra_of(cj_id)
        assert count == (store.exposure_count(cj_id) if spectra else 0)
    assert sum(store.exposure_count(cj_id) for cj_id in ids) > 0
