"""Object names: one key per object however the name is written, and Sesame resolution.

:func:`name_key` makes the observer's, SIMBAD's and NED's spellings of one object equal:
upper case; SIMBAD's prefixes for stars and named objects (``V* ``, ``* ``, ``** ``,
``NAME ``) dropped; catalogue words written out mapped to their abbreviation (``Messier``
-> ``M``); spaces, underscores and dots removed; the zero padding of numbers in catalogues
numbered without a fixed width dropped (``NGC 0253`` = ``NGC 253``). So ``NGC 1068``,
``ngc1068`` and ``NGC_1068`` are ``NGC1068``. Signs and other punctuation are kept (``PG 1011-040``
is not ``PG 1011+040``). The keys of every name of a position are kept in the table
``cassisjuice.object_names`` (written at ingest), which exact and prefix look-ups query.

Sesame (CDS name resolver, http://cdsweb.u-strasbg.fr/doc/sesame.htx) is asked only when
the operator configured its URL (setting ``sesame_url``; empty by default): the client
gives a name, never a URL, and redirects are not followed. Its aliases are matched
against the stored keys; when it does not answer in time, the stored names are used alone.
"""

from __future__ import annotations

import http.client
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

__all__ = ["name_key", "sesame_aliases"]

log = logging.getLogger(__name__)

_SIMBAD_PREFIX = re.compile(r"^(?:V\*|\*\*|\*|NAME|EM\*|CL)\s+", re.I)
_LONG_NAMES = (("MESSIER", "M"), ("MARKARIAN", "MRK"), ("MKN", "MRK"))
#: catalogues numbered without a fixed width, whose zero-padded spellings are one object
_ACRONYM_NUMBER = re.compile(r"^(NGC|IC|M|UGC|UGCA|HD|HR|HIP|MRK|ARP|PGC)0+(\d)")
_DROP = re.compile(r"[\s_.]+")


def name_key(name: str | None) -> str | None:
    """The normalised key of a name (module docstring); None for an empty name."""
    if name is None:
        return None
    text = name.strip().upper()
    text = _SIMBAD_PREFIX.sub("", text)
    for long, short in _LONG_NAMES:
        if text.startswith(long):
            text = short + text[len(long):]
    text = _DROP.sub("", text)
    text = _ACRONYM_NUMBER.sub(r"\1\2", text)
    return text or None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Only the configured host is asked: a redirect elsewhere is an error."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, "redirect refused", headers, fp)


_OPENER = urllib.request.build_opener(_NoRedirect)


def sesame_aliases(base_url: str, name: str, timeout_s: float = 3.0) -> list[str]:
    """The names Sesame knows for ``name`` (its main name and aliases), from the resolver
    at ``base_url`` (e.g. ``https://cds.unistra.fr/cgi-bin/nph-sesame``; the ``-oxI``
    XML output with all identifiers, SIMBAD then NED). An empty list when it fails or
    does not know the name."""
    url = f"{base_url.rstrip('/')}/-oxI/SN?{urllib.parse.quote(name)}"
    try:
        with _OPENER.open(url, timeout=timeout_s) as response:
            root = ET.fromstring(response.read(1_000_000))
    except (OSError, ET.ParseError, ValueError, http.client.HTTPException) as exc:
        log.warning("Sesame did not resolve %r: %s", name, exc)
        return []
    names = [el.text.strip() for el in root.iter() if el.tag in ("oname", "alias")
             and el.text and el.text.strip()]
    return list(dict.fromkeys(names))
