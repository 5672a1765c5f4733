"""What every smeval diagnostic script needs from ESMValCore's interface.

ESMValCore runs a diagnostic as ``python script.py <run_dir>/settings.yml``.
The settings name the preprocessed files (``input_files``: the
``metadata.yml`` of each preprocessed variable group) and the output folders.
After the script, ESMValCore reads ``<run_dir>/diagnostic_provenance.yml``,
which maps every output file to its provenance record. This module is the
small, dependency-free equivalent of ESMValTool's ``diag_scripts.shared`` that
smeval needs (the ``esmvaltool`` package is deliberately not a dependency).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from smeval.cmorio import atomic_output

logger = logging.getLogger(__name__)

#: Keys every provenance record of smeval must have.
REQUIRED_RECORD_KEYS = ("caption", "ancestors", "authors", "references")


def load_settings(settings_file: str | os.PathLike) -> dict[str, Any]:
    """Read ``settings.yml`` and the metadata of every preprocessed file.

    Returns the settings with two extra keys: ``input_data``, a mapping of
    each preprocessed file name to its metadata (dataset, short_name, ...),
    and ``ancestor_dirs``, the work folders of ancestor diagnostic scripts.
    """
    settings_file = Path(settings_file)
    with settings_file.open(encoding="utf-8") as file:
        cfg = yaml.safe_load(file)
    input_data: dict[str, dict[str, Any]] = {}
    ancestor_dirs: list[Path] = []
    for item in cfg.get("input_files", []):
        path = Path(item)
        if path.is_dir():
            # The work folder of an ancestor diagnostic script.
            ancestor_dirs.append(path)
        elif path.name == "metadata.yml":
            with path.open(encoding="utf-8") as file:
                input_data.update(yaml.safe_load(file) or {})
    cfg["input_data"] = input_data
    cfg["ancestor_dirs"] = ancestor_dirs
    for key in ("run_dir", "work_dir", "plot_dir"):
        if key in cfg:
            Path(cfg[key]).mkdir(parents=True, exist_ok=True)
    return cfg


class ProvenanceLogger:
    """Collect provenance records and write ``diagnostic_provenance.yml``.

    Use as a context manager; records are written when the block ends, merged
    with records an earlier run of the same task wrote.

    Examples
    --------
    >>> with ProvenanceLogger(cfg) as provlog:              # doctest: +SKIP
    ...     provlog.log(path, {"caption": "...", "ancestors": [...], ...})
    """

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.path = Path(cfg["run_dir"]) / "diagnostic_provenance.yml"
        self.records: dict[str, dict[str, Any]] = {}

    def __enter__(self) -> ProvenanceLogger:
        if self.path.is_file():
            self.records = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        return self

    def log(self, filename: str | os.PathLike, record: dict[str, Any]) -> None:
        """Record the provenance of an output file.

        Raises
        ------
        ValueError
            If the record lacks a required key or has no ancestors.
        """
        filename = str(Path(filename).absolute())
        missing = [key for key in REQUIRED_RECORD_KEYS if not record.get(key)]
        if missing:
            msg = f"Provenance record of {filename} lacks {', '.join(missing)}"
            raise ValueError(msg)
        record = dict(record)
        record["ancestors"] = sorted({str(a) for a in record["ancestors"]})
        self.records[filename] = record

    def __exit__(self, *exc_info: object) -> None:
        atomic_write_text(self.path, yaml.dump(self.records, Dumper=_NoAliasDumper, sort_keys=True))


class _NoAliasDumper(yaml.SafeDumper):
    """Writes repeated lists in full instead of YAML anchors and aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def family_of(meta: dict[str, Any]) -> str:
    """Parent family of a data set (SPEC section 4).

    The ``family`` facet the recipe gives the data set; without one, the
    family of the model catalogue (``smeval/sample/catalogue.yml``); for a
    model in neither, its own name.
    """
    if meta.get("family"):
        return str(meta["family"])
    from smeval.sample.catalogue import load_catalogue  # noqa: PLC0415 - only when a facet is missing

    return load_catalogue().families.get(str(meta["dataset"]), str(meta["dataset"]))


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to ``path`` through a temporary file and a rename."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def run_diagnostic(argv: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Set up logging and yield the configuration of a diagnostic script.

    The script is called by ESMValCore as ``script.py settings.yml``.
    """
    argv = sys.argv if argv is None else argv
    if len(argv) != 2 or argv[1] in {"-h", "--help"}:
        print(f"usage: {Path(argv[0]).name} SETTINGS_YML\n\n"
              "A diagnostic of smeval; ESMValCore runs it with the settings.yml "
              "it writes for this script (see recipes/recipe_soilmoisture.yml).")
        raise SystemExit(0 if len(argv) == 2 else 2)
    cfg = load_settings(argv[1])
    logging.basicConfig(
        format="%(asctime)s [%(process)d] %(levelname)-8s %(name)s: %(message)s",
        level=str(cfg.get("log_level", "info")).upper(),
        stream=sys.stdout,
    )
    # matplotlib's PDF backend has fontTools log every glyph subset it embeds
    # at INFO: hundreds of lines per figure script that bury ours.
    logging.getLogger("fontTools").setLevel(max(logging.WARNING, logging.getLogger().level))
    logger.info("Starting diagnostic script %s with configuration:\n%s",
                cfg.get("script"), yaml.safe_dump({k: v for k, v in cfg.items() if k not in {"input_data", "ancestor_dirs"}}))
    yield cfg
    logger.info("End of diagnostic script %s", cfg.get("script"))
