"""The portal in headless Chromium against a live server: the map's markers and MOC, a
name and a cone search, a similar-spectra search reached from a card, a click on a
marker, an ID card's plots; no request leaves
127.0.0.1 and the console stays free of errors. Screenshots go to tests/artifacts/portal/.

Expected values come from the store's rows (what ingest wrote), computed here in Python,
never from the page's own code."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from tests.web.browser import CHROMIUM, chromium, logged_page

try:
    import playwright
except ImportError:  # pragma: no cover - installed by the test extra
    playwright = None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif((CHROMIUM is None or playwright is None or not (
        Path(__file__).resolve().parents[2] / "portal" / "node_modules" / "aladin-lite"
    ).is_dir()) and not os.environ.get("CI"),
        reason="chromium, playwright or the portal's npm libraries are not installed"),
]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "portal"


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def positions(server):
    _, store = server
    _, rows, _ = store.execute_readonly(
        f"SELECT cj_id, ra, dec, object_name, simbad_name, ned_name, has_lr, has_hr FROM "
        f"{store.physical('positions')} ORDER BY cj_id", [], 100_000, 30)
    return rows


@pytest.fixture(scope="module")
def map_page(server, browser):
    """The portal's front page with its map loaded, shared by the map, search and click
    tests in this order (each Aladin Lite start costs seconds of WebGL on the CPU)."""
    base, _ = server
    page, log = logged_page(browser)
    page.goto(base + "/")
    page.wait_for_function("window.cjMap && window.cjMap.allMarkersMs !== null "
                           "&& window.cjMap.mocLoaded", timeout=60_000)
    yield page, log
    page.context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _clean(log, base: str) -> None:
    assert log.foreign(base) == []
    assert log.console_errors == [] and log.page_errors == [] and log.failed == []


def _separation_deg(ra1, dec1, ra2, dec2):
    ra1, dec1, ra2, dec2 = map(np.radians, (ra1, dec1, ra2, dec2))
    c = (np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(ra1 - ra2))
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


def test_map_shows_every_position_and_the_moc(server, map_page, positions):
    base, _ = server
    page, log = map_page
    counts = page.evaluate("window.cjMap.counts")
    lr = sum(1 for r in positions if r[6] and not r[7])
    hr = sum(1 for r in positions if r[7] and not r[6])
    both = sum(1 for r in positions if r[6] and r[7])
    assert counts == {"lr": lr, "hr": hr, "both": both}
    # every position is in view of the all-sky map, and so is a marker for each
    in_view = page.evaluate("""(points) => { const a = window.cjMap.aladin;
        const [w, h] = a.getSize(); return points.filter(([ra, dec]) => {
        const p = a.world2pix(ra, dec); return p && p[0] >= 0 && p[0] < w && p[1] >= 0
        && p[1] < h; }).length; }""", [[r[1], r[2]] for r in positions])
    assert in_view == len(positions) == sum(counts.values())
    # the coverage MOCs of the three kinds (their content: test_cards.py)
    assert page.evaluate("window.cjMap.aladin.getOverlays().filter(o => o.type === 'moc')"
                         ".length") == 3
    page.wait_for_timeout(1000)  # the background tiles, for the screenshot
    _shot(page, "map.png")
    # the markers were drawn: the map holds pixels of each kind's colour
    import matplotlib.image as mpimg

    pixels = (mpimg.imread(ARTIFACTS / "map.png")[..., :3] * 255).astype(int)
    for colour, n in (((0x29, 0xB6, 0xF6), lr), ((0xFF, 0xA7, 0x26), hr),
                      ((0xEF, 0x53, 0x50), both)):
        near = np.abs(pixels - np.array(colour)).sum(axis=-1) < 40
        assert (near.sum() > 0) == (n > 0)
    _clean(log, base)


def test_name_and_cone_searches_return_the_expected_ids(server, map_page, positions):
    base, _ = server
    page, log = map_page
    named = next(r for r in positions if r[3])
    term = named[3].split()[0].lower()
    expected = sorted(r[0] for r in positions if any(
        term in (name or "").lower() for name in (r[3], r[4], r[5], r[0])))
    page.fill("#q-name", term)
    page.press("#q-name", "Enter")  # the keyboard submits the form
    page.wait_for_function("document.getElementById('search-status').textContent"
                           ".includes('found for')")
    ids = page.eval_on_selector_all("#result-table tbody tr td:first-child a",
                                    "links => links.map(a => a.textContent)")
    assert sorted(ids) == expected
    _shot(page, "search-name.png")

    centre = positions[0]
    separation = _separation_deg(np.array([r[1] for r in positions]),
                                 np.array([r[2] for r in positions]), centre[1], centre[2])
    radius = 20.0
    expected = sorted(r[0] for r, d in zip(positions, separation, strict=True) if d <= radius)
    page.fill("#q-ra", str(centre[1]))
    page.fill("#q-dec", str(centre[2]))
    page.fill("#q-radius", str(radius))
    page.click("#by-cone button")
    page.wait_for_function(f"document.getElementById('search-status').textContent"
                           f".includes('found within {radius:g} deg')")
    ids = page.eval_on_selector_all("#result-table tbody tr td:first-child a",
                                    "links => links.map(a => a.textContent)")
    assert sorted(ids) == expected and len(expected) >= 1
    # the table sorts by a column from its header button
    page.click("#result-table thead th:nth-child(1) button")
    page.click("#result-table thead th:nth-child(1) button")
    ids = page.eval_on_selector_all("#result-table tbody tr td:first-child a",
                                    "links => links.map(a => a.textContent)")
    assert ids == sorted(expected, reverse=True)
    _shot(page, "search-cone.png")
    _clean(log, base)


@pytest.fixture(scope="module")
def samp_client(tmp_path_factory):
    """A SAMP hub with the web profile on its fixed port (SAMP 1.3 sec. 5.2: 21012) and a
    desktop client listening to spectra and tables as TOPCAT or SPLAT-VO would; yields the
    list the client's notifications go to."""
    import socket
    import threading

    from pyvo.samp import SAMPHubServer, SAMPIntegratedClient, WebProfileDialog

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 21012)) == 0:
            pytest.skip("another SAMP hub holds port 21012")

    class Approve(WebProfileDialog):
        """Accepts every web client (the person who would click "yes")."""

        polling = True

        def show_dialog(self, *args):
            self.consent()

        def poll(self):
            while self.polling:
                self.handle_queue()
                time.sleep(0.05)

    dialog = Approve()
    threading.Thread(target=dialog.poll, daemon=True).start()
    hub = SAMPHubServer(web_profile_dialog=dialog, web_port=21012, pool_size=1,
                        lockfile=str(tmp_path_factory.mktemp("samp") / ".samp"))
    hub.start()
    received = []
    client = SAMPIntegratedClient()
    try:
        client.connect(hub=hub, pool_size=1)
        for mtype in ("spectrum.load.ssa-generic", "table.load.votable"):
            client.bind_receive_notification(
                mtype, lambda key, sender, mtype, params, extra: received.append(
                    (mtype, params)))
        yield received
    finally:
        client.disconnect()
        hub.stop()
        dialog.polling = False


