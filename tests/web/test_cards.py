"""The ID card of a position, rendered in headless Chromium (the page, its preview images
and its links), and its Datalink link."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from urllib.parse import quote

import pytest
from astropy.io.votable import parse

from tests.http_get import http_get

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                    reason="chromium is not installed")


def _reduced_id(store) -> str:
    _, rows, _ = store.execute_readonly(
        f"SELECT cj_id FROM {store.physical('catalog')} WHERE provenance = 'simulated' "
        "AND has_lr ORDER BY cj_id", [], 1, 10)
    return rows[0][0]


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", *args], capture_output=True, timeout=120)


@needs_chromium
def test_card_renders_with_its_previews(server, tmp_path):
    import matplotlib.image as mpimg
    import numpy as np

    base, store = server
    cj_id = _reduced_id(store)
    dom = _chromium("--dump-dom", f"{base}/cards/{cj_id}").stdout.decode()
    assert "<h1>" in dom and cj_id in dom and "Low resolution (LR)" in dom
    assert f'{base}/spectra/{cj_id}/LR/best?format=png' in dom
    assert "/datalink/links?ID=" in dom and f"/datasets/{cj_id}" in dom
    shot = tmp_path / "card.png"
    _chromium(f"--screenshot={shot}", "--window-size=1000,1600",
              "--virtual-time-budget=5000", f"{base}/cards/{cj_id}")
    pixels = mpimg.imread(shot)[..., :3]
    # the preview plots were loaded and drawn: far more colours than text on white
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 200


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
