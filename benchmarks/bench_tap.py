"""TAP (and with --spectra SSAP, SCS, files) side by side with GAVO DaCHS on the same data.

The anchor (``../shared/anchors/dachs``, set up by its ``setup.sh``) publishes a synthetic
catalogue of 20,400 IRS pointings (``catalog.csv``). This script loads that very table
into our store (SQLite and PostgreSQL: positions only; the spectra are not needed by the
TAP queries), serves each on 127.0.0.1, and runs the anchor's own ``bench.py`` against
DaCHS and against both of ours in one run, then writes the anchor's comparison table.

    python3 benchmarks/bench_tap.py --anchor ../shared/anchors/dachs -n 50 -k 1,8 \\
        --postgres postgresql://postgres@127.0.0.1:5432/cj_bench_tap --out bench-tap

``--workers 1,2`` runs ours once per worker count (gunicorn, ``--server``), all against the
one DaCHS run; ``--skip-sqlite`` measures PostgreSQL only.

Targets (issue 5): cone, TOP 100 and GROUP BY at least 3x, the DISTANCE self-join and the
full download at least 2x faster than DaCHS (median latency, K = 1 and 8). With
``--spectra`` the anchor's 30,498 spectra are written as our products and go through our
own ingest, and the SSAP query and spectrum deliveries are measured too (issue 6: 2x).
"""

from __future__ import annotations

import argparse
import csv
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import closing
from pathlib import Path

ANCHOR_CSV = Path("/var/gavo/inputs/irsatlas/data/catalog.csv")
_COLUMNS = {  # ours <- the anchor's catalog.csv
    "cj_id": "cj_id", "aorkey": "aorkey", "pointing": "pointing", "ra": "ra", "dec": "dec",
    "object_name": "object_name", "simbad_name": "simbad_name", "ned_name": "ned_name",
    "object_type": "obj_class", "redshift": "redshift", "has_lr": "has_lr",
    "has_hr": "has_hr", "snr_lr": "snr", "obs_mjd": "obs_mjd"}


def _value(name: str, text: str):
    if text == "":
        return None
    if name in ("has_lr", "has_hr"):
        return text == "True"
    if name in ("aorkey", "pointing"):
        return int(text)
    if name in ("ra", "dec", "redshift", "snr_lr", "obs_mjd"):
        return float(text)
    return text


def load_catalog(csv_path: Path, url: str) -> int:
    """The anchor's catalogue as our positions table (plus TAP_SCHEMA) in the store."""
    from vo_service.adql.schema import atlas_schema
    from vo_service.protocols.tap_schema import write_tap_schema
    from vo_service.store import open_store, quote_identifier
    from vo_service.store.healpix import healpix_index

    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    store = open_store(url)
    names = [*_COLUMNS, "provenance", "healpix"]
    cells = [[_value(ours, row[theirs]) for ours, theirs in _COLUMNS.items()] for row in rows]
    pix = healpix_index([c[3] for c in cells], [c[4] for c in cells])
    data = [(*c, "anchor-synthetic", int(h)) for c, h in zip(cells, pix, strict=True)]
    if store.dialect == "sqlite":
        store.path.unlink(missing_ok=True)
    with closing(store.connect(readonly=False)) as conn:
        cur = conn.cursor()
        for statement in store.ddl():
            cur.execute(statement)
        table = store.physical("positions")
        cur.execute(f"DELETE FROM {table}")
        cur.executemany(f"INSERT INTO {table} ({', '.join(map(quote_identifier, names))}) "
                        f"VALUES ({', '.join([store.mark] * len(names))})", data)
        write_tap_schema(store, cur, atlas_schema(store).tables)
        conn.commit()
        if store.dialect == "postgresql":
            conn.autocommit = True
            conn.execute(f"VACUUM ANALYZE {table}")
        else:
            conn.execute("ANALYZE")
    return len(data)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_LR_SEGMENTS = ((7.6, "SL2"), (14.3, "SL1"), (20.6, "LL2"), (99.0, "LL1"))
_HR_SEGMENTS = ((19.3, "SH11"), (99.0, "LH11"))


