"""``/scs`` and ``/moc`` on a live server (issue 6, items 5-6): pyvo's SCSService, mocpy,
STILTS votlint, SCS errors, CORS; and ``cassisjuice demo --no-serve`` end to end."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest
from astropy import units as u
from astropy.io.votable import parse

from tests.http_get import http_get
from vo_service.cli import main
from vo_service.store.healpix import Cone


def test_second_demo_run_reuses_everything(demo, capsys):
    assert main(["demo", "--dir", str(demo), "--no-serve"]) == 0
    out = capsys.readouterr().out
    assert "0 already done" not in out and "0 added" in out and "unchanged" in out


def test_pyvo_cone_search_finds_the_atlas_positions(server):
    pyvo = pytest.importorskip("pyvo")
    base, store = server
    _, rows = store.region(Cone(0, 0, 180), columns=["cj_id", "ra", "dec"])
    cj_id, ra, dec = rows[0]
    result = pyvo.dal.SCSService(f"{base}/scs").search((ra, dec), 1 / 60)
    assert cj_id in [r.id for r in result]
    record = next(r for r in result if r.id == cj_id)
    assert record.pos.ra.deg == pytest.approx(ra) and record.pos.dec.deg == pytest.approx(dec)


def test_scs_errors_are_votables_with_an_error_info(server):
    base, _ = server
    for query in ("", "RA=10&DEC=100&SR=1", "RA=x&DEC=0&SR=1", "RA=1&DEC=1&SR=50",
                  "RA=1&DEC=1&SR=1&VERB=7"):
        status, headers, body = http_get(f"{base}/scs?{query}")
        assert status == 400 and headers["Access-Control-Allow-Origin"] == "*"
        infos = {i.name: i for i in parse(io.BytesIO(body)).resources[0].infos}
        assert infos["QUERY_STATUS"].value == "ERROR" and "Error" in infos


def test_metadata_query_and_verbosity(server):
    base, _ = server
    _, _, body = http_get(f"{base}/scs?RA=0&DEC=0&SR=0&VERB=3")
    table = parse(io.BytesIO(body)).get_first_table()
    assert len(table.array) == 0 and len(table.fields) > 10
    ucds = [f.ucd for f in table.fields]
    assert {"ID_MAIN", "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN"} <= set(ucds)


def test_moc_reads_in_mocpy_and_contains_the_positions(server, tmp_path):
    mocpy = pytest.importorskip("mocpy")
    base, store = server
    status, headers, body = http_get(f"{base}/moc")
    assert status == 200 and headers["Content-Type"] == "application/fits"
    path = tmp_path / "moc.fits"
    path.write_bytes(body)
    moc = mocpy.MOC.from_fits(path)
    _, rows = store.execute_readonly(f"SELECT ra, dec FROM {store.physical('positions')}", [],
                                     100, 10)[:2]
    assert all(moc.contains_lonlat(r[0] * u.deg, r[1] * u.deg)[0] for r in rows)
    status, headers, body = http_get(f"{base}/moc?format=json")
    assert status == 200 and body.startswith(b"{")


@pytest.mark.skipif(shutil.which("stilts") is None and not os.environ.get("CI"),
                    reason="stilts not installed (deploy/install-system-packages.sh)")
def test_votlint_accepts_scs_results_and_errors(server, tmp_path):
    base, _ = server
    for k, query in enumerate(("RA=0&DEC=0&SR=10&VERB=3", "RA=0&DEC=0&SR=0",
                               "RA=1&DEC=100&SR=1")):
        path = tmp_path / f"{k}.vot"  # fetched here: STILTS will not read a 400 body
        path.write_bytes(http_get(f"{base}/scs?{query}")[2])
        out = subprocess.run(["stilts", "votlint", f"votable={path}"],
                             capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr
