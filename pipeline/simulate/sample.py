"""The simulated sky sample: which positions the IRS observed and what sits there.

By default the sample is the real IRS low-resolution target list shipped in
``data/irs_targets.csv`` (11,081 CASSIS AORKEYs with names and positions; see
``data/PROVENANCE.md``). Each target gets a spectral class guessed from its name
(:func:`classify_name`), an extent and a model spectrum. Samples larger than the real list
are completed with synthetic positions laid out like the IRS targets (Galactic plane,
Magellanic Clouds, nearby star-forming clouds, clumps on nearby galaxies and clusters,
isotropic high latitude), with AORKEYs from 40,000,000 up and names ``SIM Jhhmmss.ss+ddmmss.s``.

Extent rules (probabilities chosen for the simulator): stars, standards, evolved stars,
AGN and YSOs are point sources; ``pah_galaxy`` is resolved with probability 0.6 at z <
0.01, 0.3 at z < 0.03, 0.05 beyond; H II regions and planetary nebulae are always
resolved. A resolved source's size (intrinsic FWHM of its whole profile) is drawn log-
uniform over a range per class: PAH galaxies 0.5-60", H II regions 1-300", planetary
nebulae 0.5-120" (many compact sources, a continuous distribution up to 300"); its shape
is a Gaussian (40 %), an exponential disc (35 %) or a compact Gaussian core (FWHM 5-30 %
of the halo's, 20-70 % of the flux) in an exponential halo (25 %)
(``morphology.resolved_morphology``). The shape draws are hashed from the size draw
(:mod:`pipeline.simulate._draws`), so they leave every other draw of the sample unchanged.
The extent class follows that FWHM with the atlas's class limits
(``morphology.POINT_MAX_ARCSEC`` 2.5", ``EXTENDED_MIN_ARCSEC`` 40", the selection's
documented limits). Programme ids are plausible, not real: real targets get one from the
Spitzer cycle their AORKEY falls in (a deterministic hash of the key's neighbourhood),
synthetic programmes observe 1-40 positions each in one region.
"""

from __future__ import annotations

import csv
import gc
import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord

from ._draws import uniforms
from .morphology import Morphology, extent_class, resolved_morphology
from .sky import (
    AGN,
    DUSTY_EVOLVED_STAR,
    EMBEDDED_YSO,
    HII_REGION,
    PAH_GALAXY,
    PLANETARY_NEBULA,
    SPECTRAL_CLASSES,
    STANDARD_STAR,
    STELLAR_PHOTOSPHERE,
    SourceSpectrum,
    make_spectrum,
)

__all__ = [
    "ATLAS_WEIGHTS",
    "CALIBRATORS",
    "EXTENTS",
    "N_REAL_TARGETS",
    "SYNTHETIC_AORKEY_START",
    "Target",
    "classify_from_uniform",
    "classify_name",
    "real_targets",
    "sky_sample",
]

log = logging.getLogger(__name__)

EXTENTS = ("point", "partial", "extended")
N_REAL_TARGETS = 11081
SYNTHETIC_AORKEY_START = 40_000_000
_AORKEY_STEP = 256

#: (upper AORKEY bound, first programme id, number of ids): Spitzer cycles, approximately
_PROGRAM_ERAS = (
    (5_000_000, 1, 1500), (13_000_000, 3000, 800), (18_000_000, 20000, 800),
    (23_000_000, 30000, 1000), (28_000_000, 40000, 1000), (10**12, 50000, 1000),
)

