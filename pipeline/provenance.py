"""The reduction's step runner: it runs the stages of one position and writes the
product's provenance from what actually happened, never from a fixed list.

Statuses (``pipeline.products.STEP_STATUSES``), after the jwst pipeline's ``cal_step``
(``COMPLETE``/``SKIPPED``, written by the framework, not by each step):

* ``COMPLETE``: ran on all the data it applies to;
* ``PARTIAL``: ran, but was refused for part of the data (an order or a nod; the reasons
  are the arm's ``refused`` lines in the product's metadata);
* ``REFUSED``: a method that applies but was refused everywhere (e.g. a by-nod background
  whose offset nod holds a contaminating source);
* ``SKIPPED``: does not apply to these data (no HR module observed, a method the arm
  never attempts);
* ``FAILED``: raised or produced nothing; the message is in ``metadata['failed']``.

The arm reductions (``lowres``, ``highres``) run clean, combine, background, extraction
and nod combination inside one call and report what they made (the variants) and what
they refused (``ArmResult.refused``); the runner turns those into one step per method.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from .extracted import ArmResult
from .products import BACKGROUNDS, EXTRACTIONS, NODS

__all__ = ["StepRunner"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def _refused_methods(line: str, methods: set[str]) -> set[str] | None:
    """The method words a refusal line refuses, None for all of them. The arm reductions
    write ``<what>: <why>``: ``what`` names the order/nod and the method (``SL1 nod 1
    bynod``), a background and extraction together (``bynod extended``: the second is
    refused with the first), or no method (``SL1 nod 2: not observed``: all of them); an
    HR line may name them in parentheses after the reason (``... (diff) ... (nods)``)."""
    what, _, why = line.partition(":")
    named = [w for w in what.split() if w in methods]
    if named:
        return {named[-1]}
    quoted = {w for w in re.findall(r"\(([a-z]+)\)", why) if w in methods}
    return quoted or None


class StepRunner:
    """Runs stages and keeps ``(step, status)`` in run order and why a step failed."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str]] = []
        self.failed: dict[str, str] = {}

    def record(self, name: str, status: str) -> None:
        self.steps.append((name, status))

    def run(self, name: str, stage: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``stage(*args, **kwargs)``, recorded COMPLETE when it returns something and
        FAILED when it raises (the message kept) or returns None; the result, or None."""
        try:
            result = stage(*args, **kwargs)
        except Exception as exc:  # a failing stage is recorded, the others still run
            log.debug("step %s failed", name, exc_info=True)
            self.failed[name] = f"{type(exc).__name__}: {exc}"
            self.record(name, "FAILED")
            return None
        self.record(name, "COMPLETE" if result is not None else "FAILED")
        return result

    def arm_steps(self, result: ArmResult) -> None:
        """One step per method the arm reduction applies, from its variants and refusals:
        the stages it ran inside one call."""
        arm = result.arm
        self.record(f"{arm} clean", "COMPLETE")
        self.record(f"{arm} combine", "COMPLETE")
        kinds = (("background", "background", BACKGROUNDS[arm]),
                 ("extract", "extraction", EXTRACTIONS[arm]), ("nods", "nods", NODS[arm]))
        every = {m for _, _, vocabulary in kinds for m in vocabulary}
        refusals = [_refused_methods(line, every) for line in result.refused]
        for kind, attribute, vocabulary in kinds:
            for method in vocabulary:
                made = any(getattr(v, attribute) == method for v in result.variants)
                named = any(r is not None and method in r for r in refusals)
                part = named or any(r is None for r in refusals)
                status = ("PARTIAL" if made and part else "COMPLETE" if made
                          else "REFUSED" if named else "SKIPPED")
                self.record(f"{arm} {kind} {method}", status)
        if arm == "HR":
            fringes = result.diagnostics.get("fringes") or {}
            self.record("HR defringe", "COMPLETE" if fringes else "SKIPPED")
        self.record(f"{arm} extent", "COMPLETE" if result.extent_arcsec is not None
                    else "FAILED")
