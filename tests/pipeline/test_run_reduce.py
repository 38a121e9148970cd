"""``cassisjuice reduce``: parallel run, resume after an interruption, failures and
unusable files in the report, bad input, a Dask cluster (issue 3, item 10)."""

from __future__ import annotations

import json
import shutil
import socket
import sys

import pytest

from pipeline.position import reduce_position
from pipeline.products import list_products, read_product
from pipeline.run import ReduceError, reduce_atlas
from pipeline.simulate.run import simulate
from vo_service.cli import main


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("runraw")
    simulate(root / "sim", 5, 21, level="raw", progress=False)
    return root / "sim" / "raw"


def test_reduce_command_writes_products_and_a_report(raw, tmp_path, capsys):
    out = tmp_path / "products"
    assert main(["reduce", str(raw), "--out", str(out), "--jobs", "2", "--no-progress"]) == 0
    assert "reduced 5 of 5 positions" in capsys.readouterr().out
    report = json.loads((out / "run-report.json").read_text())
    assert report["reduced"] == 5 and report["failures"] == [] and report["standards"]
    assert len(list_products(out)) == 5 and (out / "calibration.json").exists()
    product = read_product(out / f"{list_products(out)[0]}.fits")
    assert any(s.selected for s in product.spectra)


class _Stop:
    """A reducer that is interrupted (Ctrl-C) after ``n`` positions."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, position, calibration):
        if self.n == 0:
            raise KeyboardInterrupt
        self.n -= 1
        return reduce_position(position, calibration)


def test_resume_after_an_interruption_keeps_finished_products(raw, tmp_path):
    out = tmp_path / "products"
    with pytest.raises(KeyboardInterrupt):
        reduce_atlas(raw, out, jobs=1, progress=False, reducer=_Stop(2))
    report = json.loads((out / "run-report.json").read_text())
    assert report["interrupted"] and report["reduced"] == 2
    first = {cj: (out / f"{cj}.fits").stat().st_mtime_ns for cj in list_products(out)}
    assert len(first) == 2
    again = reduce_atlas(raw, out, jobs=1, progress=False)
    assert again.skipped == 2 and again.reduced == 3 and again.calibration_reused
    assert all((out / f"{cj}.fits").stat().st_mtime_ns == t for cj, t in first.items())


def _fails_on_one(position, calibration):
    if position.pointing == 0 and position.aorkey % 2 == 0:
        raise ValueError("synthetic failure")
    return reduce_position(position, calibration)


def test_failures_and_unusable_files_are_reported_and_the_run_goes_on(raw, tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    victims = sorted(copy.rglob("*_bcd.fits"))
    victims[0].write_bytes(b"garbage" * 500)                       # not FITS at all
    victims[7].write_bytes(victims[7].read_bytes()[:20000])        # truncated
    report = reduce_atlas(copy, tmp_path / "out", jobs=1, progress=False,
                          reducer=_fails_on_one)
    reasons = {p["path"]: p["reason"] for p in report.problems}
    assert str(victims[0]) in reasons and str(victims[7]) in reasons
    failed = {f["cj_id"] for f in report.failures}
    assert all(f["reason"] == "ValueError: synthetic failure" for f in report.failures)
    assert report.reduced + len(failed) == report.positions and report.reduced > 0


def test_bad_input_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(ReduceError, match="not a directory"):
        reduce_atlas(tmp_path / "missing", tmp_path / "out", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReduceError, match="no IRS exposure"):
        reduce_atlas(tmp_path / "empty", tmp_path / "out", progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as stop:
        main(["reduce", str(tmp_path / "empty"), "--out", str(tmp_path / "file")])
    assert stop.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_dask_cluster_gives_the_process_pool_s_bytes(raw, tmp_path, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the products' DATE
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        report = reduce_atlas(raw, tmp_path / "dask", scheduler=cluster.scheduler_address,
                              progress=False)
    assert report.reduced == 5 and report.workers.startswith("dask tcp://127.0.0.1")
    pooled = reduce_atlas(raw, tmp_path / "pool", jobs=2, progress=False)
    assert pooled.reduced == 5
    products = sorted(p.name for p in (tmp_path / "pool").glob("*_*.fits"))
    assert len(products) == 5
    assert sorted(p.name for p in (tmp_path / "dask").glob("*_*.fits")) == products
    for name in products:
        assert (tmp_path / "dask" / name).read_bytes() == \
            (tmp_path / "pool" / name).read_bytes(), name


def test_a_dask_scheduler_without_the_extra_names_it(raw, tmp_path, monkeypatch, capsys):
    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    with pytest.raises(SystemExit) as stop:
        main(["reduce", str(raw), "--out", str(tmp_path / "out"), "--scheduler",
              "tcp://127.0.0.1:1", "--no-progress"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "cassisjuice-vo[distributed]" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before anything was done


def test_an_unreachable_dask_scheduler_is_a_one_line_error(raw, tmp_path, capsys,
                                                            monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr("pipeline.run.DASK_CONNECT_TIMEOUT", "1s")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SystemExit) as stop:
        main(["reduce", str(raw), "--out", str(tmp_path / "out"), "--scheduler",
              f"tcp://127.0.0.1:{port}", "--no-progress"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and "Traceback" not in err


def test_a_calibration_campaign_calibrates_another_run(raw, tmp_path, capsys):
    """``simulate --standards N`` with N = positions is a campaign of standard stars only;
    ``reduce --calibration`` takes its calibration for a run with no say in it."""
    campaign = tmp_path / "campaign"
    assert main(["simulate", "--positions", "3", "--standards", "3", "--seed", "8",
                 "--out", str(campaign), "--no-progress"]) == 0
    rows = (campaign / "truth" / "positions.csv").read_text().splitlines()[1:]
    assert len(rows) == 3 and all(",standard_star," in r for r in rows)
    derived = reduce_atlas(campaign / "raw", tmp_path / "cal", jobs=1, progress=False)
    assert len(derived.standards) == 3
    given = tmp_path / "cal" / "calibration.json"
    out = tmp_path / "products"
    assert main(["reduce", str(raw), "--out", str(out), "--calibration", str(given),
                 "--jobs", "1", "--no-progress"]) == 0
    report = json.loads((out / "run-report.json").read_text())
    assert report["calibration_file"] == str(given)
    assert report["standards"] == derived.standards
    assert (out / "calibration.json").read_text() == given.read_text()
    product = read_product(out / f"{list_products(out)[0]}.fits")
    assert product.provenance.calibration_set == "standards:3"
    # products made with another calibration are never mixed with these
    other = tmp_path / "other.json"
    other.write_text(given.read_text().replace('"standards:3"', '"standards:other"'))
    with pytest.raises(ReduceError, match="another calibration"):
        reduce_atlas(raw, out, calibration_file=other, progress=False)
    with pytest.raises(ReduceError, match="not a calibration file"):
        reduce_atlas(raw, tmp_path / "p2", calibration_file=raw.parent / "truth" /
                     "positions.csv", progress=False)
    with pytest.raises(ReduceError, match="cannot read"):
        reduce_atlas(raw, tmp_path / "p2", calibration_file=tmp_path / "none.json",
                     progress=False)
    with pytest.raises(ReduceError, match="exclude each other"):
        reduce_atlas(raw, tmp_path / "p2", calibration_file=given, recalibrate=True,
                     progress=False)
    with pytest.raises(SystemExit) as stop:
        main(["simulate", "--positions", "2", "--standards", "3", "--out",
              str(tmp_path / "x"), "--no-progress"])
    assert stop.value.code == 2 and not (tmp_path / "x").exists()
    assert "--standards must be between 0 and --positions" in capsys.readouterr().err
