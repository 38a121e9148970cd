"""The measured features through the live TAP endpoint, on SQLite and PostgreSQL: ADQL
selections on cassisjuice.features joined to the catalogue, the resdir's metadata in the
results and in TAP_SCHEMA, errors as DALI documents."""

from __future__ import annotations

import io
import statistics
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

from astropy.io.votable import parse_single_table


def _sync(base: str, query: str) -> tuple[int, bytes]:
    data = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": query}).encode()
    try:
        with urllib.request.urlopen(f"{base}/tap/sync", data=data, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _direct(store, sql: str) -> list[tuple]:
    """Rows read from the store with plain SQL (not through ADQL)."""
    return store.execute_readonly(sql, [], 100_000, 60)[1]


def test_every_position_has_a_features_row(any_server):
    base, store = any_server
    status, body = _sync(base, "SELECT p.cj_id, f.cj_id AS fid FROM cassisjuice.positions AS p "
                               "LEFT OUTER JOIN cassisjuice.features AS f ON f.cj_id = p.cj_id")
    table = parse_single_table(io.BytesIO(body)).to_table()
    assert status == 200 and len(table) == len(_direct(
        store, f"SELECT cj_id FROM {store.physical('positions')}")) > 0
    assert list(table["cj_id"]) == list(table["fid"])


def test_selection_on_features_matches_the_stored_values(any_server):
    base, store = any_server
    rows = _direct(store, f"SELECT cj_id, cont_15, sil_9p7, tau_co2_15p2 FROM "
                          f"{store.physical('features')}")
    level = statistics.median(r[1] for r in rows if r[1] is not None)
    want = {r[0] for r in rows if r[1] is not None and r[1] > level}
    status, body = _sync(base, "SELECT p.cj_id, p.object_name, f.cont_15\n"
                               "FROM cassisjuice.features AS f JOIN cassisjuice.positions AS p "
                               f"ON p.cj_id = f.cj_id\nWHERE f.cont_15 > {level!r}")
    table = parse_single_table(io.BytesIO(body)).to_table()
    assert status == 200 and want and set(table["cj_id"]) == want
    # the query: CO2 ice deeper than 0.2 and silicate strength below -1
    want = {r[0] for r in rows if r[3] is not None and r[2] is not None
            and r[3] > 0.2 and r[2] < -1}
    status, body = _sync(base, "SELECT p.cj_id FROM cassisjuice.positions AS p JOIN "
                               "cassisjuice.features AS f ON f.cj_id = p.cj_id "
                               "WHERE f.tau_co2_15p2 > 0.2 AND f.sil_9p7 < -1")
    table = parse_single_table(io.BytesIO(body)).to_table()
    assert status == 200 and set(table["cj_id"]) == want


def test_feature_columns_carry_the_resdir_metadata(any_server):
    base, _ = any_server
    status, body = _sync(base, "SELECT TOP 1 pah_11p3_flux, pah_11p3_flux_flag, sil_9p7, "
                               "tau_co2_15p2, cont_24 FROM cassisjuice.features")
    votable = parse_single_table(io.BytesIO(body))
    field = votable.get_field_by_id_or_name("pah_11p3_flux")
    assert status == 200 and field.unit.to_string() == "W / m2"
    assert field.ucd == "phot.flux;spect.line"
    assert votable.get_field_by_id_or_name("tau_co2_15p2").ucd == \
        "phys.absorption.opticalDepth"
    assert votable.get_field_by_id_or_name("cont_24").unit.to_string() == "Jy"
    status, body = _sync(base, "SELECT from_table, target_table FROM TAP_SCHEMA.keys "
                               "WHERE from_table = 'cassisjuice.features'")
    table = parse_single_table(io.BytesIO(body)).to_table()
    assert list(zip(table["from_table"], table["target_table"], strict=True)) == [
        ("cassisjuice.features", "cassisjuice.positions")]


def test_unknown_feature_column_is_a_dali_error(any_server):
    base, _ = any_server
    status, body = _sync(base, "SELECT tau_co3 FROM cassisjuice.features")
    assert status == 400
    infos = [i for i in ET.fromstring(body).iter("{http://www.ivoa.net/xml/VOTable/v1.3}INFO")
             if i.get("name") == "QUERY_STATUS"]
    assert infos and infos[0].get("value") == "ERROR" and "tau_co3" in infos[0].text
