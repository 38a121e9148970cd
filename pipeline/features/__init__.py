"""Measured features of IRS spectra: PAH bands, silicate and ice absorption, lines,
continua and synthetic photometry (``measure``), by a PAHFIT-like decomposition
(``decompose``) with the published feature lists of ``catalogue``.

Pure functions of arrays (numpy, scipy, PyYAML for the PAHFIT packs): ingest calls them
for the selected spectra of every position, ``vo_service.atlas.Atlas.features`` and
``cassisjuice features`` for any variant. Nothing here reads the simulator's truth.
"""

from .measure import Column, Spectrum1D, columns, measure_position, measure_spectrum

__all__ = ["Column", "Spectrum1D", "columns", "measure_position", "measure_spectrum"]
