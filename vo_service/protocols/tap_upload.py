"""TAP uploads (TAP 1.1 sec. 2.5.2 and 3.3; DALI 1.1 sec. 3.4.5).

``UPLOAD=name,param:part`` names a part of the multipart request (inline upload, what
TOPCAT and pyvo send); an uploaded table becomes a ``VALUES`` list in a WITH clause of the
translated query: read-only on both backends, gone when the query ends.

``UPLOAD=name,http(s)://...`` (TAPRegExt ``#upload-http``) makes the service fetch a URL,
which would let any client reach whatever the server can reach (its loopback, the private
network, cloud metadata addresses). It is off unless the operator lists the hosts it may
fetch from (``upload_url_hosts``); then the host must be listed, its address is resolved
once and must be a public one (no loopback, private, link-local, reserved or multicast
address: the connection goes to that checked address, so a second DNS answer cannot
differ), redirects are not followed, and the fetch is bounded in bytes
(``upload_limit_bytes``) and time (``upload_url_timeout_s``), with at most
``MAX_FETCHES`` fetches at once per process. Every failure gets one text, so the error
does not tell open, closed and non-HTTP ports apart.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from vo_service.adql.schema import ColumnInfo, TableInfo
from vo_service.adql.values import sql_literal

__all__ = ["TapError", "Upload", "fetch", "parse_uploads", "upload_table"]

log = logging.getLogger(__name__)

#: URL fetches running at once in a process: slow servers cannot take every request
#: thread (each fetch is also bounded by upload_url_timeout_s)
MAX_FETCHES = 2
_FETCHES = threading.BoundedSemaphore(MAX_FETCHES)

_UPLOAD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_UPLOAD_TYPES = {"boolean": ("INTEGER", "BOOLEAN", "bool"), "short": ("INTEGER", "SMALLINT", "int"),
                 "int": ("INTEGER", "INTEGER", "int"), "long": ("INTEGER", "BIGINT", "int"),
                 "unsignedByte": ("INTEGER", "SMALLINT", "int"),
                 "float": ("REAL", "REAL", "float"),
                 "double": ("REAL", "DOUBLE PRECISION", "float"),
                 "char": ("TEXT", "TEXT", "str"), "unicodeChar": ("TEXT", "TEXT", "str")}


class TapError(ValueError):
    """A TAP request the service refuses; the message is for the user (HTTP 400)."""


@dataclass(frozen=True)
class Upload:
    name: str
    table: TableInfo
    cte: str  # '"up_name"("a", "b") AS (VALUES ...)'




def _refused(name: str) -> TapError:
    return TapError(f"UPLOAD {name}: the table could not be fetched from its URL (this "
                    "service fetches uploads only from the hosts its operator allows, "
                    "without redirects, within its time and size limits); send the table "
                    f"inline instead: UPLOAD={name},param:{name} with a multipart part "
                    f"{name}")


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def allowed_hosts(settings) -> set[str]:
    """The hosts UPLOAD URLs may name (empty: upload by URL is off)."""
    return {h.strip().lower() for h in settings.upload_url_hosts.split(",") if h.strip()}


def fetch(name: str, url: str, settings) -> bytes:
    """The content at ``url`` under the policy of the module docstring."""
    hosts = allowed_hosts(settings)
    if not hosts:
        raise TapError(f"UPLOAD {name}: this service does not fetch uploads by URL; send "
                       f"the table inline: UPLOAD={name},param:{name} with a multipart "
                       f"part {name}")
    if not _FETCHES.acquire(blocking=False):  # a request thread never waits for a slot
        raise TapError(f"UPLOAD {name}: the service is fetching other uploads; try again "
                       "shortly, or send the table inline")
    try:
        return _get(url, hosts, settings.upload_limit_bytes, settings.upload_url_timeout_s)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        log.info("UPLOAD %s from %s refused: %s", name, url, exc)
        raise _refused(name) from None
    finally:
        _FETCHES.release()


def _get(url: str, hosts: set[str], limit_bytes: int, timeout_s: float) -> bytes:
    deadline = time.monotonic() + timeout_s
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or host not in hosts or parts.username:
        raise ValueError("host not allowed")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM)[0]
    if not _public(address[0]):
        raise ValueError(f"{host} resolves to the non-public address {address[0]}")
    sock = socket.socket(family, kind, proto)
    conn = response = None
    try:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        sock.connect(address)  # the checked address, not a second resolution
        if parts.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        conn.sock = sock  # http.client connects only when it has no socket
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path, headers={"Accept": "application/x-votable+xml"})
        response = conn.getresponse()
        if response.status != 200:  # a redirect (3xx) is not followed
            raise ValueError(f"HTTP {response.status}")
        chunks, size = [], 0
        while size <= limit_bytes:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = response.read1(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError("upload fetch took too long")
        if size > limit_bytes:
            raise ValueError("larger than the upload limit")
        return b"".join(chunks)
    finally:
        for opened in (response, conn):  # the response holds a file on the socket
            if opened is not None:
                opened.close()
        sock.close()

def parse_uploads(spec: str | None, part: Callable[[str], bytes | None],
                  settings) -> tuple[Upload, ...]:
    """The tables of ``UPLOAD=name,uri;...``: ``param:part`` reads a part of the request
    (``part(name)``), an http(s) URL is fetched under the policy of :func:`fetch`."""
    limit_bytes = settings.upload_limit_bytes
    if not spec:
        return ()
    out = []
    for item in spec.split(";"):
        if not item.strip():
            continue
        name, sep, uri = item.partition(",")
        name, uri = name.strip(), uri.strip()
        if not sep or not uri:
            raise TapError(f"UPLOAD {item!r}: use UPLOAD=name,param:part or name,URL")
        if not _UPLOAD_NAME.match(name):
            raise TapError(f"UPLOAD table name {name!r} is not an ADQL regular identifier")
        if any(u.name.lower() == name.lower() for u in out):
            raise TapError(f"UPLOAD names the table {name} twice")
        if uri.startswith("param:"):
            content = part(uri[len("param:"):])
            if content is None:
                raise TapError(f"UPLOAD {name}: the request has no part {uri[6:]!r}")
        elif uri.startswith(("http://", "https://")):
            content = fetch(name, uri, settings)
        else:
            raise TapError(f"UPLOAD {name}: unsupported URI {uri!r} (param: or http(s):)")
        if len(content) > limit_bytes:
            raise TapError(f"UPLOAD {name}: larger than the limit of {limit_bytes} bytes")
        out.append(upload_table(name, content))
    return tuple(out)


def upload_table(name: str, content: bytes) -> Upload:
    """A VOTable as TAP_UPLOAD.name: its columns and the VALUES list holding its rows."""
    from astropy.io.votable import parse_single_table

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = parse_single_table(io.BytesIO(content))
    except Exception as exc:  # astropy raises many types on malformed input
        raise TapError(f"UPLOAD {name}: not a readable VOTable ({exc})") from None
    if not table.fields:  # VOTable 1.4 sec. 3: a TABLE describes its columns with FIELDs
        raise TapError(f"UPLOAD {name}: the VOTable's TABLE has no FIELD")
    columns, kinds = [], []
    for f in table.fields:
        if f.datatype not in _UPLOAD_TYPES or (
                f.arraysize not in (None, "1") and f.datatype not in ("char", "unicodeChar")):
            raise TapError(f"UPLOAD {name}: column {f.name} ({f.datatype}"
                           f"{'[' + f.arraysize + ']' if f.arraysize else ''}) is not a "
                           "scalar or string column")
        votable_type = f.datatype if f.datatype != "unicodeChar" else "char"
        columns.append(ColumnInfo(f.name, "long" if votable_type == "unsignedByte" else
                                  votable_type, "*" if votable_type == "char" else None,
                                  f.unit and str(f.unit), f.ucd, f.utype, f.xtype,
                                  str(f.description) if f.description else None))
        kinds.append(_UPLOAD_TYPES[f.datatype])
    names = list(table.array.dtype.names)
    data = [table.array[n] for n in names]
    physical = f'"up_{name.lower()}"'
    position = _position(columns)
    info = TableInfo("TAP_UPLOAD", name, physical, tuple(columns),
                     f"the uploaded table {name}", position=position)
    return Upload(name, info, _values_cte(physical, columns, kinds, data, len(table.array)))


def _position(columns: Sequence[ColumnInfo]) -> tuple[str, str] | None:
    """The (ra, dec) columns of an upload, by UCD or by name, for the join bands."""
    by_ucd = {c.ucd.split(";")[0]: c.name for c in columns if c.ucd}
    if "pos.eq.ra" in by_ucd and "pos.eq.dec" in by_ucd:
        return by_ucd["pos.eq.ra"], by_ucd["pos.eq.dec"]
    names = {c.name.lower(): c.name for c in columns}
    for ra, dec in (("ra", "dec"), ("raj2000", "dej2000"), ("ra_icrs", "de_icrs")):
        if ra in names and dec in names:
            return names[ra], names[dec]
    return None


def _cell(value, kind: str) -> object:
    import numpy as np

    if value is None or value is np.ma.masked:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if kind == "str":
        return str(value)
    if kind == "bool":
        return int(bool(value))
    if kind == "int":
        return int(value)
    number = float(value)
    return None if number != number or number in (float("inf"), float("-inf")) else number


def _values_cte(physical: str, columns, kinds, data, n: int) -> str:
    names = ", ".join('"' + c.name.replace('"', '""') + '"' for c in columns)
    if n == 0:
        select = ", ".join(f"CAST(NULL AS {k[1]})" for k in kinds)
        return f"{physical}({names}) AS (SELECT {select} WHERE 1 = 0)"
    rows = []
    for i in range(n):
        cells = [sql_literal(_cell(col[i], kind[2])) for col, kind in
                 zip(data, kinds, strict=True)]
        if i == 0:  # the first row fixes the column types (PostgreSQL infers from it)
            cells = [f"CAST({c} AS {k[1]})" for c, k in zip(cells, kinds, strict=True)]
        rows.append("(" + ", ".join(cells) + ")")
    return f"{physical}({names}) AS (VALUES {', '.join(rows)})"


