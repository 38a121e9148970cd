"""The HTTP layer: one Flask blueprint per protocol plus what they share.

* ``params``: DALI parameter access (names case-insensitive, repeated values, GET and POST,
  urlencoded and multipart);
* ``urls``: absolute public URLs, right behind a reverse proxy;
* ``errors``: the one app-level error handler (VOTable error documents for VO clients,
  never a traceback or an HTML page) and CORS on every response.

Only this package imports Flask.
"""
