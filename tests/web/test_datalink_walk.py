"""Every link a Datalink document lists can be followed (Datalink 1.1 sec. 3.2: access_url
is the resource, content_type its MIME type): for several positions of the test atlas,
each row's access_url answers 200 with the declared content type, and each SODA service
descriptor answers 200 when called with its declared ID."""

from __future__ import annotations

import io
from urllib.parse import quote, urlencode

from astropy.io.votable import parse

from tests.http_get import http_get


def _base_type(mime: str) -> str:
    return mime.split(";", 1)[0].strip().lower()


def _document(base: str, did: str):
    status, _, body = http_get(f"{base}/datalink/links?ID={quote(did, safe='')}")
    assert status == 200
    votable = parse(io.BytesIO(body))
    table = votable.get_first_table().to_table(use_names_over_ids=True)
    descriptors = {r.ID: r for r in votable.resources if r.type == "meta"}
    return table, descriptors


def test_every_datalink_link_of_several_positions_is_served(server) -> None:
    base, store = server
    query = urlencode({"LANG": "ADQL", "RESPONSEFORMAT": "csv",
                       "QUERY": "SELECT cj_id FROM cassisjuice.positions ORDER BY cj_id"})
    status, _, body = http_get(f"{base}/tap/sync?{query}")
    assert status == 200
    positions = body.decode().split()[1:]
    assert len(positions) >= 3
    fetched, variants = 0, set()
    for cj_id in positions:
        for arm in sorted({s["arm"] for s in store.spectra_of(cj_id)}):
            did = f"ivo://cassisjuice.invalid/cassisjuice?{cj_id}/{arm}"
            table, descriptors = _document(base, did)
            assert not any(table["error_message"]), table["error_message"]
            for row in table:
                if row["access_url"]:
                    url = str(row["access_url"])
                    status, headers, body = http_get(url)
                    assert status == 200, (url, body[:300])
                    assert _base_type(headers["Content-Type"]) == _base_type(
                        str(row["content_type"])), url
                    fetched += 1
                    if row["semantics"] == "#derivation":
                        variants.add(url.split(f"/{arm}/", 1)[1].split("?")[0])
                else:
                    descriptor = descriptors[str(row["service_def"])]
                    access = next(p.value for p in descriptor.params
                                  if p.name == "accessURL")
                    inputs = {p.name: p.value for g in descriptor.groups
                              if g.name == "inputParams" for p in g.entries}
                    status, _, body = http_get(f"{access}?" + urlencode({"ID": inputs["ID"]}))
                    assert status == 200, (access, body[:300])
                    fetched += 1
    assert fetched > 50
    # the interleaved nod variants, whose 11-letter name a pattern refused, are among them
    assert any("/interleaved/" in v for v in variants)



def test_variants_outside_the_product_vocabulary_are_usage_errors(server) -> None:
    """Variant words are the product format's; anything else is a DALI error (400), and
    in a links document an error row (DataLink 1.1 sec. 3.2.4: an ID that cannot be
    resolved is a NotFoundFault) naming the word."""
    base, _ = server
    status, _, body = http_get(f"{base}/datalink/links?ID=" + quote(
        "ivo://cassisjuice.invalid/cassisjuice?1234_0/LR/optimal/bynod/sideways/point",
        safe=""))
    assert status == 200 and b"NotFoundFault" in body and b"sideways" in body
    for path in ("1234_0/LR/optimal/bynod/sideways/point", "1234_0/LR/optimal/bynod/common",
                 "1234_0/HR/optimal/bynod/common/point", "1234_0/LR/a/b/c/d/e"):
        status, _, body = http_get(f"{base}/spectra/{path}")
        assert status == 400 and b'value="ERROR"' in body, path
