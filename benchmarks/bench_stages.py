"""Where the time of one small request goes, stage by stage (median of many repeats).

A TAP sync request is taken apart into what ``/tap/sync`` does, each stage timed on its
own in this process: parameters, ADQL translation, SQL (execute and fetch), the rows
turned into columns and checked, the VOTable head (RESOURCE, INFOs, FIELDs), the DATA
element (BINARY2 or another format), then the whole request through the app in this
process (column ``flask``: werkzeug's test client through the app's middleware, where TAP
sync queries, spectrum files and Datalink documents are answered before Flask, and Flask
for the rest) and through ``cassisjuice serve`` on a real socket with
a new connection per request (the HTTP server and the kernel). The same split is printed
for the other small endpoints (Cone Search, SSAP, the Datalink document, a spectrum file)
as whole requests in the app and over HTTP.

    PYTHONPATH=. python3 benchmarks/bench_stages.py --store sqlite:///atlas.sqlite \\
        [--store postgresql://...] [-n 300] [--port 18510] [--clock cpu] [--out results.json]

The store is any atlas (e.g. the anchor's 20,400 positions loaded by ``bench_tap.py``).
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_tap import _serve, stop_server

CONE = ("SELECT * FROM cassisjuice.positions WHERE "
        "1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 83.8, -5.4, 0.5))")
QUERIES = {
    "tap_cone": CONE,
    "tap_top100": "SELECT TOP 100 cj_id, ra, dec FROM cassisjuice.positions ORDER BY snr_lr DESC",
    "tap_groupby": "SELECT object_type, COUNT(*) AS n FROM cassisjuice.positions "
                   "GROUP BY object_type",
    "tap_fixed": "SELECT TOP 1 * FROM TAP_SCHEMA.tables",
    "tap_full": "SELECT cj_id, ra, dec FROM cassisjuice.positions",
}


#: the clock of the in-process stages: wall time, or this thread's CPU time (``--clock
#: cpu``), which a machine shared with other work disturbs far less; the HTTP stage is
#: always wall time (its work is in the server process)
CLOCK = {"wall": time.perf_counter, "cpu": time.thread_time}
_clock = time.perf_counter


def _median_ms(call, n: int, clock=None) -> float:
    clock = clock or _clock
    call()  # warm
    times = []
    for _ in range(n):
        start = clock()
        call()
        times.append((clock() - start) * 1e3)
    return round(statistics.median(times), 3)


def tap_stages(store, schema, query: str, fmt: str, n: int) -> dict[str, float]:
    """Each stage of a TAP sync request in this process, ms (medians)."""
    from vo_service.adql.translate import translate
    from vo_service.config import Settings
    from vo_service.protocols import tap as tap_core
    from vo_service.votable.formats import TableWriter

    settings = Settings()
    params = {"LANG": "ADQL", "QUERY": query, "MAXREC": "100000", "RESPONSEFORMAT": fmt}
    tap = tap_core.parse_query(params.get, lambda _: None, settings, binary_default=True)
    translation, sql = tap_core._translate(store, schema, tap)
    fields = translation.fields()

    def fetch():
        with store.query_chunks(sql, [], tap.maxrec, 60, None, tap_core.CHUNK_ROWS,
                                translation.row_bound) as rows:
            return [chunk for chunk in rows]

    chunks = fetch()
    columns = [translation.values(c) for c in chunks]
    descriptors, ids = tap_core._datalink(fields, "http://127.0.0.1")

    def head():
        return TableWriter(tap.writer, fields, infos=[("QUERY", query)],
                           descriptors=descriptors, field_ids=ids).start()

    def body():
        writer = TableWriter(tap.writer, fields, infos=[("QUERY", query)],
                             descriptors=descriptors, field_ids=ids)
        writer.start()
        out = [writer.rows(c) for c in columns]
        out.extend(writer.end())
        return out

    def whole():
        return b"".join(tap_core.run_query(store, schema, tap, 60, "http://127.0.0.1"))

    def values():
        for c in chunks:
            tap_core._check_values(fields, translation.values(c))

    return {
        "rows": sum(map(len, chunks)), "columns": len(fields),
        "params": _median_ms(lambda: tap_core.parse_query(
            params.get, lambda _: None, settings, binary_default=True), n),
        # the ADQL parse and translation, then the same query again (kept per query text)
        "translate": _median_ms(lambda: translate(query, schema, store.dialect,
                                                  limit=tap.maxrec + 1), n),
        "translated": _median_ms(lambda: tap_core._translate(store, schema, tap), n),
        "sql": _median_ms(fetch, n),
        "values": _median_ms(values, n),
        "head": _median_ms(head, n),
        "head+body": _median_ms(body, n),
        "run_query": _median_ms(whole, n),
    }


def flask_ms(client, method: str, path: str, n: int, data=None) -> float:
    def call():
        response = client.open(path, method=method, data=data)
        response.get_data()
        assert response.status_code == 200, (path, response.status_code)

    return _median_ms(call, n)


def http_ms(port: int, method: str, path: str, n: int, data=None) -> float:
    """A new connection per request (``Connection: close``), as the anchor's bench.py."""
    from urllib.parse import urlencode

    body = urlencode(data).encode() if data else None
    headers = {"Connection": "close"}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"

    def call():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        assert response.status == 200, (path, response.status)

    return _median_ms(call, n, time.perf_counter)


