"""Entry points that pyproject.toml cannot hold (everything else is in pyproject.toml).

smeval's diagnostic provider for Climate-REF (docs/climate_ref.md) registers
under the group ``climate-ref.providers``, whose hyphen setuptools' pyproject
validation refuses; the ``smeval`` command is declared beside it, as
setuptools takes all entry points from one place.
"""

from setuptools import setup

setup(entry_points={
    "console_scripts": ["smeval = smeval.cli:main"],
    "climate-ref.providers": ["smeval = smeval.ref:provider"],
})
