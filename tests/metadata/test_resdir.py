"""resdir/cassisjuice/q.rd: the one metadata source loads, and bad units, UCDs and types
are refused with the column named (issue 4)."""

from __future__ import annotations

import pytest

from vo_service.metadata import MetadataError, default_rd_path, load

OBSCORE_MANDATORY = [
    "dataproduct_type",
    "calib_level",
    "obs_collection",
    "obs_id",
    "obs_publisher_did",
    "access_url",
    "access_format",
    "access_estsize",
    "target_name",
    "s_ra",
    "s_dec",
    "s_fov",
    "s_region",
    "s_resolution",
    "s_xel1",
    "s_xel2",
    "t_min",
    "t_max",
    "t_exptime",
    "t_resolution",
    "t_xel",
    "em_min",
    "em_max",
    "em_res_power",
    "em_xel",
    "o_ucd",
    "pol_states",
    "pol_xel",
    "facility_name",
    "instrument_name",
]


def test_the_resource_loads_with_its_tables():
    rd = load()
    assert rd.schema == "cassisjuice" and "CC BY-NC-SA 4.0" in rd.first("rights")
    assert {"positions", "spectra", "spectrum_data", "obscore"} <= set(rd.tables)
    obscore = rd.table("obscore")
    assert [c for c in OBSCORE_MANDATORY if c not in {x.name for x in obscore.columns}] == []
    assert obscore.column("em_min").unit == "m"
    catalog = rd.table("positions")
    assert catalog.primary == "cj_id" and catalog.column("ra").ucd == "pos.eq.ra;meta.main"
    assert not rd.table("spectrum_data").adql


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ('unit="deg"', 'unit="degrees_please"', "not a VOUnit"),
        ('ucd="pos.eq.ra;meta.main"', 'ucd="pos.nonsense"', "not a valid UCD"),
        ('type="double precision" unit="deg"', 'type="quaternion" unit="deg"', "unknown type"),
    ],
)
def test_bad_metadata_is_refused_naming_the_column(tmp_path, attribute, value, message):
    text = default_rd_path().read_text(encoding="utf-8").replace(attribute, value, 1)
    path = tmp_path / "q.rd"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MetadataError, match=message) as failure:
        load(path)
    assert "cassisjuice.positions." in str(failure.value)