# synthetic layout: region -> (fraction, class weights in SPECTRAL_CLASSES order)
#                    star  dusty  pahgal agn   yso   hii   pn    std
_REGIONS = {
    "plane":      (0.25, (0.15, 0.25, 0.00, 0.00, 0.20, 0.25, 0.15, 0.0)),
    "magellanic": (0.10, (0.15, 0.35, 0.00, 0.00, 0.20, 0.15, 0.15, 0.0)),
    "cloud":      (0.08, (0.15, 0.00, 0.00, 0.00, 0.85, 0.00, 0.00, 0.0)),
    "galaxies":   (0.14, (0.00, 0.00, 0.45, 0.15, 0.00, 0.40, 0.00, 0.0)),
    "isotropic":  (0.43, (0.30, 0.10, 0.30, 0.25, 0.03, 0.00, 0.02, 0.0)),
}
#: Magellanic Clouds: (ra, dec, sigma deg, share)
_MAGELLANIC = ((80.9, -69.75, 1.5, 0.7), (13.2, -72.8, 0.7, 0.3))
#: nearby star-forming clouds (Taurus, Ophiuchus, Perseus, Orion A, Serpens, Cha I, Lupus)
_CLOUDS = ((68.0, 25.0, 2.5), (246.8, -24.5, 1.0), (53.5, 31.3, 1.0), (83.8, -5.4, 1.0),
           (277.5, 1.2, 0.7), (167.0, -77.3, 0.7), (240.0, -38.0, 1.5))
#: nearby galaxies and clusters: (ra, dec, sigma deg, redshift) -- M31, M33, M51, M81,
#: M82, M101, NGC 253, Virgo, Fornax, Coma
_GALAXIES = ((10.685, 41.269, 0.6, 0.0), (23.462, 30.660, 0.25, 0.0),
             (202.470, 47.195, 0.06, 0.0015), (148.888, 69.065, 0.15, 0.0001),
             (148.969, 69.680, 0.04, 0.0007), (210.802, 54.349, 0.12, 0.0008),
             (11.888, -25.288, 0.1, 0.0008), (187.706, 12.391, 3.0, 0.0036),
             (54.62, -35.45, 1.5, 0.0046), (194.95, 27.98, 1.0, 0.0231))


