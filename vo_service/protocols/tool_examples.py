"""The DALI examples page of the science tools (``/tools/examples``): one example per
tool, as DALI 1.1 sec. 2.3 describes for services other than TAP (XHTML+RDFa, each
example's parameters as ``generic-parameter`` key/value pairs)."""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Sequence

__all__ = ["TOOL_EXAMPLES", "tool_examples_document"]

#: (id, title, explanation, endpoint, parameters); every one is run by the tests
TOOL_EXAMPLES: Sequence[tuple[str, str, str, str, tuple[tuple[str, str], ...]]] = (
    ("similar-model", "Spectra most like a 300 K blackbody at 5.5-7.5 and 20-30 um",
     "Similarity search: the reference can be an atlas ID (ID), an uploaded spectrum "
     "(SPECTRUM, multipart: VOTable, FITS or CSV) or a model; normalised mode scales each "
     "candidate; scores are chi2 per bin with both uncertainties.",
     "similar", (("MODEL", "blackbody:300"), ("WINDOW", "5.5 7.5"), ("WINDOW", "20 30"),
                 ("MAXREC", "20"))),
    ("template-query", "The median rest-frame template of every low-resolution spectrum",
     "Templates stack a selection (ID list or ADQL QUERY returning cj_id) in the rest "
     "frame, normalised to 1 Jy at 14.5-15 um, with the number of spectra per bin.",
     "template", (("QUERY", "SELECT cj_id FROM cassisjuice.spectra WHERE arm = 'LR' AND "
                  "selected = 1"), ("STAT", "median"))),
    ("line-coverage", "Spectra covering [NeII] 12.81 at their redshift",
     "Which spectra cover the line, in which order, at what resolving power and local "
     "signal-to-noise ratio, best SNR first.",
     "linecoverage", (("LINE", "[NeII] 12.81"), ("MAXREC", "100"))),
    ("names-prefix", "Positions whose name starts with NGC 10",
     "Names are matched however written (case, spaces, zero padding) and by prefix.",
     "names", (("NAME", "NGC 10"), ("MATCH", "prefix"))),
    ("slap", "Lines between 17 and 18 um (SLAP 1.0)",
     "The line list by the Simple Line Access Protocol: WAVELENGTH in metres.",
     "slap", (("REQUEST", "queryData"), ("WAVELENGTH", "1.7e-5/1.8e-5"))),
)


def tool_examples_document(base_url: str) -> bytes:
    parts = []
    for ident, title, explanation, endpoint, params in TOOL_EXAMPLES:
        url = f"{base_url}/{endpoint}?{urllib.parse.urlencode(params)}"
        pairs = "\n".join(
            '<li property="generic-parameter" typeof="keyval">'
            f'<span property="key">{html.escape(k)}</span> = '
            f'<span property="value">{html.escape(v)}</span></li>' for k, v in params)
        parts.append(
            f'<div typeof="example" id="{ident}" resource="#{ident}">\n'
            f'<h2 property="name">{html.escape(title)}</h2>\n'
            f"<p>{html.escape(explanation)}</p>\n"
            f'<p>Endpoint: <a href="{html.escape(url)}">{html.escape(base_url)}/{endpoint}'
            f"</a></p>\n<ul>\n{pairs}\n</ul>\n</div>")
    body = "\n".join(parts)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML+RDFa 1.1//EN" '
        '"http://www.w3.org/MarkUp/DTD/xhtml-rdfa-2.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" version="XHTML+RDFa 1.1">\n'
        "<head><title>CASSISjuice science tools: examples</title></head>\n<body>\n"
        "<h1>Examples of the CASSISjuice science tools</h1>\n"
        f'<div vocab="http://www.ivoa.net/rdf/examples#">\n{body}\n</div>\n</body>\n</html>\n'
    ).encode()
