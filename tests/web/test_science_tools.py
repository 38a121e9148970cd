"""The science tools on a live server (the demo atlas, SQLite and PostgreSQL): similarity
(its own spectrum ranked first, uploads in every served format), templates, SLAP with
pyvo, line coverage against an independent ADQL query, names, Sesame only when the
operator allows it, and a DALI error for every kind of bad input."""

from __future__ import annotations

import io
import threading
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest
from astropy.io.votable import parse
from astropy.table import Table

from tests.http_get import http_get
from tests.web.conftest import _serve


def _get(base: str, path: str, **params) -> tuple[int, bytes]:
    query = urllib.parse.urlencode(params, doseq=True)
    status, _, body = http_get(f"{base}{path}?{query}")
    return status, body


def _table(body: bytes) -> Table:
    return parse(io.BytesIO(body)).get_first_table().to_table()


def _post_file(url: str, fields: dict, name: str, data: bytes) -> tuple[int, bytes]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             .encode() for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                 f'filename="ref"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _error(status: int, body: bytes, expected_status: int, words: str) -> None:
    """A DALI error document (DALI 1.1 sec. 4.2) naming the problem, nothing else."""
    assert status == expected_status, body[:400]
    votable = parse(io.BytesIO(body))
    infos = [i for r in votable.resources for i in r.infos if i.name == "QUERY_STATUS"]
    assert infos and infos[0].value == "ERROR"
    assert words.lower() in (infos[0].content or "").lower(), infos[0].content
    assert b"Traceback" not in body and b"/tmp" not in body and b"site-packages" not in body


@pytest.fixture(scope="module")
def lr_ids(server):
    base, _ = server
    status, body = _get(base, "/tap/sync", REQUEST="doQuery", LANG="ADQL", QUERY=(
        "SELECT cj_id, object_name FROM cassisjuice.spectra JOIN cassisjuice.positions "
        "USING (cj_id) WHERE arm = 'LR' AND selected = 1 ORDER BY cj_id"))
    assert status == 200
    table = _table(body)
    assert len(table) >= 4
    return [str(c) for c in table["cj_id"]], [str(n) for n in table["object_name"]]


def test_every_lr_spectrum_finds_itself_first(any_server, lr_ids):
    base, _ = any_server
    for cj_id in lr_ids[0]:
        for mode in ("normalised", "absolute", "continuum"):
            status, body = _get(base, "/similar", ID=cj_id, MODE=mode, MAXREC=3)
            if mode == "continuum" and status == 400:  # SL or LL only: no continuum
                _error(status, body, 400, "no continuum")
                continue
            assert status == 200, body[:300]
            table = _table(body)
            assert str(table["cj_id"][0]) == cj_id and table["score"][0] < 1e-12
            assert list(table["rank"]) == [1, 2, 3][:len(table)]
            assert np.all(np.diff(np.asarray(table["score"])) >= 0)


def test_similar_answers_in_csv_and_json_as_in_votable(server, lr_ids):
    import csv
    import json

    base, _ = server
    cj_id = lr_ids[0][0]
    status, body = _get(base, "/similar", ID=cj_id, MAXREC=4)
    assert status == 200
    votable = _table(body)
    status, body = _get(base, "/similar", ID=cj_id, MAXREC=4, RESPONSEFORMAT="json")
    assert status == 200, body[:300]
    doc = json.loads(body)
    names = [m["name"] for m in doc["metadata"]]
    assert names == votable.colnames
    assert [m.get("unit") for m in doc["metadata"]][names.index("ra")] == "deg"
    rows = doc["data"]
    assert rows[0][names.index("cj_id")] == cj_id and rows[0][names.index("score")] < 1e-12
    assert [r[names.index("cj_id")] for r in rows] == [str(c) for c in votable["cj_id"]]
    assert np.allclose([r[names.index("score")] for r in rows], votable["score"])
    status, body = _get(base, "/similar", ID=cj_id, MAXREC=4, RESPONSEFORMAT="text/csv")
    assert status == 200
    table = list(csv.DictReader(io.StringIO(body.decode())))
    assert [r["cj_id"] for r in table] == [str(c) for c in votable["cj_id"]]
    assert np.allclose([float(r["score"]) for r in table], votable["score"])