def _notification(received, page):
    page.wait_for_function("document.getElementById('samp-status').textContent"
                           ".startsWith('Sent')", timeout=30_000)
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    return received.pop(0)


def test_samp_sends_the_result_table(server, map_page, samp_client, positions):
    import io

    from astropy.io.votable import parse

    from tests.http_get import http_get

    base, _ = server
    page, log = map_page
    page.fill("#q-adql", "SELECT cj_id, ra, dec FROM cassisjuice.positions")
    page.click("#by-adql button")
    page.wait_for_function("document.getElementById('search-status').textContent"
                           ".includes('found by the ADQL')")
    page.evaluate("document.getElementById('samp-status').textContent = ''")
    page.click("button[data-samp-table]")
    mtype, params = _notification(samp_client, page)
    assert mtype == "table.load.votable" and params["url"].startswith(base + "/tap/sync?")
    status, _, body = http_get(params["url"])
    table = parse(io.BytesIO(body)).get_first_table().array
    assert status == 200 and sorted(table["cj_id"]) == sorted(r[0] for r in positions)
    _clean(log, base)


def test_a_click_on_a_marker_opens_its_card(server, map_page, positions):
    base, _ = server
    page, log = map_page
    # zoom onto the position farthest from all others, so one marker is under the pointer
    ra = np.array([r[1] for r in positions])
    dec = np.array([r[2] for r in positions])
    nearest = [np.sort(_separation_deg(ra, dec, a, d))[1] for a, d in zip(ra, dec, strict=True)]
    target = positions[int(np.argmax(nearest))]
    page.evaluate("window.scrollTo(0, 0)")
    page.evaluate(f"(() => {{ const a = window.cjMap.aladin; a.gotoRaDec({target[1]}, "
                  f"{target[2]}); a.setFoV(0.5); }})()")
    page.wait_for_timeout(500)
    x, y = page.evaluate(f"window.cjMap.aladin.world2pix({target[1]}, {target[2]})")
    box = page.locator("#aladin").bounding_box()
    with page.expect_navigation(timeout=30_000):
        page.mouse.click(box["x"] + x, box["y"] + y)
    assert page.url == f"{base}/cards/{target[0]}"
    _clean(log, base)


