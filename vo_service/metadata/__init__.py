"""The atlas's metadata, loaded from ``resdir/cassisjuice/q.rd`` (the one source of truth).

:func:`load` parses the DaCHS resource descriptor into frozen dataclasses; units are
checked as VOUnits (astropy) and UCDs against the UCD1+ vocabulary at load time, so a typo
in the descriptor fails at start-up with the column named, not in a client.
"""

from .rd import (
    COLUMN_TYPES,
    Column,
    MetadataError,
    Resource,
    Service,
    Table,
    default_rd_path,
    load,
)

__all__ = ["COLUMN_TYPES", "Column", "MetadataError", "Resource", "Service", "Table",
           "default_rd_path", "load"]