@dataclass(frozen=True)
class Target:
    """One targeted position of the sky sample.

    Parameters
    ----------
    aorkey : int
        AOR key (real, or >= 40,000,000 for synthetic positions).
    object_name : str
        Name as typed by the observer (real) or ``SIM J...`` (synthetic).
    ra_deg, dec_deg : float
        ICRS position (deg).
    spectral_class : str
        One of :data:`pipeline.simulate.sky.SPECTRAL_CLASSES`.
    extent : str
        ``"point"``, ``"partial"`` or ``"extended"`` (from the FWHM and the class limits).
    fwhm_arcsec : float
        Intrinsic FWHM of the whole source (0 for point sources).
    spectrum : SourceSpectrum
        The model spectrum.
    is_real_target : bool
        Whether the position comes from the real IRS target list.
    program_id : int
        Spitzer programme id (plausible, simulated).
    morphology : Morphology or None
        The source's shape (None: a Gaussian of ``fwhm_arcsec``).
    """

    aorkey: int
    object_name: str
    ra_deg: float
    dec_deg: float
    spectral_class: str
    extent: str
    fwhm_arcsec: float
    spectrum: SourceSpectrum
    is_real_target: bool
    program_id: int
    morphology: Morphology | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary; :meth:`from_dict` restores an equal object."""
        return {
            "aorkey": self.aorkey, "object_name": self.object_name,
            "ra_deg": self.ra_deg, "dec_deg": self.dec_deg,
            "spectral_class": self.spectral_class, "extent": self.extent,
            "fwhm_arcsec": self.fwhm_arcsec, "spectrum": self.spectrum.to_dict(),
            "is_real_target": self.is_real_target, "program_id": self.program_id,
            "morphology": (self.morphology or Morphology.gaussian(self.fwhm_arcsec)).to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        """Rebuild a target from :meth:`to_dict` output."""
        return cls(
            aorkey=int(data["aorkey"]), object_name=str(data["object_name"]),
            ra_deg=float(data["ra_deg"]), dec_deg=float(data["dec_deg"]),
            spectral_class=str(data["spectral_class"]), extent=str(data["extent"]),
            fwhm_arcsec=float(data["fwhm_arcsec"]),
            spectrum=SourceSpectrum.from_dict(data["spectrum"]),
            is_real_target=bool(data["is_real_target"]), program_id=int(data["program_id"]),
            morphology=(Morphology.from_dict(data["morphology"]) if data.get("morphology")
                        else None),
        )


# -- classification from names --------------------------------------------------------

#: class weights (SPECTRAL_CLASSES order) for empty or uninformative names
ATLAS_WEIGHTS = (0.25, 0.10, 0.20, 0.10, 0.15, 0.10, 0.10, 0.0)
#: IRS flux calibrators (names repeatedly observed by the calibration programme)
CALIBRATORS = frozenset({
    "hd173511", "hr7341", "hr6606", "alplac", "hd163466", "ksidra", "eta1dor", "hr6348",
    "hr5467", "hd172728", "delumi", "hd166780", "hr7018",
})
_CONSTELLATIONS = (
    "and|ant|aps|aqr|aql|ara|ari|aur|boo|cae|cam|cnc|cvn|cma|cmi|cap|car|cas|cen|cep|cet|"
    "cha|cir|col|com|cra|crb|crv|crt|cru|cyg|del|dor|dra|equ|eri|for|gem|gru|her|hor|hya|"
    "hyi|ind|lac|leo|lmi|lep|lib|lup|lyn|lyr|men|mic|mon|mus|nor|oct|oph|ori|pav|peg|per|"
    "phe|pic|psc|psa|pup|pyx|ret|sge|sgr|sco|scl|sct|ser|sex|tau|tel|tri|tra|tuc|uma|umi|"
    "vel|vir|vol|vul"
)
_GREEK = ("alf|alp|alpha|bet|beta|gam|del|eps|zet|eta|the|tet|iot|kap|lam|mu|nu|ksi|xi|omi|"
          "pi|rho|sig|tau|ups|phi|chi|psi|ome")
_YOUNG_CONSTELLATIONS = "tau|aur|cha|lup|oph|cra|per"
_S, _D, _P, _A, _Y, _H, _N = (STELLAR_PHOTOSPHERE, DUSTY_EVOLVED_STAR, PAH_GALAXY, AGN,
                              EMBEDDED_YSO, HII_REGION, PLANETARY_NEBULA)
#: ordered rules: (outcome, pattern matched at the start of the normalised name); the
#: outcome is a class or a {class: weight} draw. First match wins.
_RULES: tuple[tuple[str | dict[str, float], str], ...] = (
    # solar-system bodies (documented choice: featureless thermal continuum)
    (_S, r"(pluto|charon|lutetia|steins|encke|asbolus|chiron|chariklo|pholus|eureka|"
         r"hidalgo|elisa|ceres|vesta|pallas|eros|tempel|hartley|holmes)\b"),
    (_S, r"[cp]/|\d+p[/ ]|(19|20)\d\d [a-z]{2}\d*$|\d{2,6} [a-z]{4,}$"),
    # planetary nebulae
    (_N, r"(pn|png|pn g) ?\d|pn\b|png\b|smp\b|lmc ?smp|smc ?smp|(hen|he) ?[1-3]-|"
         r"(m|h|k|hb|hu|cn|vy|mz|sa|j) ?\d-\d|bd ?\+30 ?3639|"
         r"ngc ?(6543|7027|6302|7009|6720|6826|40|3918|6210|7662|6572|2392|6153|6445|6537|"
         r"6369|7293|3242|2440|6818|6886|6741|6790|6881|6884|7026|2867|5315|6751|3132)\b|"
         r"ic ?(418|2149|4997|5117|2165|3568|4634|2448|2501|4191|1297)\b"),
    # H II regions
    (_H, r"g ?\d{1,3}\.\d+ ?[+-] ?\d|w ?(3|31|33|43|49|51)\b|sh ?2[- ]|m ?(8|16|17|20|42)\b|"
         r"n ?\d{1,3}[a-z]?\d?\b(?!-irs)|.*\bh ?ii\b|ngc ?(3603|604|595|346|2070|7538|6334|"
         r"6357|2024|3576|2023)\b|30 ?dor|rcw ?\d|orion ?bar|sgr ?b2|.*hii\b"),
    (_H, r"msx ?(lmc|smc)?.*(hii|h2r)"),
    ({_D: 0.55, _H: 0.45}, r"msx"),
    # extragalactic surveys (before the YSO "IRS" rule: "IRS_FLS_51", "GDS_IRS_MIPS5")
    ({_P: 0.65, _A: 0.35}, r".*(swire|x?fls|goods|egs|bootes|cosmos|hdf|lockman|mips|noao|"
                           r"2masx|sdss|cdf|gds|gn ?\d)"),
    # young stellar objects
    (_Y, r".*\birs ?\d|.*\birs\b|hh ?\d|l ?1\d{3}|l ?\d{2,4}\b|ldn ?\d|.*c2d|sst ?c2d|sst\b|"
         r"2mass ?j|2mass\b|hops|hbc ?\d|lk ?h ?a|lkca|elias|crbr|isoy|pers|serp|oph|"
         r"cha ?\d|ngc ?1333|ic ?348|ngc ?2068|wl ?\d|gy ?\d|rno ?\d|haro ?\d+-\d|cb ?-?\d|"
         r"b ?335|bhr ?\d|twa ?\d|pds ?\d|sz ?\d|lupi|tmc|irdc|yso|.*iras ?16293|"
         rf"(v ?\d{{3,4}}|[a-z]{{1,2}}) ?({_YOUNG_CONSTELLATIONS})$"),
    # AGN
    (_A, r"pg ?\d|3c ?\d|4c ?[+-]?\d|.*qso|.*quasar|pks ?\d|mrk ?(231|463|1014)\b|"
         r"ngc ?(1068|4151|1275|5548|7469|4395|5128|4945|1365)\b|cen ?a\b|ic ?4329|"
         r"(hs|he|fbqs|1jy|b2|b3|1es|2e|ton|xbootes|highlx|granat|xss|xid|s5) ?[0-9+-]|"
         r"\[hb89\]"),
    ({_A: 0.5, _Y: 0.5}, r"rx ?j|rxs|1rxs"),
    # galaxies
    ({_P: 0.65, _A: 0.35}, r"(ngc|ugc|ic|eso|mrk|mkn|markarian|cgcg|mcg|arp|haro|tol|um|kug|"
                           r"vv|zw|i+ zw|kaz|sbs|iras ?f|irasf|fsc|psb|ulirg|lirg) ?[0-9+-]|"
                           r"m ?(31|33|51|81|82|83|101|104)\b"),
    # stars
    (_D, r"(afgl|rafgl|crl|irc|oh|hv|rcb|sn) ?[0-9+-]|.*rcb\b|.*agb|.*mira|.*carbon"),
    ({_D: 0.5, _S: 0.5}, r"wr ?\d|gl ?\d"),
    ({_S: 0.8, _D: 0.2}, r"(hd|hr|hip|bd|cd|cpd|sao|gj|gliese|wd|tyc|hic|ppm|sk|bstar) ?[0-9+-]|"
                         rf"({_GREEK})\.?(\d{{1,2}} ?| )[a-z]{{3,}}|"
                         rf"\d{{1,3}} ?({_CONSTELLATIONS})$"),
    ({_D: 0.7, _S: 0.3}, rf"(v ?\d{{3,4}}|[a-z]{{1,2}}) ?({_CONSTELLATIONS})\b"),
    ({_Y: 0.3, _P: 0.3, _D: 0.25, _A: 0.1, _N: 0.05}, r"iras"),
)
_RULE_RE = re.compile("|".join(f"(?P<r{i}>{pattern})" for i, (_, pattern) in enumerate(_RULES)))
_SUFFIX_RE = re.compile(r"_(\d{1,2}|x\d|sv\d)$")  # cluster pointing / sub-visit suffixes


def _normalise(name: str) -> str:
    text = _SUFFIX_RE.sub("", name.strip().lower())
    text = re.sub(r"[_~*]+", " ", text)
    return " ".join(text.split())


@cache
def _name_outcome(name: str) -> str | tuple[tuple[str, ...], tuple[float, ...]]:
    text = _normalise(name)
    if text.replace(" ", "") in CALIBRATORS:
        return STANDARD_STAR
    match = _RULE_RE.match(text) if text else None
    outcome = _RULES[int(match.lastgroup[1:])][0] if match and match.lastgroup else None
    if isinstance(outcome, str):
        return outcome
    weights = outcome or dict(zip(SPECTRAL_CLASSES, ATLAS_WEIGHTS, strict=True))
    return tuple(weights), tuple(weights.values())


def classify_from_uniform(name: str, uniform: float) -> str:
    """:func:`classify_name` with the random deviate given (uniform in [0, 1))."""
    outcome = _name_outcome(name)
    if isinstance(outcome, str):
        return outcome
    classes, weights = outcome
    target = uniform * sum(weights)
    for cls, weight in zip(classes, weights, strict=True):
        target -= weight
        if target < 0.0:
            return cls
    return classes[-1]


def classify_name(name: str, rng: np.random.Generator) -> str:
    """Guess a spectral class from an object name.

    Calibrators (HD 173511, HR 7341, ...) become ``standard_star``; catalogue prefixes
    and designations pick the class where they tell (HD/HR/HIP -> mostly photospheres,
    NGC/UGC/IRAS F -> PAH galaxy or AGN, PG/3C -> AGN, IRS/HH/L1xxx/LkHa -> embedded YSO,
    PN G -> planetary nebula, G0xx.x+x.x/W51/Sh2- -> H II region, ...); solar-system
    bodies map to ``stellar_photosphere`` (a featureless thermal continuum: the sky
    model has no solar-system class); empty or uninformative names draw a class with
    the atlas-like weights (stars 35 %, galaxies 30 %, YSOs 15 %, H II regions and
    planetary nebulae 10 % each).

    Parameters
    ----------
    name : str
        Object name as typed by the observer.
    rng : numpy.random.Generator
        Used for the ambiguous cases (exactly one deviate per call).

    Returns
    -------
    str
        One of :data:`pipeline.simulate.sky.SPECTRAL_CLASSES`.
    """
    return classify_from_uniform(name, float(rng.random()))


@cache
def real_targets() -> tuple[tuple[int, str, float, float], ...]:
    """The real IRS target list: (aorkey, object_name, ra_deg, dec_deg), sorted by aorkey."""
    text = resources.files(__package__).joinpath("data/irs_targets.csv").read_text("utf-8")
    rows = [(int(r["aorkey"]), r["object_name"].strip(), float(r["ra"]), float(r["dec"]))
            for r in csv.DictReader(io.StringIO(text))]
    rows.sort()
    return tuple(rows)


def _program_id(aorkey: int) -> int:
    for bound, first, count in _PROGRAM_ERAS:
        if aorkey < bound:
            bucket = aorkey // (_AORKEY_STEP * 40)
            return first + (bucket * 2654435761 % 4294967296) % count
    raise AssertionError("unreachable")


#: log-uniform size range (arcsec) of the resolved sources of each class
_SIZE_RANGE_ARCSEC = {PAH_GALAXY: (0.5, 60.0), HII_REGION: (1.0, 300.0),
                      PLANETARY_NEBULA: (0.5, 120.0)}


def _extent(spectral_class: str, redshift: float, u1: float,
            u2: float) -> tuple[str, float, Morphology]:
    if spectral_class == PAH_GALAXY:
        resolved = u1 < (0.6 if redshift < 0.01 else 0.3 if redshift < 0.03 else 0.05)
    else:
        resolved = spectral_class in (HII_REGION, PLANETARY_NEBULA)
    if not resolved:
        return "point", 0.0, Morphology.point()
    lo, hi = _SIZE_RANGE_ARCSEC[spectral_class]
    size = lo * (hi / lo) ** u2
    morphology = resolved_morphology(size, tuple(uniforms(int(u2 * 2**53), 3301, n=3)))
    fwhm = morphology.fwhm_arcsec
    return extent_class(fwhm), fwhm, morphology


def _target(aorkey: int, name: str, ra: float, dec: float, cls: str, real: bool,
            program_id: int, rng: np.random.Generator, redshift: float | None = None) -> Target:
    spectrum = make_spectrum(cls, rng, redshift=redshift)
    u1, u2 = rng.random(2).tolist()
    extent, fwhm, morphology = _extent(cls, spectrum.redshift, u1, u2)
    return Target(aorkey, name, ra, dec, cls, extent, fwhm, spectrum, real, program_id,
                  morphology)


def sky_sample(n_positions: int, seed: int) -> list[Target]:
    """The positions to simulate, sorted by AORKEY.

    Parameters
    ----------
    n_positions : int
        Number of targets. Up to 11,081 a seeded random subset of the real IRS targets;
        beyond, all real targets plus synthetic positions laid out like them.
    seed : int
        Non-negative; same seed, same list.

    Returns
    -------
    list of Target

    Raises
    ------
    ValueError
        If ``n_positions`` is not a positive integer.
    """
    if isinstance(n_positions, bool) or not isinstance(n_positions, (int, np.integer)) \
            or n_positions <= 0:
        raise ValueError(f"n_positions must be a positive integer, got {n_positions!r}")
    n_positions = int(n_positions)
    with _gc_paused():
        targets = _sample(n_positions, np.random.default_rng([int(seed), 20400]))
    log.info("sky sample: %d positions (%d real), seed %d", len(targets),
             sum(t.is_real_target for t in targets), seed)
    return targets


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects (no cycles
    are created; the collector's repeated passes over the growing heap would otherwise
    double the run time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sample(n_positions: int, rng: np.random.Generator) -> list[Target]:
    real = real_targets()
    if n_positions < len(real):
        keep = np.sort(rng.choice(len(real), n_positions, replace=False))
        chosen = [real[i] for i in keep.tolist()]
    else:
        chosen = list(real)
    uniforms = rng.random(len(chosen)).tolist()
    targets = [
        _target(key, name, ra, dec, classify_from_uniform(name, x), True, _program_id(key), rng)
        for (key, name, ra, dec), x in zip(chosen, uniforms, strict=True)
    ]
    if n_positions > len(real):
        targets.extend(_synthetic(n_positions - len(real), rng))
    return targets


def _offsets(ra0: np.ndarray, dec0: np.ndarray, sigma: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian scatter (sigma deg per axis) around centres, through the gnomonic projection."""
    xi = np.radians(rng.normal(0.0, 1.0, ra0.size) * sigma)
    eta = np.radians(rng.normal(0.0, 1.0, ra0.size) * sigma)
    a0, d0 = np.radians(ra0), np.radians(dec0)
    denom = np.cos(d0) - eta * np.sin(d0)
    ra = a0 + np.arctan2(xi, denom)
    dec = np.arctan2(np.sin(d0) + eta * np.cos(d0), np.hypot(xi, denom))
    return np.degrees(ra) % 360.0, np.degrees(dec)


