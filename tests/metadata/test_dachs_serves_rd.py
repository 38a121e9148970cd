"""A real GAVO DaCHS imports resdir/cassisjuice/q.rd with an atlas and serves it: TAP
returns the atlas's rows, SSAP its spectra, ivoa.obscore its ObsCore rows, and TAP_SCHEMA
lists the tables our own TAP service publishes.

The atlas: the real CASSIS files shipped in vo_service/data/cassis_examples (three
positions, four selected spectra), ingested into a SQLite store and written out by
``cassisjuice export-dachs`` into DaCHS's inputs directory. DaCHS commands run as
``dachsroot`` (the owner of /var/gavo); the queries go to a DaCHS server of our own
(``dachs serve debug`` on a free port), so a DaCHS already serving on this machine is
never restarted; the schema is dropped afterwards.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.http_get import http_get
from vo_service.adql.schema import atlas_schema
from vo_service.cli import main
from vo_service.store import open_store
from vo_service.store.cassis_files import read_cassis_file
from vo_service.store.ingest import ingest

pytestmark = pytest.mark.skipif(shutil.which("dachs") is None,
                                reason="GAVO DaCHS is not installed (deploy/install-dachs.sh)")

EXAMPLES = Path(__file__).resolve().parents[2] / "vo_service" / "data" / "cassis_examples"
RD_FILE = Path(__file__).resolve().parents[2] / "resdir" / "cassisjuice" / "q.rd"
INPUTS = Path("/var/gavo/inputs")
RESDIR = INPUTS / "cassisjuice"
#: the positions of the example files (their names: AORKEY, and _1 for the cluster AOR's
#: second pointing) and the arms each has
EXPECTED = {"9834496_0": {"LR", "HR"}, "14203136_0": {"LR"}, "27551744_1": {"HR"}}


def _as_dachsroot(*command: str, env: dict | None = None, timeout: float = 300,
                  **kwargs) -> subprocess.CompletedProcess:
    prefix = [] if os.environ.get("USER") == "dachsroot" or os.geteuid() != 0 else [
        "runuser", "-u", "dachsroot", "--"]
    extra = [f"{k}={v}" for k, v in (env or {}).items()]
    return subprocess.run([*prefix, "env", *extra, *command], cwd=RESDIR,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tap(base: str, query: str) -> list[dict[str, str]]:
    url = f"{base}/tap/sync?" + urllib.parse.urlencode(
        {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "csv"})
    status, _, body = http_get(url)
    assert status == 200, body[:2000]
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    products = tmp_path_factory.mktemp("cassis")
    for f in EXAMPLES.glob("cassis_yaaar_*.fits"):
        shutil.copy(f, products / f.name)
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'atlas.sqlite'}"
    ingest(products, url)
    return open_store(url)


@pytest.fixture(scope="module")
def imported(atlas, settings):
    """The atlas exported into /var/gavo/inputs/cassisjuice and imported by dachs imp
    (with the settings of the server the tests query: ObsCore's access_url holds the
    server URL DaCHS has at import)."""
    env = {"GAVOCUSTOM": settings[0]}
    if RESDIR.exists():
        _as_dachsroot("dachs", "drop", "q")
        shutil.rmtree(RESDIR)
    assert main(["export-dachs", str(RESDIR), "--store", atlas.url]) == 0
    if os.geteuid() == 0:  # DaCHS's files belong to dachsroot, group gavo
        subprocess.run(["chown", "-R", "dachsroot:gavo", str(RESDIR)], check=True)
    obscore = _as_dachsroot("psql", "gavo", "-Atc", "SELECT to_regclass('ivoa.obscore')")
    if "ivoa.obscore" not in obscore.stdout:  # a fresh DaCHS: the ObsCore view first
        made = _as_dachsroot("dachs", "imp", "//obscore", env=env)
        assert made.returncode == 0, made.stdout + made.stderr
    done = _as_dachsroot("dachs", "imp", "q", env=env)
    assert done.returncode == 0 and "Error" not in done.stdout + done.stderr, \
        done.stdout + done.stderr
    yield RESDIR
    _as_dachsroot("dachs", "drop", "q")
    shutil.rmtree(RESDIR, ignore_errors=True)


#: the UAT (IVOA Unified Astronomy Thesaurus) terms q.rd's subjects use. dachs val checks
#: the subjects of published services against the UAT, which it downloads from
#: www.ivoa.net into its cache; the tests run offline, so they give DaCHS a cache holding
#: these terms (the file name is DaCHS's for that URL).
UAT_TERMS = {"infrared-astronomy": "Infrared astronomy", "spectroscopy": "Spectroscopy",
             "astronomical-databases": "Astronomical databases"}
UAT_CACHE_FILE = "http:=2F=2Fwww.ivoa.net=2Frdf=2Fuat"


@pytest.fixture(scope="module")
def settings():
    """A DaCHS user settings file (GAVOCUSTOM, read after /etc/gavo.rc): the server on a
    free port of 127.0.0.1, the cache (with the UAT terms) in a directory of its own."""
    port = _free_port()
    rc_dir = Path(tempfile.mkdtemp(prefix="cj-dachs-rc-"))
    cache = rc_dir / "cache"
    cache.mkdir()
    (cache / UAT_CACHE_FILE).write_text(json.dumps({
        "uri": "http://www.ivoa.net/rdf/uat", "flavour": "SKOS",
        "terms": {term: {"label": label, "description": "", "wider": [], "narrower": []}
                  for term, label in UAT_TERMS.items()}}), encoding="utf-8")
    rc = rc_dir / "gavorc"
    rc.write_text(f"[general]\ncacheDir: {cache}\n[web]\nbindAddress: 127.0.0.1\n"
                  f"serverPort: {port}\nserverURL: http://127.0.0.1:{port}\n",
                  encoding="utf-8")
    for path in (rc_dir, cache):
        path.chmod(0o777)  # DaCHS runs as dachsroot and may add to its cache
    rc.chmod(0o644)
    yield rc, port
    shutil.rmtree(rc_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def dachs_server(imported, settings):
    """``dachs serve debug`` with the private settings: the machine's DaCHS server, if
    one runs, is left alone."""
    rc, port = settings
    rc_dir = rc.parent
    log = (rc_dir / "serve.log").open("w")
    prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "dachsroot", "--"]
    proc = subprocess.Popen([*prefix, "env", f"GAVOCUSTOM={rc}", "dachs", "serve", "debug"],
                            cwd=RESDIR, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, (rc_dir / "serve.log").read_text()
            try:
                if http_get(f"{base}/tap/availability")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("dachs serve debug did not answer: "
                        + (rc_dir / "serve.log").read_text()[-3000:])
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_dachs_validates_the_resource_descriptor(imported, settings):
    out = _as_dachsroot("dachs", "val", "q", env={"GAVOCUSTOM": settings[0]})
    # dachs val exits 0 even when it fails; its verdict is the last line (OK or Fail)
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert lines and lines[-1].strip() == "OK", out.stdout + out.stderr
    assert not [line for line in lines if "[ERROR]" in line], out.stdout


def test_tap_returns_the_atlas_rows(dachs_server, atlas):
    rows = _tap(dachs_server, "SELECT cj_id, ra, dec, has_lr, has_hr FROM "
                "cassisjuice.positions ORDER BY cj_id")
    assert {r["cj_id"] for r in rows} == set(EXPECTED)
    for r in rows:
        stored = atlas.catalog_row(r["cj_id"])
        assert float(r["ra"]) == pytest.approx(stored["ra"], abs=1e-9)
        assert float(r["dec"]) == pytest.approx(stored["dec"], abs=1e-9)
        arms = {arm for arm, flag in (("LR", r["has_lr"]), ("HR", r["has_hr"]))
                if flag.lower() in ("1", "true", "t")}
        assert arms == EXPECTED[r["cj_id"]]
    spectra = _tap(dachs_server, "SELECT cj_id, arm FROM cassisjuice.spectra "
                   "WHERE selected = 1")
    assert {(r["cj_id"], r["arm"]) for r in spectra} == {
        (cj, arm) for cj, arms in EXPECTED.items() for arm in arms}


def test_tap_publishes_the_tables_our_service_publishes(dachs_server, atlas):
    theirs = {r["table_name"] for r in _tap(
        dachs_server, "SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = "
        "'cassisjuice'")}
    ours = {t.qualified for t in atlas_schema(atlas).tables if t.schema == "cassisjuice"}
    assert "cassisjuice.positions" in theirs and theirs == ours
    obscore = _tap(dachs_server, "SELECT obs_publisher_did, calib_level, dataproduct_type, "
                   "facility_name, instrument_name, access_format FROM ivoa.obscore WHERE "
                   "obs_publisher_did LIKE 'ivo://%/cassisjuice?%'")
    assert sorted(r["obs_publisher_did"].rsplit("?", 1)[1] for r in obscore) == sorted(
        f"{cj}/{arm}" for cj, arms in EXPECTED.items() for arm in arms)
    for r in obscore:
        assert (r["calib_level"], r["dataproduct_type"], r["facility_name"],
                r["instrument_name"]) == ("2", "spectrum", "Spitzer", "IRS")
    # the schema's description is the resource's, in DaCHS's TAP_SCHEMA and in ours
    rd_description = " ".join(next(
        m for m in ET.parse(RD_FILE).getroot().findall("meta")
        if m.get("name") == "description").text.split())
    theirs = _tap(dachs_server, "SELECT description FROM TAP_SCHEMA.schemas WHERE "
                  "schema_name = 'cassisjuice'")
    _, ours, _ = atlas.execute_readonly(
        f"SELECT description FROM {_tap_schema_table(atlas)} WHERE schema_name = "
        "'cassisjuice'", [], 10, 30)
    # (DaCHS's CSV writes a line break inside a field as a backslash and an n)
    assert [" ".join(r["description"].replace("\\n", " ").split()) for r in theirs] == [
        rd_description]
    assert [r[0] for r in ours] == [rd_description]


def _tap_schema_table(store) -> str:
    return '"tap_schema"."schemas"' if store.dialect == "postgresql" else \
        '"tap_schema_schemas"'


def _separation_deg(ra1, dec1, ra2, dec2) -> float:
    """Great-circle distance (haversine), degrees."""
    ra1, dec1, ra2, dec2 = map(math.radians, (ra1, dec1, ra2, dec2))
    h = math.sin((dec2 - dec1) / 2) ** 2 + math.cos(dec1) * math.cos(dec2) * math.sin(
        (ra2 - ra1) / 2) ** 2
    return math.degrees(2 * math.asin(math.sqrt(h)))


def test_obscore_rows_have_a_region_and_link_to_datalink_as_ours_do(dachs_server, atlas):
    """ObsCore 1.1 sec. 4.7 / DataLink 1.1 sec. 3.4: an access_url that is a Datalink
    document says so by its access_format, the same on DaCHS and on our service."""
    from astropy.io import fits
    from astropy.io.votable import parse_single_table

    rows = {r["obs_publisher_did"]: r for r in _tap(
        dachs_server, "SELECT obs_publisher_did, access_url, access_format, s_ra, "
        "s_dec, s_fov, s_region FROM ivoa.obscore WHERE obs_publisher_did LIKE "
        "'ivo://%/cassisjuice?%'")}
    _, ours, _ = atlas.execute_readonly(
        f"SELECT obs_publisher_did, access_format, access_url, em_xel FROM "
        f"{atlas.physical('obscore')}", [], 100, 30)
    assert set(rows) == {did for did, *_ in ours}
    points = {did: n for did, *_, n in ours}
    for did, access_format, access_url, _ in ours:
        assert access_format == "application/x-votable+xml;content=datalink"
        assert access_url.startswith("datalink/links?ID=")  # ours: our Datalink
        assert rows[did]["access_format"] == access_format
    for did, r in rows.items():
        # s_region: a polygon around the aperture circle (centre s_ra, s_dec; diameter
        # s_fov) whose vertices are all at the same distance, just outside the circle
        ra, dec, fov = (float(r[k]) for k in ("s_ra", "s_dec", "s_fov"))
        numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?",
                                                 r["s_region"])]
        assert r["s_region"].lower().startswith("polygon") and len(numbers) == 16, r
        distances = [_separation_deg(ra, dec, a, d)
                     for a, d in zip(numbers[::2], numbers[1::2], strict=True)]
        assert min(distances) > fov / 2 and max(distances) < 0.55 * fov, distances
        assert max(distances) - min(distances) < 1e-3 * fov
        # access_url: DaCHS's Datalink document of this DID, whose #this is the file
        status, headers, body = http_get(r["access_url"])
        assert status == 200 and "content=datalink" in headers["Content-Type"], body[:500]
        links = parse_single_table(io.BytesIO(body)).to_table()
        this = [row for row in links if str(row["semantics"]) == "#this"]
        assert len(this) == 1 and str(this[0]["ID"]) == did
        status, _, data = http_get(str(this[0]["access_url"]))
        with fits.open(io.BytesIO(data)) as hdus:
            assert status == 200 and len(hdus[1].data) == points[did]
    # the region is usable in ADQL: the centres are inside, points beyond it are not
    inside = _tap(dachs_server, "SELECT obs_publisher_did FROM ivoa.obscore WHERE "
                  "obs_publisher_did LIKE 'ivo://%/cassisjuice?%' AND 1 = CONTAINS("
                  "POINT('ICRS', s_ra, s_dec + 0.45 * s_fov), s_region)")
    outside = _tap(dachs_server, "SELECT obs_publisher_did FROM ivoa.obscore WHERE "
                   "obs_publisher_did LIKE 'ivo://%/cassisjuice?%' AND 1 = CONTAINS("
                   "POINT('ICRS', s_ra, s_dec + 0.6 * s_fov), s_region)")
    assert {r["obs_publisher_did"] for r in inside} == set(rows) and outside == []


def test_ssap_returns_the_spectra_with_their_files(dachs_server, atlas):
    from astropy.io import fits
    from astropy.io.votable import parse_single_table

    ra, dec = (atlas.catalog_row("9834496_0")[k] for k in ("ra", "dec"))
    status, _, body = http_get(f"{dachs_server}/cassisjuice/q/ssa/ssap.xml?" +
                               urllib.parse.urlencode({"REQUEST": "queryData",
                                                       "POS": f"{ra},{dec}",
                                                       "SIZE": "0.01"}))
    assert status == 200, body[:2000]
    table = parse_single_table(io.BytesIO(body)).to_table()
    dids = sorted(str(d) for d in table["ssa_pubDID"])
    assert [d.rsplit("?", 1)[1] for d in dids] == ["9834496_0/HR", "9834496_0/LR"]
    lr = next(row for row in table if str(row["ssa_pubDID"]).endswith("/LR"))
    # the constants our own SSAP service writes too (tests/web/test_ssa_datalink_soda.py)
    assert [str(lr[n]) for n in ("ssa_instrument", "ssa_model", "ssa_dstype",
                                 "ssa_spectralunit", "ssa_fluxunit")] == [
        "Spitzer IRS", "Spectrum-1.0", "Spectrum", "um", "Jy"]
    source = read_cassis_file(EXAMPLES / "cassis_yaaar_spcfw_9834496t.fits").spectra[0]
    assert float(lr["ssa_specstart"]) == pytest.approx(source.wavelength_um.min() * 1e-6)
    assert float(lr["ssa_specend"]) == pytest.approx(source.wavelength_um.max() * 1e-6)
    status, _, data = http_get(str(lr["accref"]))  # the file DaCHS serves
    assert status == 200
    with fits.open(io.BytesIO(data)) as hdus:
        assert len(hdus[1].data) == source.n_points


def test_cone_search_service_of_the_rd_answers(dachs_server, atlas):
    from astropy.io.votable import parse_single_table

    row = atlas.catalog_row("14203136_0")
    status, _, body = http_get(f"{dachs_server}/cassisjuice/q/scs/scs.xml?" +
                               urllib.parse.urlencode({"RA": row["ra"], "DEC": row["dec"],
                                                       "SR": "0.01"}))
    assert status == 200, body[:2000]
    table = parse_single_table(io.BytesIO(body)).to_table()
    assert [str(v) for v in table["cj_id"]] == ["14203136_0"]


def test_slap_service_of_the_rd_answers_as_ours(dachs_server, imported, atlas):
    """SLAP 1.0 on DaCHS (the slap.xml renderer over the slap_lines view): WAVELENGTH in
    metres; the lines are those of the dumped list in that range, as our /slap gives."""
    from astropy.io.votable import parse_single_table

    from vo_service.protocols.slap import parse_query, query_data

    low, high = 12.0e-6, 13.0e-6
    with (imported / "data" / "lines.csv").open(encoding="utf-8") as f:
        expected = {r["title"] for r in csv.DictReader(f)
                    if low <= float(r["wavelength"]) * 1e-6 <= high}
    assert len(expected) > 3
    query = {"REQUEST": "queryData", "WAVELENGTH": f"{low}/{high}"}
    status, _, body = http_get(f"{dachs_server}/cassisjuice/q/slap/slap.xml?"
                               + urllib.parse.urlencode(query))
    assert status == 200, body[:2000]
    theirs = parse_single_table(io.BytesIO(body)).to_table()
    assert {str(t) for t in theirs["linename"]} == expected
    ours = parse_single_table(io.BytesIO(query_data(
        parse_query(query, atlas.resource), atlas.resource))).to_table()
    assert {str(t) for t in ours["title"]} == expected
    by_title = {str(r["title"]): float(r["wavelength"]) for r in ours}
    for row in theirs:
        assert float(row["wavelength"]) == pytest.approx(by_title[str(row["linename"])],
                                                         rel=1e-12)
    # an element: [NeII] 12.81 (Ne) is found by CHEMICAL_ELEMENT on both
    status, _, body = http_get(f"{dachs_server}/cassisjuice/q/slap/slap.xml?"
                               + urllib.parse.urlencode({**query, "CHEMICAL_ELEMENT": "Ne"}))
    assert status == 200, body[:2000]
    neon = {str(t) for t in parse_single_table(io.BytesIO(body)).to_table()["linename"]}
    ours_neon = {str(t) for t in parse_single_table(io.BytesIO(query_data(parse_query(
        {**query, "CHEMICAL_ELEMENT": "Ne"}, atlas.resource), atlas.resource))).to_table()["title"]}
    assert neon and neon == ours_neon
