"""The benchmark scripts as modules: shared by the tests that check they still run."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from smeval.runner import ROOT


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "benchmarks" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
