"""``cassisjuice demo``: the demonstration atlas, built and served on 127.0.0.1.

Simulates a small raw atlas (``DIR/raw``, truth in ``DIR/truth``), reduces it
(``DIR/products``), ingests it with the real CASSIS files shipped in
``vo_service/data/cassis_examples`` (``DIR/atlas.sqlite``) and serves it. Every stage reuses
what an earlier run built: the simulation is kept, the reduction resumes, the ingest skips
unchanged IDs.

The portal's browser libraries (Aladin Lite, sampjs) come from npm, which ``pip install``
does not run: before serving, a demo run from a checkout installs them with
``deploy/install-web-assets.sh`` when they are missing and npm is there (a second run finds
them); without them the portal says how to install them and everything else works.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.run import ReduceError, reduce_atlas
from pipeline.simulate.run import SimulationError, simulate
from vo_service.config import ConfigError, Settings
from vo_service.store.ingest import IngestError, ingest

from . import positive_int, seed

NAME = "demo"
USER_ERRORS = (SimulationError, ReduceError, IngestError, ConfigError, OSError)

log = logging.getLogger("cassisjuice")


def add_parser(sub) -> argparse.ArgumentParser:
    demo = sub.add_parser(
        NAME, help="build the demonstration atlas in ./demo-atlas and serve it",
        description="Simulate, reduce, ingest and serve a small atlas on 127.0.0.1; a second "
        "run reuses what is already built.")
    demo.add_argument("--dir", type=Path, default=Path("demo-atlas"),
                      help="where the simulation, products and atlas go (default "
                      "demo-atlas)")
    demo.add_argument("--positions", type=positive_int, default=30,
                      help="positions to simulate (default 30)")
    demo.add_argument("--seed", type=seed, default=1,
                      help="random seed of the simulation (default 1)")
    demo.add_argument("--port", type=positive_int, default=8000,
                      help="port the server listens on, on 127.0.0.1 (default 8000)")
    demo.add_argument("--no-serve", action="store_true",
                      help="build the atlas and stop (no server)")
    return demo


#: real CASSIS files (see their PROVENANCE.md), ingested by every demo
_EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "cassis_examples"


def build(directory: Path, positions: int, seed_value: int) -> str:
    """Simulate, reduce and ingest as needed; the store URL."""
    raw = directory / "raw"
    if raw.is_dir() and any(raw.iterdir()):
        log.info("reusing the simulated raw atlas in %s", directory)
    else:
        simulate(directory, positions, seed_value, level="raw", progress=True)
    report = reduce_atlas(raw, directory / "products", progress=True)
    sys.stdout.write(report.summary() + "\n")
    # real CASSIS atlas files shipped as examples are published beside the simulated ones
    for example in sorted(_EXAMPLES.glob("cassis_*")):
        target = directory / "products" / example.name
        if not target.exists():
            shutil.copyfile(example, target)
    url = f"sqlite:///{(directory / 'atlas.sqlite').resolve()}"
    sys.stdout.write(ingest(directory / "products", url).summary() + "\n")
    return url


_CHECKOUT = Path(__file__).resolve().parents[2]


def ensure_web_assets() -> None:
    """Install the portal's npm libraries into the checkout when they are missing."""
    script = _CHECKOUT / "deploy" / "install-web-assets.sh"
    present = (_CHECKOUT / "portal" / "node_modules" / "aladin-lite" / "dist" /
               "aladin.js").is_file()
    if present or not script.is_file():
        return
    if shutil.which("npm") is None:
        log.warning("the portal's sky map needs Aladin Lite: install npm and run "
                    "sh deploy/install-web-assets.sh")
        return
    done = subprocess.run(["sh", str(script)], check=False)
    if done.returncode:
        log.warning("the portal's browser libraries could not be installed (npm failed); "
                    "the portal works without its sky map")


def run(args: argparse.Namespace) -> int:
    url = build(args.dir, args.positions, args.seed)
    if args.no_serve:
        sys.stdout.write(f"demo atlas ready: {url}\n")
        return 0
    from .serve import build_server, serve_forever

    ensure_web_assets()
    server = build_server(Settings.load(store_url=url), "127.0.0.1", args.port)
    base = f"http://127.0.0.1:{server.effective_port}"
    sys.stdout.write(
        f"serving the demo atlas at {base}/ (Ctrl-C to stop)\n"
        f"  portal (sky map, search, ID cards) for a browser: {base}/\n"
        f"  TAP (TOPCAT: VO > Table Access Protocol; pyvo.dal.TAPService): {base}/tap\n"
        f"  SSAP (TOPCAT: VO > SSA; SPLAT-VO; pyvo.dal.SSAService): {base}/ssa\n"
        f"  Cone Search (TOPCAT: VO > Cone Search; Aladin): {base}/scs\n"
        f"  coverage MOC (Aladin: File > Load, or A.MOCFromURL): {base}/moc\n"
        f"  Datalink {base}/datalink/links?ID=..., SODA cut-outs {base}/soda\n"
        f"  SLAP line list (SPLAT-VO, CASSIS; pyvo.dal.SLAService): {base}/slap\n"
        f"  similarity {base}/similar, templates {base}/template, line coverage "
        f"{base}/linecoverage, names {base}/names (examples: {base}/tools/examples)\n")
    serve_forever(server)
    return 0
