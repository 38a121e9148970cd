"""A flat F_nu spectrum for rendering tests (the renderer only needs ``flux_jy``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Flat:
    level_jy: float

    def flux_jy(self, wavelength_um, resolving_power=None):
        return np.full_like(np.asarray(wavelength_um, float), self.level_jy)
