"""What every fuzzed request must satisfy, and the store's fingerprint.

* no 5xx;
* an XML answer is well-formed;
* an error (4xx) is the protocol's document: a VOTable whose ``INFO name="QUERY_STATUS"``
  is ERROR with a message as content (DALI 1.1 sec. 4.2, 4.4), for Cone Search also
  ``INFO name="Error"`` (SCS 1.03 sec. 3.3), for Datalink/SODA a DataLink fault name
  (DataLink 1.1 sec. 3.4);
* a successful VOTable answer has QUERY_STATUS OK or OVERFLOW;
* the store is unchanged (:func:`fingerprint` before and after).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, settings

__all__ = ["FUZZ", "check_answer", "fingerprint"]

#: bounded and reproducible: a fixed number of examples per test, the same ones every run
FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.filter_too_much])
FAULTS = ("NotFoundFault", "UsageFault", "TransientFault", "FatalFault", "DefaultFault")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _infos(root: ET.Element) -> dict[str, ET.Element]:
    return {i.get("name"): i for i in root.iter() if _local(i.tag) == "INFO"}


def check_answer(response, protocol: str, what: str) -> None:
    """Assert the rules of the module docstring on a Flask test-client response;
    ``protocol`` is one of dali, scs, datalink, plain."""
    status, mime = response.status_code, response.mimetype or ""
    body = response.get_data()
    assert status < 500, (what, status, body[-400:])
    is_xml = "xml" in mime
    root = None
    if is_xml:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise AssertionError(f"{what}: malformed XML ({exc}): {body[-300:]!r}") from None
    if status >= 400:
        assert mime == "application/x-votable+xml" and root is not None, (what, status, mime)
        infos = _infos(root)
        info = infos.get("QUERY_STATUS")
        assert info is not None and info.get("value") == "ERROR", (what, body[-300:])
        assert (info.text or "").strip(), (what, "an error without a message")
        if protocol == "scs":
            assert "Error" in infos and infos["Error"].get("value"), (what, body[-300:])
        if protocol == "datalink":
            assert (info.text or "").startswith(FAULTS), (what, info.text)
        return
    assert status in (200, 303), (what, status)
    if root is not None and _local(root.tag) == "VOTABLE":
        info = _infos(root).get("QUERY_STATUS")
        assert info is not None and info.get("value") in ("OK", "OVERFLOW"), (what, body[:300])


def fingerprint(store) -> str:
    """A digest of every row of every table of the atlas (and its metadata)."""
    digest = hashlib.sha256()
    tables = [*store.resource.tables, "store_state", "store_meta"]
    for table in tables:
        names, rows = store._rows(f"SELECT * FROM {store.physical(table)}", [])
        digest.update(f"{table}:{len(rows)}:{names}".encode())
        for row in sorted(rows, key=repr):
            digest.update(repr(tuple(bytes(v) if isinstance(v, memoryview) else v
                                     for v in row)).encode())
    return digest.hexdigest()
