"""resdir/cassisjuice/q.rd: the one metadata source loads, and bad units, UCDs and types
are refused with the column named (issue 4)."""

from __future__ import annotations

import re

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


def test_dachs_elements_are_read_for_the_services():
    rd = load()
    # views DaCHS builds are not stored tables; response tables are not stored either
    assert "ssa_view" not in rd.tables and rd.views["ssa_view"]["sourcetable"] == "obscore"
    assert {"ssa_response", "sdm_spectrum"} <= set(rd.responses)
    assert not set(rd.responses) & set(rd.tables)
    assert rd.imports["positions"] == "data/positions.csv"
    assert "spectrum_data" not in rd.imports  # DaCHS serves the spectra as files
    # the obscore table is hidden by an adql element after its mixins, and published
    obscore = rd.table("obscore")
    assert not obscore.adql and obscore.obscore
    assert obscore.obscore_constants() == {
        "dataproduct_type": "spectrum", "calib_level": 2, "facility_name": "Spitzer",
        "instrument_name": "IRS", "o_ucd": "phot.flux.density;em.wl",
        "access_format": "application/x-votable+xml;content=datalink"}
    location = rd.response("ssa_response").column("ssa_location")
    assert (location.votable_datatype, location.arraysize) == ("double", "2")
    assert rd.response("sdm_spectrum").param("DataModel").value == "Spectrum-1.0"
    scs = rd.service("scs")
    assert (scs.queried_table, scs.first("testQuery.sr")) == ("positions", "0.5")


def test_an_rd_view_on_an_unknown_table_is_refused(tmp_path):
    text = default_rd_path().read_text(encoding="utf-8").replace(
        'sourcetable="obscore"', 'sourcetable="nowhere"', 1)
    path = tmp_path / "q.rd"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MetadataError, match="unknown table 'nowhere'"):
        load(path)


def test_a_limit_missing_from_the_rd_is_refused_naming_it(tmp_path):
    from vo_service.protocols.scs import max_sr_deg
    from vo_service.protocols.ssap import SsaLimits

    text = default_rd_path().read_text(encoding="utf-8")
    for removed, call, name in (
            ('<meta name="ssap.maxSearchRadius">', SsaLimits.of, "ssap.maxSearchRadius"),
            ('<meta name="maxSR">', max_sr_deg, "maxSR")):
        start = text.index(removed)
        path = tmp_path / f"{name}.rd"
        path.write_text(text[:start] + text[text.index("</meta>", start) + 7:],
                        encoding="utf-8")
        with pytest.raises(MetadataError, match=f"no meta '{name}'"):
            call(load(path))
    path = tmp_path / "nan.rd"
    path.write_text(text.replace('<meta name="maxSR">10<', '<meta name="maxSR">ten<'),
                    encoding="utf-8")
    with pytest.raises(MetadataError, match="maxSR = 'ten' is not a number"):
        max_sr_deg(load(path))


def test_an_ssa_title_the_services_cannot_build_is_refused(tmp_path):
    text = default_rd_path().read_text(encoding="utf-8")
    path = tmp_path / "q.rd"
    path.write_text(text.replace('''ssa_dstitle="'CASSISjuice ' || obs_id"''',
                                 '''ssa_dstitle="upper(obs_id)"'''), encoding="utf-8")
    with pytest.raises(MetadataError, match=re.escape(
            "ssa_dstitle = 'upper(obs_id)' is not a concatenation")):
        load(path).view_concatenation("ssa_view", "ssa_dstitle")
    assert load().view_concatenation("ssa_view", "ssa_dstitle") == (
        ("CASSISjuice ", True), ("obs_id", False))
