"""A GET against the test server that returns error bodies too."""

from __future__ import annotations

import urllib.error
import urllib.request


def http_get(url, headers=None):
    """(status, headers, body) of a GET (with the given request headers), errors
    included."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                    timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()
