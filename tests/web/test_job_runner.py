"""Web processes that only queue UWS jobs (``uws_runner_threads = 0``) and a separate
``cassisjuice jobs`` runner that runs them (the cassisjuice-jobs systemd unit)."""

from __future__ import annotations

import argparse
import io
import shutil
import threading
import time
import urllib.parse

from astropy.io.votable import parse

from vo_service.app import create_app
from vo_service.commands import jobs
from vo_service.config import Settings
from vo_service.web.tap_async import close_jobs


def test_a_queued_job_waits_for_a_runner_and_the_jobs_command_runs_it(demo, tmp_path):
    shutil.copy(demo / "atlas.sqlite", tmp_path / "atlas.sqlite")
    url = f"sqlite:///{tmp_path / 'atlas.sqlite'}"
    app = create_app(Settings(store_url=url, uws_runner_threads=0))
    client = app.test_client()
    query = {"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM cassisjuice.positions"}
    stop = threading.Event()
    runner = None
    try:
        expected = parse(io.BytesIO(client.get("/tap/sync", query_string=query).data))
        r = client.post("/tap/async", data={**query, "PHASE": "RUN"})
        assert r.status_code == 303
        job = urllib.parse.urlsplit(r.headers["Location"]).path
        time.sleep(2.5)  # a runner's housekeeping would have taken it by now
        assert client.get(job + "/phase").get_data(as_text=True) == "QUEUED"
        args = argparse.Namespace(store=url, config=None, threads=1)
        runner = threading.Thread(target=jobs.run, args=(args, stop))
        runner.start()
        deadline = time.monotonic() + 60
        while client.get(job + "/phase").get_data(as_text=True) != "COMPLETED" and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        result = parse(io.BytesIO(client.get(job + "/results/result").data))
        assert result.get_first_table().array["n"][0] == \
            expected.get_first_table().array["n"][0]
    finally:
        stop.set()
        if runner is not None:
            runner.join(30)
        close_jobs(app)
