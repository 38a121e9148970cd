"""A small HTTP client for the TAP tests: any method, no redirect following, cookies and
error bodies returned as they came."""

from __future__ import annotations

import http.client
import io
import urllib.parse
import xml.etree.ElementTree as ET

VOT = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def call(method: str, url: str, fields: dict | None = None, headers: dict | None = None,
         timeout: float = 60) -> tuple[int, http.client.HTTPMessage, bytes]:
    """(status, headers, body) of one request; ``fields`` are sent urlencoded (a body
    for POST, a query string otherwise)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    body = None
    headers = dict(headers or {})
    if fields is not None:
        encoded = urllib.parse.urlencode(fields)
        if method == "POST":
            body = encoded.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            path += ("&" if "?" in path else "?") + encoded
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def post_chunked(url: str, body: bytes, boundary: str, timeout: float = 60
                 ) -> tuple[int, bytes]:
    """(status, body) of a multipart POST sent as TOPCAT sends uploads: chunked transfer
    encoding in 64 kB chunks (RFC 9112 sec. 7.1), the boundary quoted in the header."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.putrequest("POST", parts.path)
        conn.putheader("Content-Type", f'multipart/form-data; boundary="{boundary}"')
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for start in range(0, len(body), 65536):
            chunk = body[start:start + 65536]
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def cookie_of(headers) -> str | None:
    """The ``name=value`` of the first Set-Cookie header, or None."""
    value = headers.get("Set-Cookie")
    return None if value is None else value.split(";", 1)[0]


def error_message(body: bytes) -> tuple[str, str]:
    """(QUERY_STATUS value, message) of a DALI document (the last QUERY_STATUS)."""
    root = ET.parse(io.BytesIO(body)).getroot()
    status = None
    for info in root.iter(f"{VOT}INFO"):
        if info.get("name") == "QUERY_STATUS":
            status = (info.get("value"), (info.text or "").strip())
    assert status is not None, body[:500]
    return status


def multipart(url: str, fields: dict, files: dict, headers: dict | None = None
              ) -> tuple[int, http.client.HTTPMessage, bytes]:
    """A multipart/form-data POST (string fields and file parts), redirects not followed."""
    boundary = "cj-test-boundary"
    body = b""
    for name, value in fields.items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                 f"{value}\r\n").encode()
    for name, content in files.items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                 f"filename=\"{name}.vot\"\r\nContent-Type: application/x-votable+xml\r\n\r\n"
                 ).encode() + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", parts.path, body=body, headers={
            **(headers or {}), "Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()