def test_card_plots_every_variant_with_the_decision_log(server, browser):
    base, store = server
    _, rows, _ = store.execute_readonly(
        f"SELECT cj_id FROM {store.physical('positions')} WHERE has_lr = 1 AND has_hr = 1 "
        "AND provenance = 'simulated' ORDER BY cj_id", [], 1, 10)
    cj_id = rows[0][0]
    spectra = store.spectra_of(cj_id)
    page, log = logged_page(browser, height=1400)
    page.goto(f"{base}/cards/{cj_id}")
    page.wait_for_function("document.body.dataset.plotsReady", timeout=30_000)
    assert page.evaluate("document.body.dataset.plotsReady") == "1"
    for arm in ("LR", "HR"):
        variants = [s for s in spectra if s["arm"] == arm]
        drawn = page.get_attribute(f"#plot-{arm}", "data-drawn")
        paths = page.locator(f"#plot-{arm} svg path[data-series]").count()
        assert int(drawn) == paths == len(variants)
        listed = page.eval_on_selector_all(
            f"table.variants[data-arm={arm}] tbody tr", "rows => rows.map(r => "
            "[r.dataset.variant, r.classList.contains('selected')])")
        assert sorted(map(tuple, listed)) == sorted(
            (s["variant"], bool(s["selected"])) for s in variants)
        selected = next(s for s in variants if s["selected"])
        reasons = page.eval_on_selector_all(
            f"section[aria-labelledby=h-{arm}] ol.log li", "items => items.map(i => "
            "i.textContent)")
        assert reasons == selected["selection_log"].split("\n")
        # hiding a variant removes its curve
        page.locator(f"table.variants[data-arm={arm}] tbody input").first.uncheck()
        assert page.locator(f"#plot-{arm} svg path[data-series]").count() == paths - 1
    assert page.locator("a[href*='/datalink/links?ID=']").count() == 2
    _shot(page, "card.png")
    _clean(log, base)


def _reduced_id(store) -> str:
    _, rows, _ = store.execute_readonly(
        f"SELECT cj_id FROM {store.physical('positions')} WHERE has_lr = 1 AND provenance = "
        "'simulated' ORDER BY cj_id", [], 1, 10)
    return rows[0][0]


def test_browser_error_and_help_pages(server, browser):
    base, _ = server
    page, log = logged_page(browser)
    response = page.goto(f"{base}/cards/99999999_0")
    assert response.status == 404 and "99999999_0" in page.text_content("main")
    assert page.text_content("h1").startswith("404")
    response = page.goto(f"{base}/scs?RA=abc&DEC=0&SR=1")
    assert response.status == 400 and page.text_content("h1").startswith("400")
    for path, title in (("/ssa", "Simple Spectral Access"), ("/scs", "Cone Search")):
        response = page.goto(base + path)
        assert response.status == 200 and title in page.text_content("h1")
    # the help page is keyboard-usable: the first Tab reaches the skip link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    log.console_errors = [m for m in log.console_errors if "404" not in m and "400" not in m]
    log.failed = []
    _clean(log, base)


def test_samp_sends_the_card_spectrum(server, browser, samp_client):
    import io

    from astropy.io.votable import parse

    from tests.http_get import http_get

    base, store = server
    cj_id = _reduced_id(store)
    page, log = logged_page(browser)
    page.goto(f"{base}/cards/{cj_id}")
    page.click("button[data-samp-spectrum]")
    mtype, params = _notification(samp_client, page)
    assert mtype == "spectrum.load.ssa-generic"
    assert params["url"] == f"{base}/spectra/{cj_id}/LR/best?format=votable"
    status, _, body = http_get(params["url"])
    assert status == 200 and len(parse(io.BytesIO(body)).get_first_table().array) > 0
    _clean(log, base)
    page.context.close()


