"""The systemd units of deploy/ pass ``systemd-analyze verify`` (the gunicorn path pointed
at this environment's, the rest as shipped), and the web unit runs what the tests run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gunicorn_server import ROOT

UNITS = ROOT / "deploy" / "systemd"
SHIPPED_GUNICORN = "/opt/cassisjuice-vo/.venv/bin/gunicorn"


def test_units_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    gunicorn = gunicorn if gunicorn.exists() else Path(shutil.which("gunicorn") or "")
    assert gunicorn.is_file(), "gunicorn is a dependency of the package"
    web = (UNITS / "cassisjuice-web@.service").read_text()
    assert f"{SHIPPED_GUNICORN} -c /opt/cassisjuice-vo/deploy/gunicorn.conf.py " \
           "vo_service.wsgi:create()" in web  # the command line tests/gunicorn_server runs
    (tmp_path / "cassisjuice-web@8001.service").write_text(
        web.replace(SHIPPED_GUNICORN, str(gunicorn)))
    for name in ("cassisjuice-backup.service", "cassisjuice-backup.timer"):
        shutil.copy(UNITS / name, tmp_path / name)
    cassisjuice = gunicorn.with_name("cassisjuice")
    assert cassisjuice.is_file(), "the package's console script"
    (tmp_path / "cassisjuice-jobs.service").write_text(
        (UNITS / "cassisjuice-jobs.service").read_text().replace(
            "/opt/cassisjuice-vo/.venv/bin/cassisjuice", str(cassisjuice)))
    out = subprocess.run([analyze, "verify", "--man=no", *sorted(
        str(p) for p in tmp_path.iterdir())], capture_output=True, text=True, timeout=60,
        check=False, cwd=tmp_path)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
