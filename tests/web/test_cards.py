"""The ID card's links and its Datalink link, its spectra document, and the error pages a
browser gets where a VO client gets the protocol's VOTable (the card drawn in Chromium:
test_portal_browser.py)."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from astropy.io.votable import parse

from tests.http_get import http_get

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
#: what Java's URLConnection sends unless told otherwise (TOPCAT, STILTS)
JAVA = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"


def _reduced_id(store) -> str:
    _, rows, _ = store.execute_readonly(
        f"SELECT cj_id FROM {store.physical('positions')} WHERE provenance = 'simulated' "
        "AND has_lr ORDER BY cj_id", [], 1, 10)
    return rows[0][0]


def test_card_links_resolve_and_datalink_points_at_it(server):
    base, store = server
    cj_id = _reduced_id(store)
    status, headers, _ = http_get(f"{base}/cards/{cj_id}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    did = f"ivo://cassisjuice.invalid/cassisjuice?{cj_id}/LR"
    _, _, links = http_get(f"{base}/datalink/links?ID={quote(did, safe='')}")
    table = parse(io.BytesIO(links)).get_first_table().to_table(use_names_over_ids=True)
    docs = [r["access_url"] for r in table if "/cards/" in str(r["access_url"])]
    assert docs == [f"{base}/cards/{cj_id}"]
    assert http_get(f"{base}/cards/99999999_0")[0] == 404
    assert http_get(f"{base}/cards/..%2F..%2Fetc")[0] in (400, 404)


@pytest.mark.parametrize("accept", [None, "*/*", JAVA, "application/x-votable+xml"])
def test_vo_clients_keep_votable_errors(server, accept):
    base, _ = server
    headers = {"Accept": accept} if accept else {}
    for url, status in ((f"{base}/cards/99999999_0", 404),
                        (f"{base}/scs?RA=abc&DEC=0&SR=1", 400)):
        code, response_headers, body = http_get(url, headers)
        assert code == status
        assert response_headers["Content-Type"].startswith("application/x-votable+xml")
        assert b'name="QUERY_STATUS" value="ERROR"' in body
    code, response_headers, body = http_get(f"{base}/ssa", headers)
    assert response_headers["Content-Type"].startswith("application/x-votable+xml")


def test_browsers_get_html_errors_and_help(server):
    base, _ = server
    code, headers, body = http_get(f"{base}/cards/99999999_0", {"Accept": BROWSER})
    assert code == 404 and headers["Content-Type"].startswith("text/html")
    assert b"no position 99999999_0" in body and b"/tmp" not in body
    code, headers, body = http_get(f"{base}/spectra/nonsense", {"Accept": BROWSER})
    assert code == 400 and headers["Content-Type"].startswith("text/html")
    for path in ("/ssa", "/scs", "/tap"):
        code, headers, body = http_get(base + path, {"Accept": BROWSER})
        assert code == 200 and headers["Content-Type"].startswith("text/html")
        assert f"{base}{path}".encode() in body


def test_card_spectra_document_holds_every_variant(any_server):
    import json

    import numpy as np

    base, store = any_server
    status, _, page = http_get(f"{base}/cards/{_reduced_id(store)}")
    assert status == 200 and b'id="card-spectra"' in page
    cj_id = _reduced_id(store)
    _, _, body = http_get(f"{base}/cards/{cj_id}/spectra.json")
    document = json.loads(body)
    for s in store.spectra_of(cj_id):
        item = next(v for v in document["arms"][s["arm"]] if v["variant"] == s["variant"])
        served = store.spectrum_arrays(s["spectrum_id"])
        points = sum(len(p["wavelength"]["values"]) for p in item["parts"])
        assert points == len(served["wavelength"]) == s["n_points"]
        flux = np.concatenate([np.array([np.nan if v is None else v * p["flux"]["scale"]
                                         for v in p["flux"]["values"]]) for p in item["parts"]])
        order = np.concatenate([np.flatnonzero(served["segment"] == p["segment"])
                                for p in item["parts"]])
        # five significant digits of the arm's peak
        tolerance = np.nanmax(np.abs(served["flux"])) * 1e-4
        assert np.allclose(flux, served["flux"][order], atol=tolerance, equal_nan=True)
    names = [line["name"] for line in document["lines"]]
    assert "[NeII] 12.81" in names and "H2 S(1)" in names


def test_line_markers_are_at_their_literature_wavelengths():
    from vo_service.linelists import mid_ir_lines

    lines = {line.name: line.rest_um for line in mid_ir_lines()}
    # vacuum wavelengths: fine-structure lines from NIST (Kramida et al.), H2 from Black &
    # van Dishoeck 1987, PAH bands from Smith et al. 2007 (Table 3)
    literature = {"[NeII] 12.81": 12.8136, "[NeIII] 15.56": 15.5551, "[SIII] 18.71": 18.7130,
                  "[OIV] 25.89": 25.8903, "[SiII] 34.82": 34.8152, "H2 S(1)": 17.0348,
                  "H2 S(0)": 28.2188, "PAH 11.3": 11.33, "PAH 6.2": 6.22}
    for name, wavelength in literature.items():
        assert abs(lines[name] - wavelength) < 2e-3, name
    assert all(5.2 <= w <= 38.0 for w in lines.values())


def test_kind_mocs_hold_the_cells_of_their_positions(any_server, tmp_path):
    import numpy as np
    from mocpy import MOC

    base, store = any_server
    _, rows, _ = store.execute_readonly(
        f"SELECT healpix, has_lr, has_hr FROM {store.physical('positions')}", [], 100_000, 30)
    for kind, (lr, hr) in {"lr": (1, 0), "hr": (0, 1), "both": (1, 1)}.items():
        status, headers, body = http_get(f"{base}/portal/moc/{kind}")
        assert status == 200 and headers["Content-Type"] == "application/fits"
        (tmp_path / f"{kind}.fits").write_bytes(body)
        moc = MOC.load(str(tmp_path / f"{kind}.fits"), format="fits")
        # order-12 NESTED cells of the order-29 indices (29 - 12 = 17 levels, 2 bits each)
        expected = {h >> 34 for h, has_lr, has_hr in rows
                    if bool(has_lr) == bool(lr) and bool(has_hr) == bool(hr)}
        assert set(np.asarray(moc.flatten()).tolist()) == expected
    assert http_get(f"{base}/portal/moc/everything")[0] == 404


def test_portal_without_its_npm_libraries_says_how_to_install_them(server, tmp_path):
    from vo_service.app import create_app
    from vo_service.config import Settings

    _, store = server
    app = create_app(Settings(store_url=store.url, web_assets_dir=str(tmp_path)), store=store)
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert "install-web-assets.sh" in page and "sky_map.js" not in page
    assert 'id="by-name"' in page  # search still works
    assert client.get("/portal/vendor/aladin.js").status_code == 404
    assert client.get("/portal/vendor/../portal.py").status_code == 404
