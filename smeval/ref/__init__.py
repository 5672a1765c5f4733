"""smeval's diagnostic provider for Climate-REF (docs/climate_ref.md).

Registered under the entry point group ``climate-ref.providers`` as
``smeval = "smeval.ref:provider"``. Enable it in ``ref.toml``::

    [[diagnostic_providers]]
    provider = "smeval.ref:provider"

    [diagnostic_providers.config]
    reference_dir = "/path/to/OBS6"   # the --out folder of `smeval cmorize`

The reanalyses are read from that folder (or ``$SMEVAL_REF_OBS6``); nothing
is downloaded. The diagnostics run ``esmvaltool`` of the Python environment
smeval is installed in, from smeval's source checkout (ESMValCore finds the
diagnostic scripts and references there).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from climate_ref_core.providers import CommandLineDiagnosticProvider

import smeval
from smeval import runner

from .diagnostics import SoilMoisturePMinusECorrelation, SoilMoistureSkill
from .recipe import MissingReferenceData, missing_references

#: Environment variable naming the reference folder when ref.toml does not.
REFERENCE_ENV = "SMEVAL_REF_OBS6"
#: Key of the reference folder in the provider's ``[diagnostic_providers.config]``.
REFERENCE_KEY = "reference_dir"


class SmevalProvider(CommandLineDiagnosticProvider):
    """Runs smeval's diagnostics with the ``esmvaltool`` of smeval's environment (no conda)."""

    def __init__(
        self, name: str, version: str, slug: str | None = None
    ) -> None:
        super().__init__(name, version, slug)
        self.reference_dir: Path | None = None

    def configure(self, config: Any) -> None:
        """Read the reference folder from this provider's entry in ``ref.toml``."""
        super().configure(config)
        for entry in getattr(config, "diagnostic_providers", []):
            if (
                entry.provider.split(":")[0] == __name__
                and REFERENCE_KEY in entry.config
            ):
                self.reference_dir = Path(
                    entry.config[REFERENCE_KEY]
                ).expanduser()

    def reference_folder(self) -> Path:
        """Return the folder of OBS6 reanalysis files (``smeval cmorize --out``)."""
        folder = self.reference_dir or (
            Path(os.environ[REFERENCE_ENV])
            if os.environ.get(REFERENCE_ENV)
            else None
        )
        if folder is None:
            msg = (
                f"smeval: no reference folder: set {REFERENCE_KEY} in this provider's "
                f"[diagnostic_providers.config] of ref.toml, or ${REFERENCE_ENV}, to the --out folder "
                "of `smeval cmorize ERA5|ERA-Interim|GLDAS --raw DIR --out OBS6_DIR`"
            )
            raise MissingReferenceData(msg)
        return folder

    def validate_setup(self, config: Any) -> bool:  # noqa: ARG002 - Climate-REF's signature
        """Return True when the source checkout and every reanalysis file the diagnostics read are there."""
        from loguru import logger

        if not (runner.ROOT / "diagnostics").is_dir():
            logger.error(
                f"smeval: no diagnostics/ in {runner.ROOT}: install smeval from its source checkout "
                "(pip install -e)"
            )
            return False
        try:
            folder = self.reference_folder()
        except MissingReferenceData as exc:
            logger.error(str(exc))
            return False
        needs: dict[str, set[str]] = {}
        for diagnostic in self.diagnostics():
            for reference, variables in diagnostic.references.items():
                needs.setdefault(reference, set()).update(variables)
        problem = missing_references(folder, needs)
        if problem:
            logger.error(f"smeval: {problem}")
        return problem is None

    def run(self, cmd: Iterable[str]) -> None:
        """Run ``cmd`` (``esmvaltool run ...``) from the source checkout; raise if it fails."""
        cmd = list(cmd)
        process = runner.run_measured(
            cmd, runner.ROOT, {**os.environ, "PYTHONWARNINGS": "ignore"}
        )
        if process.returncode != 0:
            msg = (
                f"smeval: `{' '.join(cmd)}` exited with {process.returncode}:\n"
                f"{process.stdout[-3000:]}{process.stderr[-3000:]}"
            )
            raise RuntimeError(msg)


provider = SmevalProvider("smeval", smeval.__version__)
provider.register(SoilMoistureSkill())
provider.register(SoilMoisturePMinusECorrelation())