def _synthetic(n: int, rng: np.random.Generator) -> list[Target]:
    """``n`` synthetic targets, grouped in programmes that each observe one region."""
    names = list(_REGIONS)
    fractions = np.array([_REGIONS[r][0] for r in names])
    # programmes of 1-40 positions (geometric, mean ~12), enough to cover n
    sizes = np.minimum(rng.geometric(1.0 / 12.0, n), 40)
    n_prog = int(np.searchsorted(np.cumsum(sizes), n)) + 1
    sizes = sizes[:n_prog]
    sizes[-1] -= int(sizes.sum()) - n
    prog_region = rng.choice(len(names), n_prog, p=fractions / fractions.sum())
    prog_site = rng.random(n_prog)
    prog_id = _synthetic_program_ids(n_prog, rng)
    region = np.repeat(prog_region, sizes)
    site = np.repeat(prog_site, sizes)
    ra = np.empty(n)
    dec = np.empty(n)
    redshift = np.full(n, np.nan)

    def fill(mask: np.ndarray, r: np.ndarray, d: np.ndarray) -> None:
        ra[mask], dec[mask] = r, d

    plane = region == names.index("plane")
    k = int(plane.sum())
    lon = np.where(rng.random(k) < 0.7, rng.normal(0.0, 35.0, k), rng.uniform(0, 360, k))
    lat = np.clip(rng.normal(0.0, 1.2, k), -5.0, 5.0)
    icrs = SkyCoord(l=(lon % 360.0) * u.deg, b=lat * u.deg, frame="galactic").icrs
    fill(plane, icrs.ra.deg, icrs.dec.deg)
    for region_name, table, share in (
        ("magellanic", _MAGELLANIC, np.cumsum([m[3] for m in _MAGELLANIC])),
        ("cloud", _CLOUDS, np.arange(1, len(_CLOUDS) + 1) / len(_CLOUDS)),
        ("galaxies", _GALAXIES, np.arange(1, len(_GALAXIES) + 1) / len(_GALAXIES)),
    ):
        mask = region == names.index(region_name)
        which = np.minimum(np.searchsorted(share, site[mask] * share[-1], side="right"),
                           len(table) - 1)
        centres = np.array([row[:3] for row in table])[which]
        fill(mask, *_offsets(centres[:, 0], centres[:, 1], centres[:, 2], rng))
        if region_name == "galaxies":
            redshift[mask] = np.array([row[3] for row in table])[which]
    iso = region == names.index("isotropic")
    k = int(iso.sum())
    fill(iso, rng.uniform(0.0, 360.0, k), np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, k))))

    classes = np.empty(n, dtype=object)
    for index, region_name in enumerate(names):
        mask = region == index
        weights = np.array(_REGIONS[region_name][1])
        classes[mask] = np.array(SPECTRAL_CLASSES, dtype=object)[
            rng.choice(len(SPECTRAL_CLASSES), int(mask.sum()), p=weights / weights.sum())]
    out = []
    programs = np.repeat(prog_id, sizes).tolist()
    for i, (r, d, cls, z, pid) in enumerate(zip(ra.tolist(), dec.tolist(), classes.tolist(),
                                                redshift.tolist(), programs, strict=True)):
        z_target = None
        if z == z and cls in (PAH_GALAXY, AGN, HII_REGION):  # in a nearby galaxy/cluster
            z_target = max(0.0, z * (1.0 + 0.1 * float(rng.standard_normal())))
        out.append(_target(SYNTHETIC_AORKEY_START + _AORKEY_STEP * i, _sim_name(r, d), r, d,
                           cls, False, pid, rng, z_target))
    return out


def _synthetic_program_ids(n_prog: int, rng: np.random.Generator) -> np.ndarray:
    era = rng.integers(0, len(_PROGRAM_ERAS), n_prog)
    first = np.array([e[1] for e in _PROGRAM_ERAS])[era]
    count = np.array([e[2] for e in _PROGRAM_ERAS])[era]
    return first + (rng.random(n_prog) * count).astype(int)


def _sim_name(ra_deg: float, dec_deg: float) -> str:
    """``SIM Jhhmmss.ss+ddmmss.s`` (truncated, IAU style) from ICRS degrees."""
    centisec = int(ra_deg / 15.0 * 360000.0) % (24 * 360000)
    hours, rest = divmod(centisec, 360000)
    minutes, rest = divmod(rest, 6000)
    decisec = int(abs(dec_deg) * 36000.0)
    degrees, drest = divmod(decisec, 36000)
    arcmin, drest = divmod(drest, 600)
    sign = "-" if dec_deg < 0 else "+"
    return (f"SIM J{hours:02d}{minutes:02d}{rest // 100:02d}.{rest % 100:02d}"
            f"{sign}{degrees:02d}{arcmin:02d}{drest // 10:02d}.{drest % 10:d}")

