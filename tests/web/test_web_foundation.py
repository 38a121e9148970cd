"""App factory, settings, DALI parameters, public URLs, the error handler and CORS."""

from __future__ import annotations

import io

import pytest
from astropy.io.votable import parse
from flask import Blueprint, jsonify, redirect

from vo_service.app import create_app
from vo_service.config import ConfigError, Settings
from vo_service.web.errors import VOError
from vo_service.web.params import params
from vo_service.web.urls import public_url

probe = Blueprint("probe", __name__)


@probe.route("/probe/echo", methods=["GET", "POST"])
def echo():
    p = params()
    upload = p.file("t1")
    return jsonify(lang=p.get("lang"), ids=p.getlist("ID"),
                   upload=upload.read().decode() if upload else None)


@probe.route("/probe/fail")
def fail():
    raise VOError("Unknown parameter FOO", 400)


@probe.route("/probe/crash")
def crash():
    raise RuntimeError("secret internal detail")


@probe.route("/probe/job", methods=["POST"])
def job():
    return redirect(public_url("probe/job/abc", WAIT=-1), 303)


def _app(**settings):
    app = create_app(Settings(**settings))
    app.register_blueprint(probe)
    return app.test_client()


def _error_message(response) -> str:
    votable = parse(io.BytesIO(response.data))
    info = next(i for i in votable.resources[0].infos if i.name == "QUERY_STATUS")
    assert info.value == "ERROR"
    return info.content


def test_parameters_are_case_insensitive_multi_valued_and_merge_get_and_post():
    client = _app()
    r = client.post("/probe/echo?Id=a", data={"LANG": "ADQL", "id": ["b", "c"],
                                               "T1": (io.BytesIO(b"<VOTABLE/>"), "t1.xml")},
                    content_type="multipart/form-data")
    assert r.json == {"lang": "ADQL", "ids": ["a", "b", "c"], "upload": "<VOTABLE/>"}


def test_errors_are_votables_with_cors_and_no_traceback():
    client = _app()
    r = client.get("/probe/fail")
    assert r.status_code == 400 and r.mimetype == "application/x-votable+xml"
    assert _error_message(r) == "Unknown parameter FOO"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = client.get("/probe/crash")
    assert r.status_code == 500 and "secret" not in r.get_data(as_text=True)
    assert "reference" in _error_message(r)
    r = client.get("/nowhere")
    assert r.status_code == 404 and "Not Found" in _error_message(r)
    r = client.delete("/probe/fail")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]


def test_preflight_gets_cors_headers():
    r = _app().options("/probe/job", headers={"Origin": "http://elsewhere.example",
                                               "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]


def test_upload_limit_gives_a_votable_413():
    client = _app(upload_limit_bytes=10)
    r = client.post("/probe/echo", data=b"x" * 2_000_000,  # bytes: no spooled temp file
                    content_type="multipart/form-data; boundary=b")
    assert r.status_code == 413 and "upload limit is 10 bytes" in _error_message(r)


def test_public_urls_are_absolute_configured_or_proxied():
    r = _app().post("/probe/job")
    assert r.status_code == 303 and r.headers["Location"] == \
        "http://localhost/probe/job/abc?WAIT=-1"
    r = _app(base_url="https://vo.example.org/cj/").post("/probe/job")
    assert r.headers["Location"] == "https://vo.example.org/cj/probe/job/abc?WAIT=-1"
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example",
               "X-Forwarded-Prefix": "/atlas"}
    r = _app(trust_proxy=1, allowed_hosts="public.example").post("/probe/job",
                                                                  headers=proxied)
    assert r.headers["Location"] == "https://public.example/atlas/probe/job/abc?WAIT=-1"
    r = _app().post("/probe/job", headers=proxied)  # untrusted headers are ignored
    assert r.headers["Location"].startswith("http://localhost/probe/")


@pytest.mark.parametrize(("settings", "headers", "expected"), [
    ({}, {"Host": "evil.example"}, "http://localhost/"),
    ({}, {"Host": "127.0.0.1"}, "http://127.0.0.1/"),
    ({}, {"Host": "LOCALHOST:80"}, "http://localhost/"),
    ({}, {"Host": "localhost:8080"}, "http://localhost/"),
    ({"allowed_hosts": "vo.example.org, mirror.example:8443"}, {"Host": "evil.example"},
     "http://vo.example.org/"),
    ({"allowed_hosts": "vo.example.org, mirror.example:8443"},
     {"Host": "mirror.example:8443"}, "http://mirror.example:8443/"),
    # a trusted proxy forwarding the client's own Host is no better than the Host itself
    ({"trust_proxy": 1, "allowed_hosts": "vo.example.org"},
     {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
     "https://vo.example.org/"),
])
def test_advertised_hosts_come_from_the_allowed_list(settings, headers, expected):
    r = _app(**settings).post("/probe/job", headers=headers)
    assert r.headers["Location"] == expected + "probe/job/abc?WAIT=-1"


def test_allowed_hosts_from_a_toml_list(tmp_path):
    path = tmp_path / "cj.toml"
    path.write_text('allowed_hosts = ["vo.example.org", "localhost:8000"]\n')
    assert Settings.load(path, environ={}).allowed_hosts == "vo.example.org,localhost:8000"


def test_settings_from_file_environment_and_overrides(tmp_path):
    path = tmp_path / "cj.toml"
    path.write_text('store_url = "sqlite:///x.sqlite"\nhard_maxrec = 500\ndefault_maxrec = 5\n')
    s = Settings.load(path, environ={"CASSISJUICE_DEFAULT_MAXREC": "7"}, base_url=None)
    assert (s.store_url, s.hard_maxrec, s.default_maxrec) == ("sqlite:///x.sqlite", 500, 7)
    assert Settings.load(path, environ={}, hard_maxrec=900).hard_maxrec == 900
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.load(environ={}, colour="red")
    with pytest.raises(ConfigError, match="not a int"):
        Settings.load(environ={"CASSISJUICE_HARD_MAXREC": "many"})
    with pytest.raises(ConfigError, match="base_url"):
        Settings(base_url="vo.example.org")
    with pytest.raises(ConfigError, match="exceeds"):
        Settings(default_maxrec=10, hard_maxrec=5)
