"""Product format throughput: products written and read per second, one core.

Target: writing >= 1,000 products/s/core for typical content. Each product here holds
~12 LR variants of 359 points and ~6 HR variants of 3,000 points (~0.75 MB). Reports the
median of the repeats, with and without fsync, as JSON.

    python3 benchmarks/bench_products.py --products 500 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.products import (
    Product,
    Provenance,
    Selection,
    Spectrum,
    read_product,
    variant_key,
    write_product,
)

LR_SEGMENTS = (("SL2", 5.2, 7.5, 75), ("SL1", 7.6, 14.0, 107), ("LL2", 14.1, 20.5, 77),
               ("LL1", 20.6, 37.4, 100))
HR_SEGMENTS = tuple((f"{m}{o}", 0.0, 0.0, 150) for m in ("SH", "LH") for o in range(20, 10, -1))


def make_spectrum(rng: np.random.Generator, key: str, segments, selected: bool) -> Spectrum:
    waves, names = [], []
    start = 5.2 if key.startswith("LR") else 9.9
    for name, lo, hi, n in segments:
        if hi <= lo:
            lo, hi = start, start + 1.4
        waves.append(np.linspace(lo, hi, n))
        names += [name] * n
        start = hi + 0.01
    wave = np.concatenate(waves)
    flux = rng.normal(0.5, 0.05, wave.size)
    return Spectrum.from_key(key, wave, flux, np.abs(flux) * 0.03, np.array(names),
                             rng.integers(0, 4, wave.size, dtype=np.int32), selected=selected,
                             snr=float(rng.uniform(5, 80)),
                             scale_factors={segments[0][0]: float(rng.uniform(0.9, 1.1))})


def make_product(seed: int, n_lr: int, n_hr: int) -> Product:
    rng = np.random.default_rng(seed)
    lr = [variant_key("LR", b, e, n, "point") for e in ("optimal", "tapered", "extended")
          for b in ("bynod", "byorder") for n in ("common", "interleaved")][:n_lr]
    hr = [variant_key("HR", b, e, n, "point") for e in ("optimal", "fullap")
          for b, n in (("none", "nods"), ("localcont", "nodcomb"), ("diff", "diff"))][:n_hr]
    spectra = [make_spectrum(rng, k, LR_SEGMENTS, i == 0) for i, k in enumerate(lr)]
    spectra += [make_spectrum(rng, k, HR_SEGMENTS, i == 0) for i, k in enumerate(hr)]
    selection = {arm: Selection(keys[0], ("point-like source", "highest S/N"))
                 for arm, keys in (("LR", lr), ("HR", hr)) if keys}
    return Product("12345678_0", 12345678, 0, "NGC 7027", 316.757, 42.236, 316.7575, 42.2361,
                   True, Provenance(steps=(("clean", "COMPLETE"), ("defringe", "SKIPPED")),
                                    calibration_set="S18.18-sim", date="2024-01-01T00:00:00"),
                   selection, {"extent": 0.53, "snr_lr": 42.0, "snr_hr": 17.5}, spectra)


def measure(n: int, repeats: int, fsync: bool, template: Product, base: str | None) -> dict:
    products = [replace(template, cj_id=f"{10000000 + i}_0", aorkey=10000000 + i)
                for i in range(n)]
    write_rates, read_rates, size = [], [], 0
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(dir=base) as tmp:
            start = time.perf_counter()
            paths = [write_product(p, tmp, fsync=fsync) for p in products]
            write_rates.append(n / (time.perf_counter() - start))
            start = time.perf_counter()
            for path in paths:
                read_product(path)
            read_rates.append(n / (time.perf_counter() - start))
            size = Path(paths[0]).stat().st_size
    return {"fsync": fsync, "write_per_s_median": round(statistics.median(write_rates), 1),
            "read_per_s_median": round(statistics.median(read_rates), 1),
            "write_all": [round(r, 1) for r in write_rates],
            "read_all": [round(r, 1) for r in read_rates], "bytes_per_product": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lr-variants", type=int, default=12)
    parser.add_argument("--hr-variants", type=int, default=6)
    parser.add_argument("--fsync", choices=("on", "off", "both"), default="both")
    parser.add_argument("--dir", default=None,
                        help="parent of the temporary directories (e.g. /dev/shm to leave the "
                        "disk out of the measurement); default: the system temp dir")
    args = parser.parse_args()
    template = make_product(0, args.lr_variants, args.hr_variants)
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.fsync]
    results = [measure(args.products, args.repeats, mode, template, args.dir) for mode in modes]
    points = sum(s.n_points for s in template.spectra)
    print(json.dumps({"products": args.products, "repeats": args.repeats, "dir": args.dir,
                      "variants": len(template.spectra), "points_per_product": points,
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
