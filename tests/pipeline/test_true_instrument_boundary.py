"""The reduction never sees the simulator's true instrument.

Every module of ``pipeline/`` outside ``pipeline/simulate/`` is parsed (not imported) and
each of its imports, relative ones resolved against the module's package, is checked; the
source text of the same modules must not name the true PSF's data file either, so the
reduction can neither import the true instrument nor read its data behind its back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "pipeline"
SIMULATE = PIPELINE / "simulate"
DATA_FILES = [p.name for p in (SIMULATE / "data").glob("*.npz")]


def _reduction_modules() -> list[Path]:
    return sorted(p for p in PIPELINE.rglob("*.py") if SIMULATE not in p.parents)


def _package_of(path: Path) -> list[str]:
    return list(path.relative_to(ROOT).with_suffix("").parts[:-1])


def _imported_names(source: str, package: list[str]) -> set[str]:
    """Absolute names of every module (and imported member) a module of ``package``
    imports, ``importlib.import_module``/``__import__`` calls with literal names included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", "")) in ("import_module", "__import__"):
            names.update(arg.value for arg in node.args
                         if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return names


def test_the_walk_covers_the_reduction():
    modules = {p.relative_to(PIPELINE).as_posix() for p in _reduction_modules()}
    assert {"lowres.py", "highres.py", "run.py", "instrument/model.py",
            "steps/extract.py"} <= modules
    assert not any(m.startswith("simulate/") for m in modules)
    assert DATA_FILES == ["sl_psf_s18_v1.npz"]


def test_every_spelling_of_an_import_is_caught():
    source = ("from .. import simulate\nfrom ..simulate.true_psf import psf_mixture\n"
              "from . import extract\nimport pipeline.simulate.detector as d\n"
              "importlib.import_module('pipeline.simulate.true_instrument')\n")
    names = _imported_names(source, ["pipeline", "steps"])
    assert {"pipeline.simulate", "pipeline.simulate.true_psf.psf_mixture",
            "pipeline.steps.extract", "pipeline.simulate.detector",
            "pipeline.simulate.true_instrument"} <= names


@pytest.mark.parametrize("path", _reduction_modules(),
                         ids=lambda p: p.relative_to(PIPELINE).as_posix())
def test_no_reduction_module_imports_the_simulator(path):
    offending = sorted(n for n in _imported_names(path.read_text(), _package_of(path))
                       if n == "pipeline.simulate" or n.startswith("pipeline.simulate."))
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}"


@pytest.mark.parametrize("path", _reduction_modules(),
                         ids=lambda p: p.relative_to(PIPELINE).as_posix())
def test_no_reduction_module_names_the_true_psf_file(path):
    text = path.read_text()
    for name in [*DATA_FILES, "psf_0_18v1", "true_psf", "true_instrument"]:
        assert name not in text, f"{path.relative_to(ROOT)} mentions {name}"
