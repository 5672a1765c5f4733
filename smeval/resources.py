"""Where smeval's recipe, diagnostic scripts, tags, citations and report templates are.

In the source folder smeval is installed from (``pip install -e .``, ``make
venv``): its top level. An install that is not editable (``pip install .``)
has them in ``<prefix>/share/smeval`` (``[tool.setuptools.data-files]`` of
pyproject.toml).
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

#: The source folder, if smeval runs from one.
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def installed_root() -> Path:
    """``<prefix>/share/smeval`` of the running environment."""
    return Path(sysconfig.get_path("data")) / "share" / "smeval"


def root() -> Path:
    """Return the folder that holds ``config-references.yml``, ``recipes/``, ``diagnostics/``, ``references/``, ``reports/``.

    Raises
    ------
    FileNotFoundError
        If neither the source folder nor ``<prefix>/share/smeval`` has them.
    """
    for folder in (SOURCE_ROOT, installed_root()):
        if (folder / "config-references.yml").is_file() and (
            folder / "diagnostics"
        ).is_dir():
            return folder
    msg = (
        f"smeval: no config-references.yml and diagnostics/ in {SOURCE_ROOT} or {installed_root()}; "
        "reinstall smeval (make venv, or pip install -e . in its source folder)"
    )
    raise FileNotFoundError(msg)


def folder(name: str) -> Path:
    """``name`` (e.g. ``reports``) in the first of the two places that has it; else in the source folder."""
    for place in (SOURCE_ROOT, installed_root()):
        if (place / name).exists():
            return place / name
    return SOURCE_ROOT / name