def _anchor_spectrum(path: Path, arm: str, snr: float):
    """One of the anchor's spectrum files (a BINTABLE of big-endian WAVELENGTH, FLUX,
    FLUX_ERR after two header blocks) as our Spectrum, one segment per IRS module."""
    import numpy as np

    from pipeline.products import Spectrum, variant_key

    blob = path.read_bytes()
    n = int(blob[2880:5760].split(b"NAXIS2  =")[1][:21])
    data = np.frombuffer(blob, dtype=[("w", ">f4"), ("f", ">f4"), ("e", ">f4")], count=n,
                         offset=5760)
    wl = data["w"].astype(float)
    bounds = _LR_SEGMENTS if arm == "LR" else _HR_SEGMENTS
    segment = np.array([next(name for top, name in bounds if w < top) for w in wl])
    key = variant_key(arm, *(("bynod", "optimal", "common") if arm == "LR" else
                             ("none", "fullap", "nodcomb")), "point")
    return Spectrum.from_key(key, wl, data["f"].astype(float), data["e"].astype(float),
                             segment, selected=True, snr=snr), key


def write_anchor_products(data_dir: Path, out: Path) -> int:
    """The anchor's atlas (catalogue + spectra) as our product files, so our own ingest
    builds every table (positions, spectra, arrays, ObsCore) from the very same data."""
    from pipeline.products import Product, Provenance, Selection, write_product

    with (data_dir / "catalog.csv").open() as fh:
        positions = {row["cj_id"]: row for row in csv.DictReader(fh)}
    spectra: dict[str, list[dict]] = {}
    with (data_dir / "spectra.csv").open() as fh:
        for row in csv.DictReader(fh):
            spectra.setdefault(row["cj_id"], []).append(row)
    out.mkdir(parents=True, exist_ok=True)
    for cj_id, row in positions.items():
        made, selection = [], {}
        for srow in spectra.get(cj_id, []):
            spectrum, key = _anchor_spectrum(data_dir / srow["accref"].split("data/", 1)[1],
                                             srow["res"], float(srow["snr"]))
            made.append(spectrum)
            selection[srow["res"]] = Selection(key, ("the anchor's one spectrum",))
        product = Product(
            cj_id, int(row["aorkey"]), int(row["pointing"]), row["object_name"],
            float(row["ra"]), float(row["dec"]), float(row["ra"]), float(row["dec"]),
            simulated=True, provenance=Provenance(), selection=selection,
            metadata={"mjd_obs": float(row["obs_mjd"]), "object_type": row["obj_class"],
                      "modules": ["SL", "LL", "SH", "LH"]},
            spectra=tuple(made))
        write_product(product, out, fsync=False)
    return len(positions)


