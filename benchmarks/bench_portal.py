"""The portal's speed in a browser: time to a complete ID card and to the map's first
markers, cold and warm, on the 20,400-position atlas, in headless Chromium (Debian's,
driven by Playwright, every request kept on 127.0.0.1).

* atlas: ``--atlas DIR`` holding ``atlas.sqlite``; when it is missing, the products-level
  atlas is simulated (``cassisjuice simulate --positions 20400 --level products --jobs 2``)
  and ingested into it (``cassisjuice ingest``); a second run reuses it;
* server: ``cassisjuice serve`` in its own process (one worker, as the demo runs);
* cold: a server process just started and a browser context with an empty cache (the
  first card, the first map); then, for ``-n`` random IDs with LR and HR (the heaviest
  cards), each card's first view in a fresh context on the running server ("first view");
* warm: the same page reloaded in the same context (the browser's cache holds the scripts).

Times are from the navigation's start (``performance.now()``): a card is complete when
every arm's plot is drawn (``cjCard.readyMs``); the map's first markers when the first of
its three catalogues is on it (``cjMap.firstMarkersMs``), all when the third is.

    python3 benchmarks/bench_portal.py --atlas /tmp/cj-portal-atlas -n 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.browser import chromium, logged_page  # noqa: E402
from vo_service.store import open_store  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "portal"


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "vo_service.cli", *args], check=True, cwd=ROOT)


def ensure_atlas(directory: Path, positions: int) -> str:
    store = directory / "atlas.sqlite"
    if not store.exists():
        products = directory / "sim" / "products"
        if not products.is_dir():
            _cli("simulate", "--positions", str(positions), "--level", "products", "--out",
                 str(directory / "sim"), "--jobs", "2")
        _cli("ingest", str(products), "--store", f"sqlite:///{store}")
    return f"sqlite:///{store}"


def start_server(url: str, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "vo_service.cli", "serve", "--store", url, "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/tap/availability", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def card_ms(page, url: str, reload: bool = False) -> tuple[float, float]:
    """(ms to the complete card, ms to the page's last byte) from the navigation's start."""
    if reload:
        page.reload()
    else:
        page.goto(url)
    page.wait_for_function("document.body.dataset.plotsReady", timeout=60_000)
    if page.evaluate("document.body.dataset.plotsReady") != "1":
        raise RuntimeError(f"the card {url} did not draw")
    return page.evaluate("[window.cjCard.readyMs, "
                         "performance.getEntriesByType('navigation')[0].responseEnd]")


def map_ms(page, url: str, reload: bool = False) -> tuple[float, float, int]:
    if reload:
        page.reload()
    else:
        page.goto(url)
    page.wait_for_function("window.cjMap && window.cjMap.allMarkersMs !== null",
                           timeout=120_000)
    state = page.evaluate("({f: cjMap.firstMarkersMs, a: cjMap.allMarkersMs, "
                          "n: Object.values(cjMap.counts).reduce((x, y) => x + y, 0)})")
    return state["f"], state["a"], state["n"]


def summary(values: list[float]) -> dict:
    return {"median_ms": round(statistics.median(values), 1),
            "p90_ms": round(float(np.percentile(values, 90)), 1),
            "min_ms": round(min(values), 1), "max_ms": round(max(values), 1), "n": len(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--atlas", type=Path, default=Path("/tmp/cj-portal-atlas"))
    parser.add_argument("--positions", type=int, default=20400)
    parser.add_argument("-n", type=int, default=20, help="cards measured")
    parser.add_argument("--port", type=int, default=18320)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    url = ensure_atlas(args.atlas, args.positions)
    # the machine is shared: its load says how far the times are from an idle one's
    load_start = round(os.getloadavg()[0], 2)
    store = open_store(url)
    _, rows, _ = store.execute_readonly(
        f"SELECT cj_id FROM {store.physical('positions')} WHERE has_lr = 1 AND has_hr = 1 "
        "ORDER BY cj_id", [], 1_000_000, 60)
    _, count, _ = store.execute_readonly(
        f"SELECT count(*) FROM {store.physical('positions')}", [], 1, 60)
    rng = np.random.default_rng(args.seed)
    ids = [rows[i][0] for i in rng.choice(len(rows), size=min(args.n, len(rows)),
                                          replace=False)]
    base = f"http://127.0.0.1:{args.port}"
    results: dict = {"positions": count[0][0], "cards": len(ids),
                     "machine": f"{platform.node()} {platform.processor() or platform.machine()}"}
    with chromium() as browser:
        # cold: a fresh server and an empty browser cache
        server = start_server(url, args.port)
        try:
            page, log = logged_page(browser)
            first, every, shown = map_ms(page, base + "/")
            results["map_cold"] = {"first_markers_ms": round(first, 1),
                                   "all_markers_ms": round(every, 1), "markers": shown}
            first, every, shown = map_ms(page, base + "/", reload=True)
            results["map_warm"] = {"first_markers_ms": round(first, 1),
                                   "all_markers_ms": round(every, 1), "markers": shown}
            page.context.close()
        finally:
            server.terminate()
            server.wait()
        server = start_server(url, args.port)
        try:
            page, _ = logged_page(browser, height=1400)
            complete, html = card_ms(page, f"{base}/cards/{ids[0]}")
            results["card_cold_server"] = {"complete_ms": round(complete, 1),
                                           "page_received_ms": round(html, 1)}
            page.context.close()
            first_view, warm, first_html, warm_html = [], [], [], []
            for cj_id in ids[1:]:
                page, log = logged_page(browser, height=1400)
                complete, html = card_ms(page, f"{base}/cards/{cj_id}")
                first_view.append(complete)
                first_html.append(html)
                complete, html = card_ms(page, f"{base}/cards/{cj_id}", reload=True)
                warm.append(complete)
                warm_html.append(html)
                if log.foreign(base) or log.console_errors:
                    raise RuntimeError(f"card {cj_id}: {log.foreign(base)} "
                                       f"{log.console_errors}")
                page.context.close()
            results["card_first_view"] = summary(first_view)
            results["card_first_view_page_received"] = summary(first_html)
            results["card_warm"] = summary(warm)
            results["card_warm_page_received"] = summary(warm_html)
        finally:
            server.terminate()
            server.wait()
    results["load_average_1min"] = {"start": load_start, "end": round(os.getloadavg()[0], 2)}
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H%M")
    (args.out / f"{stamp}-portal.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
