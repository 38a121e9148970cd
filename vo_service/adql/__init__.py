"""ADQL 2.1 for cassisjuice-vo: parsing (``parser``) and translation to the store's SQL."""

from .errors import AdqlError, AdqlSyntaxError
from .parser import parse

__all__ = ["AdqlError", "AdqlSyntaxError", "parse"]