def _some_spectrum(store) -> tuple[str, str]:
    _, rows = store._rows(f"SELECT cj_id, arm FROM {store.physical('spectra')} "
                          "ORDER BY spectrum_id LIMIT 1", [])
    return rows[0] if rows else ("none", "LR")


def run(url: str, n: int, port: int) -> dict:
    from vo_service.adql.schema import atlas_schema
    from vo_service.app import create_app
    from vo_service.config import Settings
    from vo_service.store import open_store

    store = open_store(url)
    schema = atlas_schema(store)
    out: dict = {"store": store.dialect, "tap": {}, "endpoints": {}}
    settings = Settings(store_url=url, file_cache_bytes=0)
    client = create_app(settings).test_client()
    process, port = _serve(url, 1, port)
    gc.collect()
    try:
        for name, query in QUERIES.items():
            for fmt in (["votable/b2", "csv"] if name == "tap_full" else ["votable/b2"]):
                stages = tap_stages(store, schema, query, fmt, n if name != "tap_full" else
                                    max(10, n // 10))
                data = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query,
                        "MAXREC": "100000", "RESPONSEFORMAT": fmt}
                m = n if name != "tap_full" else max(10, n // 10)
                stages["flask"] = flask_ms(client, "POST", "/tap/sync", m, data)
                stages["http"] = http_ms(port, "POST", "/tap/sync", m, data)
                key = name if fmt == "votable/b2" else f"{name}_csv"
                out["tap"][key] = stages
                print(f"{store.dialect} {key}: {stages}", flush=True)
        cj_id, arm = _some_spectrum(store)
        did = f"ivo%3A%2F%2Fcassisjuice.invalid%2Fcassisjuice%3F{cj_id}%2F{arm}"
        for name, path in {
                "scs_cone": "/scs?RA=83.8&DEC=-5.4&SR=0.5",
                "ssap_pos_band": "/ssa?REQUEST=queryData&POS=83.8,-5.4&SIZE=0.5"
                                 "&BAND=5.5e-6/9e-6",
                "datalink_doc": f"/datalink/links?ID={did}",
                "spectrum_fits": f"/spectra/{cj_id}/{arm}/best?format=fits",
                "availability": "/tap/availability"}.items():
            cell = {"flask": flask_ms(client, "GET", path, n),
                    "http": http_ms(port, "GET", path, n)}
            out["endpoints"][name] = cell
            print(f"{store.dialect} {name}: {cell}", flush=True)
    finally:
        stop_server(process)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", action="append", required=True)
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--port", type=int, default=18510)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--clock", choices=list(CLOCK), default="wall",
                        help="clock of the in-process stages (HTTP: always wall time)")
    args = parser.parse_args()
    global _clock
    _clock = CLOCK[args.clock]
    results = [run(url, args.n, args.port + i) for i, url in enumerate(args.store)]
    for result in results:
        print(f"\n### {result['store']}: TAP stages, ms (medians; in-process stages: "
              f"{args.clock} clock, http: wall clock)\n")
        keys = ["rows", "columns", "params", "translate", "translated", "sql", "values", "head",
                "head+body", "run_query", "flask", "http"]
        print("| query | " + " | ".join(keys) + " |")
        print("|---|" + "---:|" * len(keys))
        for name, stages in result["tap"].items():
            print(f"| {name} | " + " | ".join(str(stages[k]) for k in keys) + " |")
        print(f"\n### {result['store']}: other endpoints, ms (medians; flask: {args.clock} "
              "clock, http: wall clock)\n")
        print("| endpoint | flask | http |\n|---|---:|---:|")
        for name, cell in result["endpoints"].items():
            print(f"| {name} | {cell['flask']} | {cell['http']} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