@pytest.mark.parametrize("fmt", ["votable", "fits", "csv"])
def test_an_uploaded_spectrum_in_each_served_format_finds_its_position(server, lr_ids, fmt):
    base, _ = server
    cj_id = lr_ids[0][1]
    status, _, data = http_get(f"{base}/spectra/{cj_id}/LR/best?format={fmt}")
    assert status == 200
    status, body = _post_file(f"{base}/similar", {"MODE": "absolute", "MAXREC": "2"},
                              "SPECTRUM", data)
    assert status == 200, body[:400]
    table = _table(body)
    assert str(table["cj_id"][0]) == cj_id
    assert table["score"][0] < 1e-6  # the same points, resampled the same way


def test_a_windowed_model_query_returns_scored_matches(server):
    base, _ = server
    status, body = _get(base, "/similar", MODEL="powerlaw:2", WINDOW=["6 9", "20 30"],
                        MAXREC=4)
    assert status == 200
    table = _table(body)
    assert 1 <= len(table) <= 4 and np.all(np.isfinite(table["score"]))
    assert np.all(table["scale"] > 0)


def test_a_template_of_the_selection_is_an_sdm_spectrum_with_n_per_bin(any_server, lr_ids):
    base, _ = any_server
    ids = lr_ids[0]
    status, body = _get(base, "/template", ID=",".join(ids), STAT="median")
    assert status == 200, body[:300]
    votable = parse(io.BytesIO(body))
    assert votable.resources[0].utype == "spec:Spectrum"
    table = votable.get_first_table().to_table()
    assert str(table["wavelength"].unit) == "um" and str(table["flux"].unit) == "Jy"
    assert table["n_spectra"].max() <= len(ids) and table["n_spectra"].min() >= 1
    # normalised to 1 Jy at 14.5-15 um: every stacked spectrum is 1 there
    window = (table["wavelength"] > 14.5) & (table["wavelength"] < 15.0)
    assert np.allclose(table["flux"][window], 1.0, atol=0.1)
    status, fits_body = _get(base, "/template", QUERY="SELECT cj_id FROM "
                             "cassisjuice.spectra WHERE arm = 'LR' AND selected = 1",
                             RESPONSEFORMAT="fits")
    assert status == 200 and fits_body[:6] == b"SIMPLE"


def test_slap_answers_pyvo(server):
    pyvo = pytest.importorskip("pyvo")
    from astropy import units as u

    base, _ = server
    result = pyvo.dal.SLAService(f"{base}/slap").search(wavelength=(12.7, 12.9) * u.um)
    titles = {r.title: r for r in result}
    neii = titles["[NeII] 12.81"]  # 12.81355 um, MPE ISO fine-structure list
    assert neii.wavelength.to_value(u.um) == pytest.approx(12.81355)
    assert neii.species_name == "[NeII]"
    assert all(12.7 <= r.wavelength.to_value(u.um) <= 12.9 for r in result)
    h2 = pyvo.dal.SLAService(f"{base}/slap").search(wavelength=(17.0, 17.1) * u.um)
    assert "H2 0-0 S(1) 17.03" in {r.title for r in h2}


def test_line_coverage_agrees_with_an_adql_query_of_the_spectra(any_server):
    base, _ = any_server
    status, body = _get(base, "/linecoverage", LINE="[NeII] 12.81")
    assert status == 200
    found = _table(body)
    # independently: selected spectra whose observed range holds 12.81355 (1 + z)
    status, body = _get(base, "/tap/sync", REQUEST="doQuery", LANG="ADQL", QUERY=(
        "SELECT s.spectrum_id FROM cassisjuice.spectra AS s JOIN cassisjuice.positions AS "
        "p ON p.cj_id = s.cj_id WHERE s.selected = 1 AND 12.81355 * (1 + COALESCE("
        "p.redshift, 0)) BETWEEN s.wl_min AND s.wl_max"))
    expected = {str(s) for s in _table(body)["spectrum_id"]}
    assert expected and {str(s) for s in found["spectrum_id"]} == expected
    for row in found:
        # LR: R = 8.2667 lambda in SL1, 2.9524 lambda in LL1... (IRS Handbook 4.1.3)
        if row["arm"] == "HR":
            assert row["resolving_power"] == 600
        else:
            k = {"SL1": 8.2667, "SL2": 16.5333, "LL1": 2.9524, "LL2": 5.9048}[
                str(row["segment"])]
            assert row["resolving_power"] == pytest.approx(k * row["observed_wavelength"])
    assert np.all(np.diff(np.asarray(found["local_snr"], float)) <= 0)


