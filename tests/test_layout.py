"""The package layout: the analysis never depends on the sample generator.

The model catalogue lives in ``smeval/catalogue.py``; ``smeval.sample`` is
only the synthetic-archive generator, so the diagnostics, metrics, report
and checks must run (and install) without it.
"""

from __future__ import annotations

import ast
import fnmatch
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "smeval"
#: The only modules allowed to import ``smeval.sample``: itself and the command line.
SAMPLE_USERS = {PACKAGE / "sample", PACKAGE / "cli.py"}
#: Packages whose every module is imported with ``smeval.sample`` blocked.
ANALYSIS_PACKAGES = ("diag", "metrics", "report", "check")


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[
                    : len(package.split(".")) - node.level + 1
                ]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _is_sample_user(path: Path) -> bool:
    return any(
        path == allowed or allowed in path.parents for allowed in SAMPLE_USERS
    )


def test_no_module_outside_the_generator_imports_smeval_sample():
    sources = [p for p in PACKAGE.rglob("*.py") if not _is_sample_user(p)]
    sources += sorted((ROOT / "diagnostics").glob("*.py"))
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n
            for n in _imported_modules(path)
            if n == "smeval.sample" or n.startswith("smeval.sample.")
        )
        for path in sources
    }
    assert len(sources) > 50
    assert {path: names for path, names in offenders.items() if names} == {}


def test_relative_imports_are_resolved():
    # The graph check above is only as good as this resolution.
    names = _imported_modules(PACKAGE / "diag" / "metrics.py")
    assert "smeval.catalogue" in names


def test_analysis_packages_import_with_smeval_sample_blocked():
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(
            ".__init__"
        )
        for name in ANALYSIS_PACKAGES
        for p in sorted((PACKAGE / name).rglob("*.py"))
    ]
    code = (
        "import importlib, sys\n"
        "sys.modules['smeval.sample'] = None  # any import of it raises ImportError\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(len([m for m in sys.modules if m.startswith('smeval.')]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) >= len(modules)


def test_catalogue_yaml_is_package_data():
    # A non-editable install ships only the files pyproject's package-data names.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    assert (PACKAGE / "catalogue.yml").is_file()
    assert any(
        fnmatch.fnmatch("catalogue.yml", pattern) for pattern in patterns
    )


def test_each_diagnostic_script_has_a_module_of_its_name():
    # diagnostics/<name>.py is thin: its work is smeval/diag/<name>.py, and it imports that module.
    scripts = sorted((ROOT / "diagnostics").glob("*.py"))
    assert len(scripts) == 6
    for script in scripts:
        module = f"smeval.diag.{script.stem}"
        assert (PACKAGE / "diag" / script.name).is_file(), (
            f"no {module} for {script.name}"
        )
        assert module in _imported_modules(script), (
            f"{script.name} does not import {module}"
        )