def _table_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "#result-table tbody tr", "rows => rows.map(r => r.querySelector("
        "'a[href*=\"/cards/\"]').textContent)")


def test_similar_search_from_a_card_and_by_keyboard(server, browser):
    import io

    from astropy.io.votable import parse

    from tests.http_get import http_get

    base, store = server
    _, rows, _ = store.execute_readonly(
        f"SELECT s.cj_id, s.wl_min, s.wl_max, c.redshift FROM {store.physical('spectra')} "
        f"AS s JOIN {store.physical('positions')} AS c ON c.cj_id = s.cj_id WHERE s.arm = "
        "'LR' AND s.selected = 1 ORDER BY s.cj_id", [], 1000, 10)
    lr_ids = {r[0] for r in rows}
    cj_id, wl_min, wl_max, redshift = rows[0]
    page, log = logged_page(browser)
    page.goto(f"{base}/cards/{cj_id}")
    # the card's link, followed by the keyboard
    page.focus("section[aria-labelledby=h-LR] a.similar")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base}/?similar={cj_id}&arm=LR"
    page.wait_for_function("document.getElementById('search-status').textContent"
                           ".includes('found similar to')", timeout=30_000)
    ids = _table_ids(page)
    # the reference's own spectrum is the same as itself: chi2 0, ranked first
    assert ids[0] == cj_id and len(ids) == len(set(ids)) and set(ids) <= lr_ids
    assert page.get_attribute("#result-table tbody tr:first-child", "class") == "reference"
    score_at = page.eval_on_selector_all("#result-table thead th",
                                         "ths => ths.map(t => t.textContent)").index("score")
    scores = page.eval_on_selector_all(
        f"#result-table tbody tr td:nth-child({score_at + 1})",
        "cells => cells.map(c => Number(c.textContent))")
    assert scores[0] < 1e-9 and scores == sorted(scores)
    # the download is the same result as a VOTable
    href = page.get_attribute("#results a:text-is('VOTable')", "href")
    status, _, body = http_get(href)
    assert status == 200
    assert [str(c) for c in parse(io.BytesIO(body)).get_first_table().array["cj_id"]] == ids
    _shot(page, "search-similar.png")

    # a windowed, absolute search typed and submitted by the keyboard: a window in the
    # middle of the reference's rest-frame range, the top 2
    z = redshift or 0.0
    low, high = wl_min / (1 + z), wl_max / (1 + z)
    window = f"{low + 0.25 * (high - low):.2f}-{low + 0.75 * (high - low):.2f}"
    page.fill("#q-windows", window)
    page.select_option("#q-mode", "absolute")
    page.fill("#q-top", "2")
    page.evaluate("document.getElementById('search-status').textContent = ''")
    page.press("#q-windows", "Enter")
    page.wait_for_function("document.getElementById('search-status').textContent"
                           ".includes('found similar to')", timeout=30_000)
    ids = _table_ids(page)
    assert ids[0] == cj_id and len(ids) == min(2, len(lr_ids))
    assert "WINDOW=" + window.replace("-", "+") in page.get_attribute(
        "#results a:text-is('CSV')", "href")

    # an unknown ID: the DALI error's message, readable
    page.fill("#q-similar", "12345678_0")
    page.press("#q-similar", "Enter")
    page.wait_for_function("document.getElementById('search-status').textContent"
                           ".includes('failed')", timeout=30_000)
    assert "unknown ID 12345678_0" in page.text_content("#search-status")
    assert page.locator("#result-table").count() == 0
    log.console_errors = [m for m in log.console_errors if "404" not in m]
    log.failed = [u for u in log.failed if "ID=12345678_0" not in u]

    # a result row leads to its card
    page.fill("#q-similar", cj_id)
    page.fill("#q-windows", "")
    page.press("#q-similar", "Enter")
    page.wait_for_function("document.querySelector('#result-table')", timeout=30_000)
    other = _table_ids(page)[-1]
    with page.expect_navigation():
        page.click(f"#result-table a[href$='/cards/{other}']")
    assert page.url == f"{base}/cards/{other}"
    assert page.text_content("h1 small") == other
    _clean(log, base)
    page.context.close()