def test_names_match_every_spelling_and_prefixes(any_server, lr_ids):
    base, _ = any_server
    ids, names = lr_ids
    for cj_id, name in zip(ids, names, strict=True):
        squashed = name.replace(" ", "").replace("_", "").lower()
        status, body = _get(base, "/names", NAME=squashed)
        assert status == 200 and cj_id in {str(c) for c in _table(body)["cj_id"]}
        status, body = _get(base, "/names", NAME=name[:3], MATCH="prefix")
        assert cj_id in {str(c) for c in _table(body)["cj_id"]}
        status, body = _get(base, "/ssa", REQUEST="queryData", TARGETNAME=squashed.upper())
        assert cj_id in {str(t).split("/")[0] for t in _table(body)["ssa_pubDID"]
                         if "?" not in str(t)} | {str(t).split("?")[1].split("/")[0]
                                                 for t in _table(body)["ssa_pubDID"]}


BAD = [
    ("/similar", {"ID": "12345678_0"}, 404, "unknown ID"),
    ("/similar", {"ID": "not-an-id"}, 400, "identifier"),
    ("/similar", {}, 400, "give one reference"),
    ("/similar", {"MODEL": "blackbody:300", "ID": "1234_0"}, 400, "one reference"),
    ("/similar", {"MODEL": "greybody:1"}, 400, "blackbody"),
    ("/similar", {"MODEL": "powerlaw:1e308"}, 400, "index"),
    ("/similar", {"MODEL": "blackbody:1e308"}, 400, "temperature"),
    ("/similar", {"MODEL": "blackbody:300", "WINDOW": "9 7"}, 400, "empty"),
    ("/similar", {"MODEL": "blackbody:300", "WINDOW": "100 200"}, 400, "no bin"),
    ("/similar", {"MODEL": "blackbody:300", "REDSHIFT": "-0.1"}, 400, "REDSHIFT"),
    ("/similar", {"MODEL": "blackbody:300", "MODE": "absolute"}, 400, "normalised"),
    ("/similar", {"MODEL": "blackbody:300", "MAXREC": "0"}, 400, "MAXREC"),
    ("/similar", {"MODEL": "blackbody:300", "ARM": "XR"}, 400, "ARM"),
    ("/similar", {"MODEL": "blackbody:300", "MODE": "smooth"}, 400, "continuum"),
    ("/similar", {"MODEL": "blackbody:300", "RESPONSEFORMAT": "fits"}, 400, "json"),
    ("/template", {"ID": "12345678_0"}, 404, "12345678_0"),
    ("/template", {}, 400, "selection"),
    ("/template", {"QUERY": "SELECT ra FROM cassisjuice.positions"}, 400, "cj_id"),
    ("/template", {"QUERY": "SELEC nonsense"}, 400, "QUERY"),
    ("/template", {"ID": "1234_0", "NORM": "15 14"}, 400, "empty"),
    ("/template", {"ID": "1234_0", "STAT": "mode"}, 400, "STAT"),
    ("/linecoverage", {"LINE": "[Xx] 1"}, 400, "line"),
    ("/linecoverage", {"LINE": "-3"}, 400, "positive"),
    ("/linecoverage", {}, 400, "line"),
    ("/names", {}, 400, "NAME"),
    ("/names", {"NAME": "x", "MATCH": "fuzzy"}, 400, "MATCH"),
    ("/slap", {"REQUEST": "queryData"}, 400, "WAVELENGTH"),
    ("/slap", {"WAVELENGTH": "1e-5/2e-5"}, 400, "REQUEST"),
    ("/slap", {"REQUEST": "queryData", "WAVELENGTH": "2e-5/1e-5"}, 400, "exceeds"),
    ("/slap", {"REQUEST": "queryData", "WAVELENGTH": "a/b"}, 400, "number"),
]


