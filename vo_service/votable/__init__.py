"""Every VOTable the service writes is built here (through ``astropy.io.votable``).

* :func:`results_votable`: a result table (TAP, SSAP, SCS, Datalink) with the DALI
  ``QUERY_STATUS`` INFO, optional PARAMs, the overflow marker after the TABLE and service
  descriptors as extra ``RESOURCE type="meta"``;
* :func:`error_votable`: the DALI error document (DALI 1.1 sec. 4.2, 4.4);
* :class:`FieldSpec`, :class:`ParamSpec`, :class:`ServiceDescriptor`: what the protocol
  cores hand over, built from ``resdir`` metadata by the callers.

Protocol modules never assemble VOTable XML themselves; the web layer only picks the MIME
type and serialisation.
"""

from .writer import (
    VOTABLE_MIME,
    FieldSpec,
    ParamSpec,
    ServiceDescriptor,
    error_votable,
    field_from_column,
    param_from_column,
    results_votable,
)

__all__ = [
    "VOTABLE_MIME", "FieldSpec", "ParamSpec", "ServiceDescriptor", "error_votable",
    "field_from_column", "param_from_column", "results_votable",
]