def _serve(url: str, workers: int, port: int | None = None, server: str = "waitress"
           ) -> tuple[subprocess.Popen, int]:
    """``cassisjuice serve`` in a subprocess (as deployed), once it answers."""
    if port:  # another server there would answer in its place
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise RuntimeError(f"port {port} is taken")
    port = port or _free_port()
    process = subprocess.Popen([sys.executable, "-m", "vo_service.cli", "serve", "--store",
                                url, "--port", str(port), "--workers", str(workers),
                                "--server", server],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/tap/availability", timeout=2)
            return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the server did not start")


def stop_server(process: subprocess.Popen) -> None:
    """SIGINT (the server closes itself), then SIGTERM: a process started in the
    background of a non-interactive shell inherits SIGINT ignored (POSIX)."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(timeout=30)


def _mapping(name: str, port: int, path: Path, full_format: str | None = None,
             spectra: bool = False) -> Path:
    mapping = {
        "name": name, "base_url": f"http://127.0.0.1:{port}", "tap_url": "{base}/tap",
        "ssap_url": "{base}/ssa", "scs_url": "{base}/scs",
        "catalog_table": "cassisjuice.positions",
        "columns": {"id": "cj_id", "ra": "ra", "dec": "dec", "order_by": "snr_lr",
                    "group_by": "object_type"},
        "tap_params": {"MAXREC": "100000"}, "tap_full_params": {},
        "csv_format": "text/csv", "ssap_params": {}, "scs_params": {}, "files": {},
        "skip": [] if spectra else ["ssap_pos_band", "scs_cone"], "overrides": {}}
    if spectra:  # the same spectrum as the anchor's mapping: 28549681_1, LR
        did = "ivo%3A%2F%2Fcassisjuice.invalid%2Fcassisjuice%3F28549681_1%2FLR"
        mapping["files"] = {
            "spectrum_fits": "{base}/spectra/28549681_1/LR/best?format=fits",
            "datalink_meta": "{base}/datalink/links?ID=" + did,
            "spectrum_sdm_votable": "{base}/spectra/28549681_1/LR/best?format=votable"}
    if full_format:  # the full download in a named serialization (e.g. votable/td)
        mapping["overrides"]["tap_full"] = {"params": {
            "REQUEST": "doQuery", "LANG": "ADQL", "MAXREC": "100000",
            "RESPONSEFORMAT": full_format,
            "QUERY": "SELECT cj_id, ra, dec FROM cassisjuice.positions"}}
    path.write_text(json.dumps(mapping, indent=1))
    return path


def distinct_files(base: str, paths: list[str], clients: int) -> dict:
    """Each of ``paths`` fetched once, by ``clients`` keep-alive connections in parallel:
    no two requests ask for the same file, so no cache of ours or of DaCHS's can answer
    (the anchor's bench.py repeats one URL). Median and p95 latency (ms), files/s."""
    import http.client
    import statistics
    import threading
    from urllib.parse import urlsplit

    host = urlsplit(base)
    todo, lock, times, failures = list(reversed(paths)), threading.Lock(), [], []

    def client() -> None:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        while True:
            with lock:
                if not todo:
                    break
                path = todo.pop()
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - start) * 1e3
            with lock:
                times.append(elapsed)
                if response.status != 200 or not body.startswith(b"SIMPLE"):
                    failures.append((path, response.status))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    times.sort()
    return {"clients": clients, "files": len(paths), "failures": len(failures),
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "files_per_s": round(len(paths) / wall, 1)}


def _distinct_paths(data_dir: Path, n: int, offset: int) -> tuple[list[str], list[str]]:
    """n LR spectra of the anchor (a deterministic spread over the atlas): DaCHS's
    getproduct paths and ours."""
    with (data_dir / "spectra.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["res"] == "LR"]
    step = max(1, len(rows) // (2 * n))
    chosen = rows[offset::step][:n]
    return ([f"/getproduct/{r['accref']}" for r in chosen],
            [f"/spectra/{r['cj_id']}/LR/best?format=fits" for r in chosen])


def _run_distinct(base: str, args, which: int) -> list[dict]:
    """distinct_files at each client count, a different set of files per count (so no
    count finds the files of the previous one in a cache)."""
    out = []
    for i, clients in enumerate(int(k) for k in args.k.split(",")):
        paths = _distinct_paths(args.csv.parent, args.distinct, i)[which]
        out.append(distinct_files(base, paths, clients))
        print(f"   distinct files, K={clients}: {out[-1]}", flush=True)
    return out


def _distinct_table(distinct: dict[str, list[dict]]) -> str:
    lines = ["", "### Distinct spectrum files (FITS, each requested once: no cache helps)", "",
             "| service | K | median ms | p95 ms | files/s | failures |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, rows in distinct.items():
        lines += [f"| {name} | {r['clients']} | {r['median_ms']} | {r['p95_ms']} | "
                  f"{r['files_per_s']} | {r['failures']} |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor", type=Path, default=Path("../shared/anchors/dachs"))
    parser.add_argument("--csv", type=Path, default=ANCHOR_CSV)
    parser.add_argument("--postgres", help="an empty PostgreSQL database for our store")
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("-k", default="1,8")
    parser.add_argument("--connection", default="keepalive", choices=["keepalive", "close"])
    parser.add_argument("--out", type=Path, default=Path("bench-tap"))
    parser.add_argument("--skip-dachs", action="store_true")
    parser.add_argument("--spectra", action="store_true",
                        help="load the anchor's spectra too (as products, through our ingest) "
                        "and run the SSAP, SCS and file queries (issue 6)")
    parser.add_argument("--full-format", help="RESPONSEFORMAT of our tap_full (default: "
                        "none, i.e. BINARY2 for these POST requests); votable/td for TABLEDATA")
    parser.add_argument("--distinct", type=int, default=300,
                        help="with --spectra: distinct spectrum files fetched per client "
                        "count (every request a different file; 0 skips)")
    parser.add_argument("--workers", default="2",
                        help="server processes of ours (cassisjuice serve --workers), "
                        "comma-separated for one run each, e.g. 1,2 (default 2)")
    parser.add_argument("--server", default="gunicorn", choices=("gunicorn", "waitress"),
                        help="our WSGI server (default gunicorn; waitress: one process)")
    parser.add_argument("--only", help="comma-separated query names (bench.py --only)")
    parser.add_argument("--skip-sqlite", action="store_true",
                        help="measure only the PostgreSQL store (with --postgres)")
    parser.add_argument("--reuse", action="store_true",
                        help="--postgres (and --sqlite) already hold the anchor's atlas "
                        "(e.g. bench_latency.py's stores): serve them as they are")
    parser.add_argument("--sqlite", type=Path,
                        help="with --reuse: the SQLite store to serve")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    bench = args.anchor / "bench.py"
    work = Path(tempfile.mkdtemp(prefix="bench-tap-"))
    sqlite = args.sqlite if args.reuse and args.sqlite else work / "atlas.sqlite"
    stores = {} if args.skip_sqlite else {"ours-sqlite": f"sqlite:///{sqlite}"}
    if args.postgres:
        stores["ours-postgresql"] = args.postgres
    worker_counts = [int(w) for w in str(args.workers).split(",")]
    results = []
    if not args.skip_dachs:
        out = args.out / "dachs"
        subprocess.run([sys.executable, str(bench), "--mapping",
                        str(args.anchor / "mapping_dachs.json"), "-n", str(args.n), "-k",
                        args.k, "--connection", args.connection, "--out", str(out),
                        *(["--only", args.only] if args.only else [])],
                       check=True)
        results.append(f"dachs={out}.json")
    products, distinct = None, {}
    if args.spectra and args.distinct and not args.skip_dachs:
        distinct["dachs"] = _run_distinct(json.loads(
            (args.anchor / "mapping_dachs.json").read_text())["base_url"], args, 0)
    if args.spectra and not args.reuse:
        products = work / "products"
        count = write_anchor_products(args.csv.parent, products)
        print(f"{count} anchor positions written as products", flush=True)
    for name, url in stores.items():
        if args.reuse:
            print(f"{name}: the store as it is", flush=True)
        elif products is not None:
            from vo_service.store.ingest import ingest

            if url.startswith("sqlite:"):
                Path(url[len("sqlite:///"):]).unlink(missing_ok=True)
            print(ingest(products, url).summary(), flush=True)
        else:
            rows = load_catalog(args.csv, url)
            print(f"{name}: {rows} positions loaded", flush=True)
        for workers in worker_counts:
            label = name if len(worker_counts) == 1 else f"{name}-{args.server}-w{workers}"
            process, port = _serve(url, workers, server=args.server)
            try:
                mapping = _mapping(label, port, work / f"mapping_{label}.json",
                                   args.full_format, spectra=args.spectra)
                out = args.out / label
                subprocess.run([sys.executable, str(bench), "--mapping", str(mapping), "-n",
                                str(args.n), "-k", args.k, "--connection", args.connection,
                                "--out", str(out),
                                *(["--only", args.only] if args.only else [])], check=True)
                results.append(f"{label}={out}.json")
                if args.spectra and args.distinct:
                    distinct[label] = _run_distinct(f"http://127.0.0.1:{port}", args, 1)
            finally:
                stop_server(process)
    comparison = subprocess.run([sys.executable, str(args.anchor / "compare.py"), *results],
                                check=True, capture_output=True, text=True).stdout
    if distinct:
        (args.out / "distinct.json").write_text(json.dumps(distinct, indent=1))
        comparison += _distinct_table(distinct)
    (args.out / "comparison.md").write_text(comparison)
    print(comparison)


if __name__ == "__main__":
    main()
