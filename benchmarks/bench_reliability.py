"""Reliability under a mixed load: N clients on loopback for a chosen duration, counting
every answer that is not the expected one and sampling the server's memory.

The server runs as ``cassisjuice serve`` in a subprocess (so its RSS is its own). Each
client loops over a weighted mix of requests until the time is up:

* TAP sync (ADQL: cone, TOP n, GROUP BY, a join), TAP async (create with PHASE=RUN,
  poll with WAIT, fetch the result, DELETE the job),
* SSAP queries, Cone Search, Datalink {links}, SODA cut-outs,
* spectrum files (SDM VOTable, FITS) and PNG previews.

A request is an error when its status is not 200 (303 for job creation), its body is
empty, or it raised (timeout, connection reset). The report gives the errors by request
kind and status, latency percentiles and the server's RSS over time; ``--out`` writes it
as JSON. Not a test: run by hand (README "Benchmarks")::

    python3 benchmarks/bench_reliability.py --clients 8 --duration 600
    python3 benchmarks/bench_reliability.py --store postgresql://postgres@127.0.0.1/cj \\
        --clients 8 --duration 120 --out bench-reliability.json

Without ``--store`` a demonstration atlas (``--positions``) is built in a temporary
directory first.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode

import psutil

ADQL = [
    "SELECT cj_id, ra, dec FROM cassisjuice.positions WHERE 1 = CONTAINS(POINT('ICRS', ra, "
    "dec), CIRCLE('ICRS', {ra:.3f}, {dec:.3f}, 20))",
    "SELECT TOP 50 * FROM cassisjuice.positions ORDER BY snr_lr DESC",
    "SELECT arm, COUNT(*) AS n, AVG(snr) AS snr FROM cassisjuice.spectra GROUP BY arm",
    "SELECT p.cj_id, s.arm, s.variant FROM cassisjuice.positions AS p JOIN "
    "cassisjuice.spectra AS s ON s.cj_id = p.cj_id WHERE s.selected = 1",
    "SELECT TOP 20 obs_publisher_did, access_url, em_min, em_max FROM ivoa.obscore",
]
#: request kind -> weight in the mix
MIX = {"tap_sync": 4, "tap_async": 1, "ssap": 3, "scs": 3, "datalink": 2, "soda": 1,
       "spectrum": 3, "preview": 1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, data: bytes | None = None, method: str | None = None,
         timeout: float = 120) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, data=data, method=method)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), dict(exc.headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # the 303 of job creation is checked
        return None


class Load:
    """The mix, the targets it draws from, and the tallies (thread-safe)."""

    def __init__(self, base: str, dids: list[str], seed: int) -> None:
        self.base, self.dids = base, dids
        self.seed = seed
        self.lock = threading.Lock()
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.examples: dict[str, str] = {}

    def _record(self, kind: str, outcome: str, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.statuses[kind][outcome] += 1
            self.latencies[kind].append(seconds)
            if outcome != "ok" and f"{kind} {outcome}" not in self.examples:
                self.examples[f"{kind} {outcome}"] = detail[:300]

    def one(self, kind: str, rng: random.Random) -> None:
        start = time.monotonic()
        try:
            outcome, detail = getattr(self, kind)(rng)
        except Exception as exc:  # a timeout or reset counts as an error of its kind
            outcome, detail = type(exc).__name__, str(exc)
        self._record(kind, outcome, time.monotonic() - start, detail)

    @staticmethod
    def _check(status: int, body: bytes, expected: int = 200) -> tuple[str, str]:
        if status != expected:
            return str(status), body[-300:].decode("utf-8", "replace")
        if not body and expected == 200:
            return "empty", ""
        return "ok", ""

    def tap_sync(self, rng):
        query = rng.choice(ADQL).format(ra=rng.uniform(0, 360), dec=rng.uniform(-90, 90))
        status, body, _ = _get(f"{self.base}/tap/sync?" + urlencode(
            {"LANG": "ADQL", "QUERY": query, "MAXREC": "1000"}))
        return self._check(status, body)

    def tap_async(self, rng):
        query = rng.choice(ADQL).format(ra=rng.uniform(0, 360), dec=rng.uniform(-90, 90))
        form = urlencode({"LANG": "ADQL", "QUERY": query, "PHASE": "RUN"}).encode()
        status, body, headers = _get(f"{self.base}/tap/async", data=form)
        if status != 303:
            return self._check(status, body, 303)
        job = headers["Location"]
        try:
            phase = "PENDING"
            for _ in range(30):  # at most 30 x WAIT=2 s (UWS 1.1 sec. 2.2.1.1)
                status, body, _ = _get(f"{job}?WAIT=2")
                if status != 200:
                    return self._check(status, body)
                found = re.search(rb"<uws:phase>(\w+)</uws:phase>", body)
                phase = found.group(1).decode() if found else "?"
                if phase in ("COMPLETED", "ERROR", "ABORTED"):
                    break
            if phase != "COMPLETED":
                return f"phase {phase}", job
            status, body, _ = _get(f"{job}/results/result")
            return self._check(status, body)
        finally:
            _get(job, method="DELETE")

    def ssap(self, rng):
        status, body, _ = _get(f"{self.base}/ssa?POS={rng.uniform(0, 360):.3f},"
                               f"{rng.uniform(-90, 90):.3f}&SIZE={rng.choice([1, 30, 360])}")
        return self._check(status, body)

    def scs(self, rng):
        status, body, _ = _get(f"{self.base}/scs?RA={rng.uniform(0, 360):.3f}&DEC="
                               f"{rng.uniform(-90, 90):.3f}&SR={rng.choice([0.1, 5, 10])}")
        return self._check(status, body)

    def datalink(self, rng):
        did = quote(rng.choice(self.dids), safe="")
        status, body, _ = _get(f"{self.base}/datalink/links?ID={did}")
        return self._check(status, body)

    def soda(self, rng):
        did = quote(rng.choice(self.dids), safe="")
        low = rng.uniform(6e-6, 1.2e-5)  # 20 um wide: overlaps every IRS module's range
        status, body, _ = _get(f"{self.base}/soda?ID={did}&BAND={low:.3e}%20{low + 2e-5:.3e}")
        return self._check(status, body)

    def _spectrum(self, rng, fmt: str):
        path = rng.choice(self.dids).split("?", 1)[1]
        status, body, _ = _get(f"{self.base}/spectra/{path}?format={fmt}")
        outcome = self._check(status, body)
        if outcome[0] == "ok" and fmt == "png" and not body.startswith(b"\x89PNG"):
            return "not png", body[:100].decode("latin-1")
        return outcome

    def spectrum(self, rng):
        return self._spectrum(rng, rng.choice(["votable", "fits"]))

    def preview(self, rng):
        return self._spectrum(rng, "png")


def _client(load: Load, k: int, deadline: float) -> None:
    rng = random.Random(load.seed * 1000 + k)
    kinds, weights = zip(*MIX.items(), strict=True)
    while time.monotonic() < deadline:
        load.one(rng.choices(kinds, weights)[0], rng)


def _demo_store(positions: int, where: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "vo_service.cli", "demo", "--dir",
                          str(where), "--positions", str(positions), "--seed", "3",
                          "--no-serve"], capture_output=True, text=True, check=False)
    if out.returncode:
        sys.exit(f"demo failed: {out.stdout}{out.stderr}")
    return f"sqlite:///{where / 'atlas.sqlite'}"


def _wait_up(base: str, proc: subprocess.Popen) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit("the server exited at start-up")
        try:
            if _get(f"{base}/tap/availability", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("the server did not come up in 60 s")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="cj_reliability_") as tmp:
        store = args.store or _demo_store(args.positions, Path(tmp) / "atlas")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "CASSISJUICE_FILE_CACHE_BYTES": str(args.file_cache_bytes)}
        # the server's log goes to a file: a pipe nobody reads until the end fills up
        # (64 kB of waitress's queue-depth warnings) and blocks the server's main loop
        log_path = Path(tmp) / "server.log"
        log_file = log_path.open("w")
        proc = subprocess.Popen([sys.executable, "-m", "vo_service.cli", "serve", "--store",
                                 store, "--port", str(port), "--threads", str(args.threads)],
                                stdout=subprocess.DEVNULL, stderr=log_file, text=True,
                                env=env)
        try:
            _wait_up(base, proc)
            body = _get(f"{base}/ssa?POS=0,0&SIZE=360&MAXREC=1000")[1].decode()
            dids = sorted(set(re.findall(r"ivo://[^<\"]+\?[0-9]+_[0-9]+/[LH]R", body)))
            if not dids:
                sys.exit("the store has no spectra")
            server = psutil.Process(proc.pid)
            load = Load(base, dids, args.seed)
            rss = [(0.0, server.memory_info().rss / 2**20)]
            start = time.monotonic()
            deadline = start + args.duration
            clients = [threading.Thread(target=_client, args=(load, k, deadline), daemon=True)
                       for k in range(args.clients)]
            for client in clients:
                client.start()
            while any(c.is_alive() for c in clients):
                time.sleep(min(args.sample_s, max(0.1, deadline - time.monotonic())))
                rss.append((round(time.monotonic() - start, 1),
                            server.memory_info().rss / 2**20))
            for client in clients:
                client.join()
            elapsed = time.monotonic() - start
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log_file.close()
            stderr = log_path.read_text(errors="replace")
    tracebacks = stderr.count("Traceback")
    kinds = {}
    for kind in MIX:
        counts = load.statuses.get(kind, Counter())
        lat = load.latencies.get(kind, [])
        kinds[kind] = {"requests": sum(counts.values()), "ok": counts.get("ok", 0),
                       "errors": {k: v for k, v in counts.items() if k != "ok"},
                       "p50_s": round(_percentile(lat, 0.5), 4),
                       "p95_s": round(_percentile(lat, 0.95), 4)}
    return {
        "store": store if args.store else f"demo atlas, {args.positions} positions (SQLite)",
        "clients": args.clients, "threads": args.threads, "duration_s": round(elapsed, 1),
        "file_cache_bytes": args.file_cache_bytes,
        "requests": sum(k["requests"] for k in kinds.values()),
        "errors": sum(sum(k["errors"].values()) for k in kinds.values()),
        "kinds": kinds, "error_examples": load.examples,
        "server_tracebacks_logged": tracebacks,
        "rss_mb": [(t, round(m, 1)) for t, m in rss],
    }


def _print(report: dict) -> None:
    print(f"{report['store']}: {report['clients']} clients, {report['threads']} threads, "
          f"{report['duration_s']} s, {report['requests']} requests, "
          f"{report['errors']} errors, {report['server_tracebacks_logged']} tracebacks "
          "in the server log")
    print(f"{'kind':10} {'requests':>8} {'errors':>7} {'p50 s':>8} {'p95 s':>8}  by status")
    for kind, k in report["kinds"].items():
        print(f"{kind:10} {k['requests']:8d} {sum(k['errors'].values()):7d} "
              f"{k['p50_s']:8.3f} {k['p95_s']:8.3f}  {k['errors'] or ''}")
    for what, detail in report["error_examples"].items():
        print(f"  e.g. {what}: {detail}")
    rss = report["rss_mb"]
    step = max(1, len(rss) // 12)
    print("server RSS (s: MB): " + ", ".join(f"{t:g}: {m:.0f}" for t, m in rss[::step]
                                              + ([rss[-1]] if (len(rss) - 1) % step else [])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", help="store URL (default: a demo atlas built first)")
    parser.add_argument("--positions", type=int, default=30, help="demo atlas size")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="server request threads")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--sample-s", type=float, default=5.0, help="RSS sampling period")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--file-cache-bytes", type=int, default=0,
                        help="the server's file cache (default 0: every spectrum and "
                        "preview is read from the store and rendered)")
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args(argv)
    report = run(args)
    _print(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
