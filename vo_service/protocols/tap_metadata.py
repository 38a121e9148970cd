"""What the TAP service says about itself: capabilities (TAPRegExt 1.0), VOSI tables
(VODataService 1.1 tableset) and the DALI examples page (DALI 1.1 sec. 2.3).

All three are built from the same :class:`~vo_service.adql.schema.Schema` and function
lists the translator uses, so what is declared is what works.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from vo_service.adql.functions import UDFS
from vo_service.adql.schema import Schema, TableInfo

from .tap import FORMATS
from .tap_schema import FOREIGN_KEYS
from .vosi import NAMESPACES, Capability, Interface, serialise

__all__ = ["EXAMPLES", "examples_document", "tables_document", "tap_capabilities"]

_TR = "ivo://ivoa.net/std/TAPRegExt#"
_XSI_TYPE = f"{{{NAMESPACES['xsi']}}}type"

#: ADQL 2.1 optional features and the forms we declare (ADQL 2.1 sec. 4; TAPRegExt 2.3)
_FEATURES = {
    "features-adqlgeo": ("BOX", "CIRCLE", "POINT", "POLYGON", "CONTAINS", "INTERSECTS",
                         "DISTANCE", "AREA", "CENTROID", "COORD1", "COORD2", "COORDSYS"),
    "features-adql-string": ("LOWER", "UPPER", "ILIKE"),
    "features-adql-sets": ("UNION", "EXCEPT", "INTERSECT"),
    "features-adql-common-table": ("WITH",),
    "features-adql-type": ("CAST",),
    "features-adql-unit": ("IN_UNIT",),
    "features-adql-offset": ("OFFSET",),
}
# COALESCE works but is not declared: taplint 3.4.7 (Debian) does not know
# #features-adql-conditional and reports it as an error (E-CAP-KEYX)

_OUTPUT_FORMATS = (  # (MIME, aliases, TAPRegExt ivo-id)
    ("application/x-votable+xml", ("votable",), None),
    ("application/x-votable+xml;serialization=tabledata", ("votable/td",),
     "output-votable-td"),
    ("application/x-votable+xml;serialization=binary2", ("votable/b2",),
     "output-votable-binary2"),
    ("text/csv;header=present", ("csv",), None),
    ("text/tab-separated-values", ("tsv",), None),
    ("application/fits", ("fits",), None),
    ("application/json", ("json",), None),
)
assert all(alias in FORMATS for _, aliases, _ in _OUTPUT_FORMATS for alias in aliases)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def tap_capabilities(base: str, settings) -> list[Capability]:
    """The TAP capability and the VOSI and examples capabilities of ``base``/tap."""
    tap = f"{base}/tap"

    def extend(element: ET.Element) -> None:
        _sub(element, "dataModel", "ObsCore-1.1", **{"ivo-id": "ivo://ivoa.net/std/ObsCore#core-1.1"})
        language = _sub(element, "language")
        _sub(language, "name", "ADQL")
        _sub(language, "version", "2.1", **{"ivo-id": "ivo://ivoa.net/std/ADQL#v2.1"})
        _sub(language, "version", "2.0", **{"ivo-id": "ivo://ivoa.net/std/ADQL#v2.0"})
        _sub(language, "description", "ADQL 2.1, translated to SQL with a HEALPix index "
             "for the geometry predicates")
        udfs = _sub(language, "languageFeatures", type=_TR + "features-udf")
        for udf in UDFS.values():
            feature = _sub(udfs, "feature")
            _sub(feature, "form", udf.form)
            _sub(feature, "description", udf.description)
        for kind, forms in _FEATURES.items():
            group = _sub(language, "languageFeatures", type=_TR + kind)
            for form in forms:
                _sub(_sub(group, "feature"), "form", form)
        for mime, aliases, ivo_id in _OUTPUT_FORMATS:
            fmt = _sub(element, "outputFormat", **({"ivo-id": _TR + ivo_id} if ivo_id else {}))
            _sub(fmt, "mime", mime)
            for alias in aliases:
                _sub(fmt, "alias", alias)
        _sub(element, "uploadMethod", **{"ivo-id": _TR + "upload-inline"})
        # DALI 1.1 sec. 3.4.5 makes http(s) uploads mandatory (taplint E-CAP-MUPM): the
        # method is declared, and fetches only from the hosts upload_url_hosts allows
        # (none by default; protocols/tap_upload.py)
        _sub(element, "uploadMethod", **{"ivo-id": _TR + "upload-http"})
        retention = _sub(element, "retentionPeriod")
        _sub(retention, "default", str(settings.job_retention_s))
        duration = _sub(element, "executionDuration")
        _sub(duration, "default", str(settings.async_execution_duration_s))
        limit = _sub(element, "outputLimit")
        _sub(limit, "default", str(settings.default_maxrec), unit="row")
        _sub(limit, "hard", str(settings.hard_maxrec), unit="row")
        upload = _sub(element, "uploadLimit")
        _sub(upload, "default", str(settings.upload_limit_bytes), unit="byte")
        _sub(upload, "hard", str(settings.upload_limit_bytes), unit="byte")

    return [
        Capability("ivo://ivoa.net/std/TAP", (Interface(tap, version="1.1"),),
                   xsi_type="tr:TableAccess", extend=extend),
        Capability("ivo://ivoa.net/std/VOSI#capabilities",
                   (Interface(f"{tap}/capabilities", role=None),)),
        Capability("ivo://ivoa.net/std/VOSI#availability",
                   (Interface(f"{tap}/availability", role=None),)),
        Capability("ivo://ivoa.net/std/VOSI#tables-1.1",
                   (Interface(f"{tap}/tables", role=None, version="1.1"),)),
        Capability("ivo://ivoa.net/std/DALI#examples",
                   (Interface(f"{tap}/examples", xsi_type="vr:WebBrowser", role=None),)),
    ]


def _table_element(parent: ET.Element, table: TableInfo, detail: bool) -> ET.Element:
    element = _sub(parent, "table", type=table.kind)
    _sub(element, "name", table.qualified)
    if table.description:
        _sub(element, "description", table.description)
    if table.utype:
        _sub(element, "utype", table.utype)
    if not detail:
        return element
    for col in table.columns:
        column = _sub(element, "column", std="true" if col.std else None)
        _sub(column, "name", col.name)
        if col.description:
            _sub(column, "description", col.description)
        if col.unit:
            _sub(column, "unit", col.unit)
        if col.ucd:
            _sub(column, "ucd", col.ucd)
        if col.utype:
            _sub(column, "utype", col.utype)
        datatype = _sub(column, "dataType", col.datatype,
                        arraysize=col.arraysize, extendedType=col.xtype)
        datatype.set(_XSI_TYPE, "vs:VOTableType")
        if col.indexed:
            _sub(column, "flag", "indexed")
        if col.principal:
            _sub(column, "flag", "principal")
    for source, target, pairs in FOREIGN_KEYS:
        if source == table.qualified:
            key = _sub(element, "foreignKey")
            _sub(key, "targetTable", target)
            for from_column, target_column in pairs:
                fk = _sub(key, "fkColumn")
                _sub(fk, "fromColumn", from_column)
                _sub(fk, "targetColumn", target_column)
    return element


def tables_document(schema: Schema, detail: bool = True) -> bytes:
    """``vosi:tableset`` (VOSI 1.1 sec. 3.4; ``detail=min`` leaves the columns out)."""
    root = ET.Element("{http://www.ivoa.net/xml/VOSITables/v1.0}tableset")
    by_schema: dict[str, list[TableInfo]] = {}
    for table in schema.tables:
        by_schema.setdefault(table.schema, []).append(table)
    for name, tables in by_schema.items():
        element = _sub(root, "schema")
        _sub(element, "name", name)
        for table in tables:
            _table_element(element, table, detail)
    ET.register_namespace("vtm", "http://www.ivoa.net/xml/VOSITables/v1.0")
    return serialise(root, prefixes=("vs", "xsi"))


def table_document(table: TableInfo) -> bytes:
    """One ``vs:table`` (VOSI 1.1 sec. 3.4: ``/tables/<name>``)."""
    root = ET.Element("{http://www.ivoa.net/xml/VOSITables/v1.0}table", type=table.kind)
    wrapper = ET.Element("x")
    element = _table_element(wrapper, table, True)
    for child in element:
        root.append(child)
    ET.register_namespace("vtm", "http://www.ivoa.net/xml/VOSITables/v1.0")
    return serialise(root, prefixes=("vs", "xsi"))


#: the examples page: (id, title, explanation, query); every one is run by the tests
EXAMPLES: Sequence[tuple[str, str, str, str]] = (
    ("cone", "Positions within half a degree of a point",
     "A cone on the catalogue: the HEALPix index makes it fast anywhere on the sky.",
     "SELECT cj_id, object_name, ra, dec, has_lr, has_hr\nFROM cassisjuice.positions\n"
     "WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 83.82, -5.39, 0.5))"),
    ("obscore-spectra", "Low-resolution spectra covering the 11.3 um PAH band",
     "ObsCore: the selected low-resolution spectra whose range contains 11.3 um.",
     "SELECT obs_publisher_did, target_name, s_ra, s_dec, em_min, em_max, access_url\n"
     "FROM ivoa.obscore\nWHERE dataproduct_subtype = 'lr-spectrum'\n"
     "  AND em_min < 11.3e-6 AND em_max > 11.3e-6"),
    ("obscore-cone", "Spectra within 10 arcmin of a position",
     "ObsCore: every selected spectrum whose aperture meets a 10 arcmin circle; "
     "access_url leads to the Datalink document of each spectrum.",
     "SELECT obs_publisher_did, dataproduct_subtype, target_name, em_min, em_max, "
     "access_url\nFROM ivoa.obscore\n"
     "WHERE 1 = INTERSECTS(s_region, CIRCLE('ICRS', 83.82, -5.39, 10.0/60))"),
    ("variants", "Every reduction variant of the spectra of one position",
     "The full atlas: one row per background, extraction and calibration variant.",
     "SELECT s.spectrum_id, s.arm, s.background, s.extraction, s.calibration, s.selected\n"
     "FROM cassisjuice.spectra AS s JOIN cassisjuice.positions AS c USING (cj_id)\n"
     "WHERE c.cj_id IN (SELECT TOP 1 cj_id FROM cassisjuice.positions ORDER BY cj_id)\n"
     "ORDER BY arm, spectrum_id"),
    ("per-arm-counts", "How many positions have low and high resolution spectra",
     "A GROUP BY count over the catalogue.",
     "SELECT has_lr, has_hr, COUNT(*) AS n\nFROM cassisjuice.positions\n"
     "GROUP BY has_lr, has_hr\nORDER BY n DESC"),
    ("pairs", "Close pairs of positions",
     "A self-join by distance: positions less than 1 arcmin apart in a region.",
     "SELECT a.cj_id, b.cj_id AS neighbour, DISTANCE(POINT('ICRS', a.ra, a.dec),\n"
     "       POINT('ICRS', b.ra, b.dec)) * 3600 AS sep_arcsec\n"
     "FROM cassisjuice.positions AS a JOIN cassisjuice.positions AS b\n"
     "  ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', a.ra, a.dec, 1.0/60))\n"
     "WHERE a.cj_id < b.cj_id\n"
     "  AND 1 = CONTAINS(POINT('ICRS', a.ra, a.dec), CIRCLE('ICRS', 270, -25, 20))"),
    ("upload", "Cross-match your own list",
     "Upload a VOTable with ra and dec columns as TAP_UPLOAD.mine and find the atlas "
     "positions within 5 arcsec.",
     "SELECT m.*, c.cj_id, c.object_name\nFROM TAP_UPLOAD.mine AS m\n"
     "JOIN cassisjuice.positions AS c\n"
     "  ON 1 = CONTAINS(POINT('ICRS', c.ra, c.dec), CIRCLE('ICRS', m.ra, m.dec, 5.0/3600))"),
    ("features-ices", "Ices and deep silicate absorption: embedded sources",
     "Measured features (cassisjuice.features, one row per position) joined to the "
     "catalogue: every position with a detected 15.2 um CO2 ice band deeper than 0.2 and "
     "a 9.7 um silicate strength below -1, whatever its target name says.",
     "SELECT p.cj_id, p.object_name, f.tau_co2_15p2, f.tau_co2_15p2_err, f.sil_9p7,\n"
     "       f.tau_h2o_6p0, f.tau_6p85\n"
     "FROM cassisjuice.features AS f JOIN cassisjuice.positions AS p ON p.cj_id = f.cj_id\n"
     "WHERE f.tau_co2_15p2 > 0.2 AND f.tau_co2_15p2_flag = 1 AND f.sil_9p7 < -1\n"
     "ORDER BY f.tau_co2_15p2 DESC"),
    ("features-pah", "PAH-dominated spectra and their line ratios",
     "Positions whose 6.2 um PAH band has a rest equivalent width above 0.4 um (star "
     "formation dominates the mid-infrared), with [NeIII]/[NeII] where both lines are "
     "detected.",
     "SELECT f.cj_id, f.pah_6p2_ew, f.pah_11p3_flux / f.pah_7p7_flux AS pah_11_to_7,\n"
     "       f.ne3_15p56_flux / f.ne2_12p81_flux AS neon_ratio\n"
     "FROM cassisjuice.features AS f\n"
     "WHERE f.pah_6p2_ew > 0.4 AND f.pah_6p2_ew_flag = 1 AND f.pah_7p7_flux > 0\n"
     "  AND f.ne2_12p81_flux_flag = 1 AND f.ne3_15p56_flux_flag = 1"),
    ("lines", "Mid-infrared lines between 12 and 13 um",
     "The line list (also served by SLAP at /slap): vacuum rest wavelengths and sources.",
     "SELECT title, kind, wavelength, wavelength_error, source\nFROM cassisjuice.lines\n"
     "WHERE wavelength BETWEEN 12 AND 13\nORDER BY wavelength"),
    ("line-coverage", "Spectra covering [NeV] 14.32 um at their redshift",
     "Which orders of the selected spectra contain the line at the position's redshift, "
     "at what resolving power and median SNR (/linecoverage adds the local SNR).",
     "SELECT c.spectrum_id, c.segment, p.redshift,\n"
     "       l.wavelength * c.wl_min / c.rest_wl_min AS observed_wavelength,\n"
     "       c.res_power_min, c.res_power_max, c.snr\n"
     "FROM cassisjuice.coverage AS c\n"
     "JOIN cassisjuice.positions AS p ON p.cj_id = c.cj_id\n"
     "JOIN cassisjuice.lines AS l\n"
     "  ON l.wavelength BETWEEN c.rest_wl_min AND c.rest_wl_max\n"
     "WHERE l.title = '[NeV] 14.32'\nORDER BY snr DESC"),
    ("names", "Every position named NGC 10..., however the name is written",
     "Normalised names (upper case, no spaces or padding zeros): one key for 'NGC 1068', "
     "'ngc1068' and 'NGC_1068'; LIKE on the key is a prefix search.",
     "SELECT DISTINCT p.cj_id, p.object_name, p.ra, p.dec\n"
     "FROM cassisjuice.object_names AS n JOIN cassisjuice.positions AS p ON p.cj_id = n.cj_id\n"
     "WHERE n.name_key LIKE 'NGC10%'"),
)


_TABLES = ("cassisjuice.positions", "cassisjuice.spectra", "ivoa.obscore",
           "cassisjuice.features", "cassisjuice.lines", "cassisjuice.coverage",
           "cassisjuice.object_names")


def examples_document(tap_url: str) -> bytes:
    """The DALI examples page: XHTML+RDFa, one ``div typeof="example"`` per query."""
    parts = []
    for ident, title, explanation, query in EXAMPLES:
        tables = ", ".join(f'<span property="table">{name}</span>'
                           for name in _TABLES if name.lower() in query.lower())
        tables = f" Tables: {tables}." if tables else ""
        parts.append(
            f'<div typeof="example" id="{ident}" resource="#{ident}">\n'
            f'<h2 property="name">{html.escape(title)}</h2>\n'
            f"<p>{html.escape(explanation)}{tables}</p>\n"
            f'<pre class="dachs-ex-tapquery" property="query">{html.escape(query)}</pre>\n'
            "</div>")
    body = "\n".join(parts)
    page = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML+RDFa 1.1//EN" '
        '"http://www.w3.org/MarkUp/DTD/xhtml-rdfa-2.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" version="XHTML+RDFa 1.1">\n'
        "<head><title>CASSISjuice TAP examples</title></head>\n<body>\n"
        f'<h1>Example queries for <a href="{html.escape(tap_url)}">{html.escape(tap_url)}'
        "</a></h1>\n"
        f'<div vocab="http://www.ivoa.net/rdf/examples#">\n{body}\n</div>\n</body>\n</html>\n')
    return page.encode("utf-8")
