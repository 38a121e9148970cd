"""Spectrum files and Datalink documents answered in front of Flask
(``vo_service.web.direct_routes``): the same status, headers and bytes as the blueprint's
routes give, without entering Flask; what it does not answer (errors, the PNG preview,
other methods) reaches the routes unchanged."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from astropy.io import fits
from werkzeug.test import Client


def _answer(client: Client, url: str, method: str = "GET", **headers):
    response = client.open(url, method=method, headers=headers)
    return response.status, sorted(response.headers.items()), response.get_data()


def _spectra(store) -> list[str]:
    table = store.physical("spectra")
    cj_id = store.select(f"SELECT min(cj_id) FROM {table}", [])[1][0][0]
    return [f"{cj_id}/{s['arm']}/{s['variant']}" for s in store.spectra_of(cj_id)] + [
        f"{cj_id}/{s['arm']}/best" for s in store.spectra_of(cj_id) if s["selected"]]


@pytest.mark.parametrize("query", ["?format=fits", "?FORMAT=FITS", "?format=votable", "",
                                   "?format=csv", "?format=png&format=csv&other=1",
                                   "?format=png&FORMAT=votable&format=fits"])
def test_files_are_the_routes_bytes_and_headers_without_flask(apps, query):
    whole, flask_only, dispatched, store = apps
    for spectrum in _spectra(store):
        url = f"/spectra/{spectrum}{query}"
        dispatched.clear()
        answer = _answer(whole, url)
        assert dispatched == [], url  # answered before Flask
        assert answer[0] == "200 OK"
        assert answer == _answer(flask_only, url)
        assert dispatched == ["flask"]


def test_a_fits_file_reads_back(apps):
    whole, _, _, store = apps
    spectrum = _spectra(store)[-1]
    _, headers, body = _answer(whole, f"/spectra/{spectrum}?format=fits")
    with fits.HDUList.fromstring(body) as hdus:
        assert hdus[0].header["DS_IDPUB"].endswith(spectrum.rsplit("/", 1)[0])
        assert len(hdus[1].data) == hdus[0].header["DATALEN"] > 0
    assert ("Access-Control-Allow-Origin", "*") in headers


@pytest.mark.parametrize("url, status", [
    ("/spectra/99999999_0/LR/best?format=fits", "404 NOT FOUND"),  # unknown
    ("/spectra/1234_0/XX/best?format=fits", "400 BAD REQUEST"),  # malformed
    ("/spectra/../etc/passwd?format=fits", "400 BAD REQUEST"),
    ("/spectra/{spectrum}?format=xml", "400 BAD REQUEST"),  # unknown format
    ("/spectra/{spectrum}?format=png", "200 OK"),  # the preview: drawn by the route
])
def test_what_it_does_not_answer_reaches_the_route(apps, url, status):
    whole, flask_only, dispatched, store = apps
    url = url.format(spectrum=_spectra(store)[-1])
    dispatched.clear()
    answer = _answer(whole, url)
    assert dispatched == ["flask"] and answer[0] == status
    assert answer == _answer(flask_only, url)
    if status != "200 OK":
        assert b"QUERY_STATUS" in answer[2] and b'value="ERROR"' in answer[2]


def test_other_methods_reach_the_route(apps):
    whole, flask_only, dispatched, store = apps
    url = f"/spectra/{_spectra(store)[-1]}?format=fits"
    for method in ("HEAD", "POST"):
        dispatched.clear()
        answer = _answer(whole, url, method)
        assert dispatched == ["flask"]
        assert answer == _answer(flask_only, url, method)


def _did(spectrum: str) -> str:
    cj_id, arm = spectrum.split("/")[:2]
    return quote(f"ivo://cassisjuice.invalid/cassisjuice?{cj_id}/{arm}", safe="")


@pytest.mark.parametrize("host", ["localhost", "evil.example:8080"])
def test_links_documents_are_the_routes_without_flask(apps, host):
    """Links of one ID, of several (a variant, an unknown one, a malformed one: rows with
    their faults), the parameter's name in any case; the links' base URL from an allowed
    Host header, or the first allowed host for any other."""
    whole, flask_only, dispatched, store = apps
    spectra = _spectra(store)
    unknown = quote("ivo://cassisjuice.invalid/cassisjuice?99999999_0/LR", safe="")
    for query in (f"ID={_did(spectra[-1])}",
                  f"ID={_did(spectra[0])}&id={unknown}&ID=nonsense&ID={_did(spectra[1])}"):
        url = f"/datalink/links?{query}"
        dispatched.clear()
        answer = _answer(whole, url, Host=host)
        assert dispatched == [], url
        assert answer[0] == "200 OK" and b"#this" in answer[2]
        assert answer == _answer(flask_only, url, Host=host)
    assert b"http://localhost/spectra/" in answer[2]  # the allowed host, either way


@pytest.mark.parametrize("query", ["", "RESPONSEFORMAT=votable", "&".join(["ID=x"] * 201)])
def test_links_usage_faults_reach_the_route(apps, query):
    whole, flask_only, dispatched, _ = apps
    dispatched.clear()
    answer = _answer(whole, f"/datalink/links?{query}")
    assert dispatched == ["flask"] and answer[0] == "400 BAD REQUEST"
    assert answer == _answer(flask_only, f"/datalink/links?{query}")
    assert b"UsageFault" in answer[2]
