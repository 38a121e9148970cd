"""The one VOTable writer: result and error documents, read back by astropy and checked by
STILTS votlint (DALI 1.1 sec. 4.2, 4.4; Datalink 1.1 sec. 4)."""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess

import numpy as np
import pytest
from astropy.io.votable import parse

from vo_service.votable import (
    FieldSpec,
    ParamSpec,
    ServiceDescriptor,
    error_votable,
    results_votable,
)

FIELDS = [FieldSpec("obs_id", "char", ucd="meta.id;meta.main", ID="obs_id"),
          FieldSpec("ra", "double", unit="deg", ucd="pos.eq.ra;meta.main"),
          FieldSpec("n", "int"), FieldSpec("ok", "boolean"),
          FieldSpec("flux", "double", arraysize="*", unit="Jy")]
COLUMNS = [["a", None], [1.5, math.nan], [3, None], [True, None], [[1.0, 2.0], [3.0]]]
SODA = ServiceDescriptor(
    "soda", "http://127.0.0.1/soda", "ivo://ivoa.net/std/SODA#sync-1.0",
    inputs=(ParamSpec("ID", "char", ref="obs_id"),
            ParamSpec("BAND", "double", arraysize="2", xtype="interval", unit="m",
                      minimum="5.2e-6", maximum="3.8e-5")))


def _parse(document: bytes):
    return parse(io.BytesIO(document), verify="exception")


def _status(document: bytes) -> list[tuple[str, str]]:
    votable = _parse(document)
    resource = votable.resources[0]
    return [(i.value, i.content) for i in resource.infos if i.name == "QUERY_STATUS"]


@pytest.mark.parametrize("serialization", ["tabledata", "binary2"])
def test_results_round_trip_with_nulls_and_arrays(serialization):
    doc = results_votable(FIELDS, COLUMNS, serialization=serialization, descriptors=[SODA])
    table = _parse(doc).get_first_table().to_table(use_names_over_ids=True)
    assert list(table.colnames) == [f.name for f in FIELDS]
    assert table["obs_id"][0] == "a" and table["ra"].unit == "deg"
    assert np.ma.is_masked(table["n"][1]) and np.ma.is_masked(table["ra"][1])
    assert list(table["flux"][0]) == [1.0, 2.0]
    assert _status(doc) == [("OK", None)]


def test_overflow_marker_follows_the_table():
    doc = results_votable(FIELDS, COLUMNS, overflow=True)
    assert doc.index(b"</TABLE>") < doc.index(b'value="OVERFLOW"') < doc.index(b"</RESOURCE>")
    assert b'value="OK"' in doc


def test_error_document_carries_the_message_as_content():
    doc = error_votable("Unknown table <x> & co")
    assert _status(doc) == [("ERROR", "Unknown table <x> & co")]


def test_bad_specifications_are_refused():
    with pytest.raises(ValueError, match="not a VOTable datatype"):
        FieldSpec("x", "integer")
    with pytest.raises(ValueError, match="columns of unequal length"):
        results_votable(FIELDS[:2], [["a"], [1.0, 2.0]])
    with pytest.raises(ValueError, match="needs a value"):
        results_votable(FIELDS[:1], [["a"]], params=[ParamSpec("N", "int")])


@pytest.mark.skipif(shutil.which("stilts") is None and not os.environ.get("CI"),
                    reason="stilts not installed (deploy/install-system-packages.sh)")
def test_votlint_accepts_every_kind_of_document(tmp_path):
    documents = {
        "td": results_votable(FIELDS, COLUMNS, overflow=True, descriptors=[SODA],
                              infos={"SERVICE_PROTOCOL": "SSAP"},
                              params=[ParamSpec("INPUT:POS", "char", value="")]),
        "b2": results_votable(FIELDS, COLUMNS, serialization="binary2"),
        "empty": results_votable(FIELDS, [[] for _ in FIELDS]),
        "error": error_votable("bad query"),
    }
    for name, doc in documents.items():
        path = tmp_path / f"{name}.vot"
        path.write_bytes(doc)
        out = subprocess.run(["stilts", "votlint", f"votable={path}"], capture_output=True,
                             text=True, timeout=120, check=False)
        assert out.returncode == 0 and not out.stdout.strip() and "ERROR" not in out.stderr, (
            name, out.stdout, out.stderr)


def test_control_characters_in_infos_keep_the_document_well_formed():
    """An INFO may echo client input (a TAP QUERY); XML 1.0 cannot carry C0 controls."""
    import xml.etree.ElementTree as ET

    from vo_service.votable import FieldSpec, error_votable, results_votable

    for document in (results_votable([FieldSpec("x", "int")], [[1]],
                                     infos={"QUERY": "SELECT 1 -- \x01\x1b\x00"}),
                     error_votable("bad \x02 query", infos={"Error": "x\x1fy"})):
        root = ET.fromstring(document)
        texts = [(i.get("value") or "") + (i.text or "") for i in root.iter()
                 if i.tag.endswith("INFO")]
        assert any("SELECT 1 -- " in t or "bad" in t for t in texts)
