"""Cheap deterministic random numbers keyed by integers (no generator to construct).

``numpy.random.default_rng(key)`` costs tens of microseconds to seed, more than the draw it
serves when one or two numbers are wanted per AOR or per target. These draws hash the key
with SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
generators", OOPSLA) into 53-bit uniforms; a Gaussian comes from two of them by the
Box-Muller transform.
"""

from __future__ import annotations

import math

__all__ = ["normal", "uniforms"]

_MASK = (1 << 64) - 1


def _splitmix(state: int) -> int:
    z = (state + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def uniforms(*keys: int, n: int = 1) -> list[float]:
    """``n`` uniforms in [0, 1) determined by the integer keys."""
    state = 0
    for key in keys:
        state = _splitmix(state ^ (int(key) & _MASK))
    out = []
    for _ in range(n):
        state = _splitmix(state)
        out.append((state >> 11) * (1.0 / (1 << 53)))
    return out


def normal(*keys: int) -> float:
    """A standard Gaussian determined by the integer keys (Box-Muller)."""
    u1, u2 = uniforms(*keys, n=2)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
