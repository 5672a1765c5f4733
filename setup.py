"""Entry points that pyproject.toml cannot hold (everything else is in pyproject.toml).

smeval's diagnostic provider for Climate-REF (docs/climate_ref.md) registers
under the group ``climate-ref.providers``, whose hyphen setuptools' pyproject
validation refuses; the ``smeval`` command and the ``esmvaltool`` plugin are declared beside it, as
setuptools takes all entry points from one place.
"""

from setuptools import setup

setup(
    entry_points={
        "console_scripts": ["smeval = smeval.cli:main"],
        # The esmvaltool command loads these before it reads a recipe: smeval's makes
        # ESMValCore find smeval's recipes, scripts, tags and citations from any
        # folder, also beside an installed ESMValTool (smeval/plugin.py).
        "esmvaltool_commands": ["smeval = smeval.plugin:SmevalCommand"],
        "climate-ref.providers": ["smeval = smeval.ref:provider"],
    }
)