@pytest.mark.parametrize(("path", "params", "status", "words"), BAD,
                         ids=[f"{p}-{'-'.join(q) or 'none'}" for p, q, _, _ in BAD])
def test_bad_input_gets_a_dali_error(server, path, params, status, words):
    base, _ = server
    _error(*_get(base, path, **params), status, words)


@pytest.mark.parametrize("data", [b"", b"\x00\x01garbage\xff", b"SIMPLE  =  T broken",
                                  b"<VOTABLE><RESOURCE></VOTABLE>", b"a,b\n1,2\n3,4\n"])
def test_an_unreadable_upload_gets_a_dali_error(server, data):
    base, _ = server
    status, body = _post_file(f"{base}/similar", {}, "SPECTRUM", data)
    _error(status, body, 400, "upload")


class _FakeSesame(BaseHTTPRequestHandler):
    """Sesame's -oxI answer for one alias, on 127.0.0.1; counts the requests."""

    requests: ClassVar[list[str]] = []
    answer: ClassVar[bytes] = b""

    def do_GET(self):
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.end_headers()
        self.wfile.write(type(self).answer)

    def log_message(self, *args):
        pass


def test_sesame_is_asked_only_when_the_operator_configured_it(server, lr_ids):
    base, store = server
    cj_id, name = lr_ids[0][0], lr_ids[1][0]
    _FakeSesame.answer = (f"<Sesame><Target><Resolver><oname>{name}</oname><alias>"
                          f"Fancy Alias 7</alias></Resolver></Target></Sesame>").encode()
    _FakeSesame.requests = []
    fake = ThreadingHTTPServer(("127.0.0.1", 0), _FakeSesame)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    try:
        # off by default: the stored names only, no request leaves the server
        status, body = _get(base, "/names", NAME="Fancy Alias 7")
        assert status == 200 and len(_table(body)) == 0 and not _FakeSesame.requests
        srv = _serve(store.url, sesame_url=f"http://127.0.0.1:{fake.server_port}/sesame")
        try:
            own = f"http://127.0.0.1:{srv.effective_port}"
            status, body = _get(own, "/names", NAME="Fancy Alias 7")
            assert status == 200 and cj_id in {str(c) for c in _table(body)["cj_id"]}
            assert len(_FakeSesame.requests) == 1
        finally:
            srv.close()
    finally:
        fake.shutdown()
        fake.server_close()
    # a resolver that does not answer: the stored names still work
    srv = _serve(store.url, sesame_url="http://127.0.0.1:9/sesame", sesame_timeout_s=1.0)
    try:
        own = f"http://127.0.0.1:{srv.effective_port}"
        status, body = _get(own, "/names", NAME=name)
        assert status == 200 and cj_id in {str(c) for c in _table(body)["cj_id"]}
    finally:
        srv.close()


def test_the_tool_examples_page_lists_working_examples(any_server):
    from vo_service.protocols.tool_examples import TOOL_EXAMPLES

    base, _ = any_server
    status, _, page = http_get(f"{base}/tools/examples")
    assert status == 200 and b'vocab="http://www.ivoa.net/rdf/examples#"' in page
    for ident, _, _, endpoint, params in TOOL_EXAMPLES:
        assert f'id="{ident}"'.encode() in page
        status, _, body = http_get(f"{base}/{endpoint}?{urllib.parse.urlencode(params)}")
        assert status == 200, (ident, body[:300])
        votable = parse(io.BytesIO(body))
        infos = [i for r in votable.resources for i in r.infos if i.name == "QUERY_STATUS"]
        assert infos[0].value == "OK", ident
