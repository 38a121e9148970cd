"""THE pipeline product format: one FITS file per CASSISjuice ID, written atomically.

A product holds every method variant of the LR and HR spectra of one targeted position
(the "full atlas") and which variant was selected per arm (the "concentrate"). This is the
only package that writes or reads reduced products.

File ``<ID>.fits`` (format version ``CJPRODV = 1``), all tables big-endian FITS binary:

* primary HDU, no data: a readable mirror of the record (ID, AORKEY, POINTING, OBJECT,
  RA/DEC measured and requested in ICRS degrees, SIMULATE, software, steps, CALSET, DATE,
  selection per arm, scalar metadata as ``HIERARCH CJ META <KEY>`` cards);
* ``SPECTRA``: one row per point, sorted by variant then as given, columns ``variant``
  (int16), ``wavelength`` (um), ``flux`` (Jy), ``flux_error`` (Jy), ``segment`` (4A),
  ``flag`` (int32 bits);
* ``VARIANTS``: one row per variant: ``index, key, arm, background, extraction, nods,
  calibration, selected, n_points, snr``;
* ``SCALES``: ``variant, segment, factor``: order/module matching scale factors;
* ``META``: one row, one column ``json``: the authoritative record of the scalar fields,
  provenance, selection and free-form metadata (exact round trip; float repr).

astropy and TOPCAT read the files. The package's modules: ``model`` (vocabularies, IDs,
the frozen records), ``validation`` (what a valid product is), ``fits_codec`` (a product
to the bytes of its file and back, with numpy: ``astropy.io.fits`` costs tens of
milliseconds per file) and ``layout`` (file names, atomic writes, listing, completeness).
Every public name is importable from ``pipeline.products``.
"""

from __future__ import annotations

from .layout import (
    clean_temporaries,
    is_complete,
    list_products,
    product_path,
    read_product,
    write_product,
)
from .model import (
    ARMS,
    BACKGROUNDS,
    CALIBRATIONS,
    CJ_ID_PATTERN,
    EXTRACTIONS,
    FLAG_LOW_SNR,
    FLAG_REPLACED_PIXELS,
    FORMAT_VERSION,
    NODS,
    SEGMENTS,
    STEP_STATUSES,
    Product,
    ProductError,
    Provenance,
    Selection,
    Spectrum,
    VariantParts,
    format_cj_id,
    parse_cj_id,
    parse_variant_key,
    variant_key,
)
from .validation import validate_product

__all__ = [
    "ARMS", "BACKGROUNDS", "CALIBRATIONS", "CJ_ID_PATTERN", "EXTRACTIONS", "FLAG_LOW_SNR",
    "FLAG_REPLACED_PIXELS", "FORMAT_VERSION",
    "NODS", "SEGMENTS", "STEP_STATUSES", "Product", "ProductError", "Provenance",
    "Selection", "Spectrum", "VariantParts", "clean_temporaries", "format_cj_id",
    "is_complete", "list_products", "parse_cj_id", "parse_variant_key", "product_path",
    "read_product", "validate_product", "variant_key", "write_product",
]
